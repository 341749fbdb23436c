"""The schema's CHECK constraints, translated into pydantic field constraints where
that is exact.

A translated constraint must accept exactly what PostgreSQL accepts, so only
these forms are translated, one column per constraint, every conjunct of an
AND translated or none:

    col >= 0, col < 10, col = 1, col BETWEEN 1 AND 10   numbers: ge, gt, le, lt
    char_length(col) <= 200 (length, character_length) text: min_length, max_length
    octet_length(col) = 32, length(col) = 32            bytea: min_length, max_length
    col <> ''                                           text: min_length 1
    btrim(col) <> ''                                    text: pattern [^ ] (a non-space)
    col ~ '^[a-z]+$'                                    text: pattern, in a subset of
                                                        regex syntax both engines read alike
    col IN ('a', 'b'), col = ANY (ARRAY['a', 'b'])      text: pattern ^(?:a|b)$

NULL passes a CHECK, as it passes an optional field. Anything else (several
columns, other functions, `<>` on numbers, POSIX classes in a regex, whose
meaning follows the database's collation) stays with the database, and is
listed as untranslated with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from pglast import ast
from pglast.enums import (
    A_Expr_Kind,
    AlterTableType,
    BoolExprType,
    ConstrType,
    DropBehavior,
    ObjectType,
)
from pglast.stream import RawStream

from .pgregex import UntranslatableRegexError, bracket_set, literal, rust_pattern
from .tree import is_a as _is
from .tree import walk

# Limits pydantic's Field takes, in the order they are written out.
LIMIT_ORDER = ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern", "json_type")

_NUMBER_TYPES = {
    "int2": int,
    "int4": int,
    "int8": int,
    "smallint": int,
    "integer": int,
    "int": int,
    "bigint": int,
    "numeric": Decimal,
    "decimal": Decimal,
    "float4": float,
    "float8": float,
    "real": float,
    "double precision": float,
}
_TEXT_TYPES = {"text", "varchar", "character varying"}
_BYTES_TYPES = {"bytea"}
_CHAR_LENGTH = {"char_length", "character_length", "length"}
_BYTE_LENGTH = {"octet_length", "length"}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}
_NUMBER_LIMIT = {">=": ("ge",), ">": ("gt",), "<=": ("le",), "<": ("lt",), "=": ("ge", "le")}
_LENGTH_LIMIT = {
    ">=": (("min_length", 0),),
    ">": (("min_length", 1),),
    "<=": (("max_length", 0),),
    "<": (("max_length", -1),),
    "=": (("min_length", 0), ("max_length", 0)),
}


@dataclass(frozen=True)
class Rule:
    """A CHECK constraint as pydantic field constraints on one column."""

    constraint: str
    table: str  # or the domain's name, for a domain's CHECK
    column: str  # "value" for a domain
    limits: tuple[tuple[str, Any], ...]  # (Field keyword, value), in LIMIT_ORDER
    sql_type: str  # the column's type, as declared
    check_sql: str  # the CHECK expression, as PostgreSQL's parser reads it
    # The schema function the pattern comes from, and its body: models.py names the
    # pattern once after the function (NAME_IS_CLEAN) instead of repeating it.
    pattern_of: tuple[str, str] | None = None

    def field_arguments(self) -> dict[str, Any]:
        return dict(self.limits)


@dataclass(frozen=True)
class RowRule:
    """A CHECK constraint as an expression over a row's columns (the runtime's Expr
    classes), checked on the Params models that fill all of its columns."""

    constraint: str
    table: str
    columns: tuple[str, ...]  # in the order the expression names them
    expression: Any  # row_checks.Call: the runtime Expr to build, as nested calls
    check_sql: str


@dataclass(frozen=True)
class Untranslated:
    """A CHECK constraint left to the database, and why."""

    constraint: str
    table: str
    reason: str
    expression: Any = field(compare=False, repr=False)  # the CHECK's parse tree


@dataclass(frozen=True)
class Modifier:
    """What a column's type does to a value before the CHECKs run, as the runtime class
    that applies it: `Numeric(5, 4)` rounds to 4 places and refuses 10 and more;
    `VarChar(20)`, `Char(3)` refuse a longer text (its excess spaces are cut, as
    PostgreSQL does); `Int(4)` refuses what an int4 cannot hold."""

    runtime_class: str  # Numeric, VarChar or Char (chip_quality_queries._runtime)
    arguments: tuple[int, ...]

    def annotation(self) -> str:
        return f"{self.runtime_class}({', '.join(map(str, self.arguments))})"


# Integer types as the parser spells them -> their size in bytes: Int(4) refuses what
# an int4 cannot hold.
_INTEGER_SIZES = {
    "int2": 2,
    "smallint": 2,
    "int4": 4,
    "integer": 4,
    "int": 4,
    "int8": 8,
    "bigint": 8,
}
# Type name as the parser spells it -> the runtime class applying its modifier.
_MODIFIED_TYPES = {
    "numeric": "Numeric",
    "decimal": "Numeric",
    "varchar": "VarChar",
    "bpchar": "Char",
}


@dataclass(frozen=True)
class Checks:
    rules: tuple[Rule, ...]
    untranslated: tuple[Untranslated, ...]
    modifiers: dict[tuple[str, str], Modifier] = field(default_factory=dict)
    column_types: dict[tuple[str, str], str] = field(default_factory=dict)  # type names
    row_rules: tuple[RowRule, ...] = ()  # over several columns (row_checks.py)

    def for_column(self, table: str, column: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if (r.table, r.column) == (table, column))

    def modifier(self, table: str, column: str) -> Modifier | None:
        return self.modifiers.get((table, column))


class _NotExactError(Exception):
    """This constraint cannot be translated exactly; the message says why."""


class SchemaReplayError(Exception):
    """A schema statement changes the CHECK constraints in a way the replay does not
    follow exactly; the message names the statement. Generation stops rather than
    leave a CHECK the database holds neither translated nor listed."""


class _UnfollowedError(Exception):
    """Why the statement being replayed cannot be followed exactly."""


def read_checks(statements: Iterable[Any]) -> Checks:
    """The CHECK constraints the schema's statements leave in place, translated where exact."""
    replay = _Replay()
    modifiers: dict[tuple[str, str], Modifier] = {}
    functions: dict[str, _Inlinable] = {}
    for stmt in statements:
        try:
            _apply(stmt, replay)
        except _UnfollowedError as why:
            raise SchemaReplayError(f"schema statement `{RawStream()(stmt)}`: {why}") from None
        _apply_modifiers(stmt, modifiers)
        _apply_function(stmt, functions)
    columns = replay.columns
    rules: list[Rule] = []
    untranslated: list[Untranslated] = []
    for (table, name), expression in sorted(replay.checks.items()):
        try:
            rules.append(_translate(table, name, expression, columns, functions))
        except _NotExactError as refusal:
            untranslated.append(Untranslated(name, table, str(refusal), expression))
    return Checks(tuple(rules), tuple(untranslated), modifiers, columns)


def _type_name(type_name: Any) -> str:
    return str(type_name.names[-1].sval)


@dataclass
class _Replay:
    """What the statements so far leave in place, as far as CHECKs go. Tables and
    domains share one name space (a table's row type is a type), so both key by
    (table or domain, constraint name). Schemas are not told apart."""

    checks: dict[tuple[str, str], Any] = field(default_factory=dict)  # -> its expression
    columns: dict[tuple[str, str], str] = field(default_factory=dict)  # -> type name
    # Named constraints of other kinds (UNIQUE, PRIMARY KEY, ...): an unnamed CHECK
    # avoids their names too.
    others: set[tuple[str, str]] = field(default_factory=set)

    def add_check(self, owner: str, name: str | None, expression: Any, *, domain: bool) -> None:
        """Add a CHECK; an unnamed one gets the name PostgreSQL chooses
        (ChooseConstraintName): `{owner}_{column}_check` when it reads one column,
        else `{owner}_check`, numbered (check1, check2, ...) while the name is taken by
        any constraint of the schema, not only of this table (measured on 15)."""
        if name is None:
            read = set() if domain else self.read(expression, owner)
            name = self._chosen_name(owner, read.pop() if len(read) == 1 else None)
        self.checks[(owner, name)] = expression

    def _chosen_name(self, owner: str, column: str | None) -> str:
        taken = {name for _, name in (*self.checks, *self.others)}
        label, number = "check", 0
        while _object_name(owner, column, label) in taken:
            number += 1
            label = f"check{number}"
        return _object_name(owner, column, label)

    def rename_owner(self, old: str, new: str) -> None:
        """A table or domain renamed: its constraints keep their names and move."""
        respell = partial(_table_renamed, old=old, new=new)
        for owner, name in [key for key in self.checks if key[0] == old]:
            self.checks[(new, name)] = _respelled(self.checks.pop((owner, name)), respell)
        self.columns = {(new if o == old else o, c): t for (o, c), t in self.columns.items()}
        self.others = {(new if o == old else o, n) for o, n in self.others}

    def drop_owner(self, owner: str) -> None:
        self.checks = {key: e for key, e in self.checks.items() if key[0] != owner}
        self.columns = {key: t for key, t in self.columns.items() if key[0] != owner}
        self.others = {key for key in self.others if key[0] != owner}

    def rename_constraint(self, owner: str, old: str, new: str) -> None:
        if (owner, old) in self.checks:
            self.checks[(owner, new)] = self.checks.pop((owner, old))
        elif (owner, old) in self.others:
            self.others.remove((owner, old))
            self.others.add((owner, new))

    def drop_constraint(self, owner: str, name: str) -> None:
        self.checks.pop((owner, name), None)
        self.others.discard((owner, name))

    def read(self, expression: Any, table: str) -> set[str | None]:
        """The columns a table CHECK reads, None for a whole-row reference (`t`, `t.*`),
        as PostgreSQL resolves them: a name is a column before it is the table."""
        found: set[str | None] = set()
        for node in walk(expression):
            if not _is(node, ast.ColumnRef):
                continue
            names = [getattr(part, "sval", None) for part in node.fields]  # A_Star: None
            if len(names) == 2 and names[0] == table and names[1] is not None:
                names = names[1:]
            if len(names) == 1 and (table, names[0]) in self.columns:
                found.add(names[0])
            elif names in ([table], [table, None]):
                found.add(None)
            else:
                raise _UnfollowedError(f"{'.'.join(map(str, names))} is not a column of {table}")
        return found


def _object_name(name1: str, name2: str | None, label: str) -> str:
    """PostgreSQL's makeObjectName: `name1_name2_label` within 63 bytes, the longer
    name shortened first, never the label, never inside a character."""
    first, second = name1.encode(), (name2 or "").encode()
    room = 63 - (len(label) + 1) - (1 if name2 is not None else 0)
    keep1, keep2 = len(first), len(second)
    while keep1 + keep2 > room:
        if keep1 > keep2:
            keep1 -= 1
        else:
            keep2 -= 1
    parts = [first[:keep1].decode(errors="ignore")]
    if name2 is not None:
        parts.append(second[:keep2].decode(errors="ignore"))
    return "_".join([*parts, label])


def _respelled(expression: Any, respell: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> Any:
    """A copy of an expression with each column reference's names passed through
    `respell` (the statements' own trees are left as parsed)."""
    copied = deepcopy(expression)
    for node in walk(copied):
        if _is(node, ast.ColumnRef):
            node.fields = respell(node.fields)
    return copied


def _column_renamed(fields: tuple[Any, ...], table: str, old: str, new: str) -> tuple[Any, ...]:
    """`old` and `table.old` read as `new`: PostgreSQL keeps the column, not its name."""
    names = [getattr(part, "sval", None) for part in fields]
    if names[-1] == old and (len(names) == 1 or names[:-1] == [table]):
        return (*fields[:-1], ast.String(sval=new))
    return fields


def _table_renamed(fields: tuple[Any, ...], old: str, new: str) -> tuple[Any, ...]:
    """`old.x`, `old.*` read as `new.x`, `new.*` (a bare `old` stays: it may be a
    column; a whole-row `old` is refused by both translators anyway)."""
    if len(fields) == 2 and getattr(fields[0], "sval", None) == old:
        return (ast.String(sval=new), fields[1])
    return fields


# The object types whose DROP ... CASCADE cannot take a CHECK with it: a CHECK
# calls functions and operators and reads columns of types, domains and tables'
# row types, and PostgreSQL drops it (or its column) with any of those.
_CASCADE_SAFE = {ObjectType.OBJECT_INDEX, ObjectType.OBJECT_TRIGGER, ObjectType.OBJECT_SEQUENCE}


# What a DROP of which removes the CHECKs it owns (DROP TYPE drops a domain too).
_OWNERS = {ObjectType.OBJECT_TABLE, ObjectType.OBJECT_DOMAIN, ObjectType.OBJECT_TYPE}


def _apply(stmt: Any, replay: _Replay) -> None:
    """Follow one statement's effect on the schema's CHECKs, as PostgreSQL does."""
    if _is(stmt, ast.CreateStmt):
        _create_table(stmt, replay)
    elif _is(stmt, ast.AlterTableStmt) and stmt.objtype == ObjectType.OBJECT_TABLE:
        _alter_table(stmt, replay)
    elif _is(stmt, ast.CreateDomainStmt):
        domain = stmt.domainname[-1].sval
        replay.columns[(domain, "value")] = _type_name(stmt.typeName)
        for constraint in stmt.constraints or ():
            if constraint.contype == ConstrType.CONSTR_CHECK:
                replay.add_check(domain, constraint.conname, constraint.raw_expr, domain=True)
    elif _is(stmt, ast.AlterDomainStmt):
        domain = stmt.typeName[-1].sval
        if stmt.subtype == "C" and stmt.def_.contype == ConstrType.CONSTR_CHECK:
            replay.add_check(domain, stmt.def_.conname, stmt.def_.raw_expr, domain=True)
        elif stmt.subtype == "X":
            replay.drop_constraint(domain, stmt.name)
    elif _is(stmt, ast.RenameStmt):
        _rename(stmt, replay)
    elif _is(stmt, ast.DropStmt):
        if stmt.behavior == DropBehavior.DROP_CASCADE and stmt.removeType not in _CASCADE_SAFE:
            raise _UnfollowedError("a CASCADE drop may take CHECKs with it, which is not followed")
        if stmt.removeType in _OWNERS:
            for target in stmt.objects or ():
                names = target.names if _is(target, ast.TypeName) else target
                replay.drop_owner(str(names[-1].sval))


def _create_table(stmt: Any, replay: _Replay) -> None:
    table = stmt.relation.relname
    if stmt.inhRelations or stmt.partbound or stmt.ofTypename:
        raise _UnfollowedError(
            "a table that inherits CHECKs (INHERITS, PARTITION OF, OF) is not followed"
        )
    checks: list[tuple[str | None, Any]] = []  # (name, expression), in the order written
    for element in stmt.tableElts or ():
        if _is(element, ast.TableLikeClause):
            raise _UnfollowedError("a table made LIKE another is not followed")
        if _is(element, ast.ColumnDef):
            replay.columns[(table, element.colname)] = _type_name(element.typeName)
            constraints = element.constraints or ()
        else:
            constraints = (element,)
        for constraint in constraints:
            if constraint.contype == ConstrType.CONSTR_CHECK:
                checks.append((constraint.conname, constraint.raw_expr))
            elif constraint.conname:
                replay.others.add((table, constraint.conname))
    # Named after the columns, so after every column is known; the other kinds'
    # names are taken after the CHECKs' (PostgreSQL makes their indexes later).
    for name, expression in checks:
        replay.add_check(table, name, expression, domain=False)


# The pass of ALTER TABLE each subcommand runs in (tablecmds.c, AT_PASS_*): drops
# first, then retypes, then added columns; their CHECKs and added constraints
# come last, whatever the order written (measured: `ADD COLUMN c int CHECK (c > 0),
# ADD CHECK (c > 1), ADD COLUMN d int CHECK (c > 2)` names them c_check, c_check2,
# c_check1: the added columns' CHECKs first).
_PASSES = {
    AlterTableType.AT_DropColumn: 0,
    AlterTableType.AT_DropConstraint: 0,
    AlterTableType.AT_AlterColumnType: 1,
    AlterTableType.AT_AddColumn: 2,
}


def _alter_table(stmt: Any, replay: _Replay) -> None:
    table = stmt.relation.relname
    column_constraints: list[Any] = []  # of the added columns
    added: list[Any] = []  # by ADD CONSTRAINT
    for command in sorted(stmt.cmds or (), key=lambda command: _PASSES.get(command.subtype, 3)):
        subtype, definition = command.subtype, command.def_
        if subtype == AlterTableType.AT_DropColumn:
            # PostgreSQL drops every CHECK reading the column, of one column or of
            # several (not one reading only the whole row).
            for key, expression in list(replay.checks.items()):
                if key[0] == table and command.name in replay.read(expression, table):
                    del replay.checks[key]
            replay.columns.pop((table, command.name), None)
        elif subtype == AlterTableType.AT_DropConstraint:
            replay.drop_constraint(table, command.name)
        elif subtype == AlterTableType.AT_AlterColumnType:
            replay.columns[(table, command.name)] = _type_name(definition.typeName)
        elif subtype == AlterTableType.AT_AddColumn:
            replay.columns[(table, definition.colname)] = _type_name(definition.typeName)
            column_constraints.extend(definition.constraints or ())
        elif subtype == AlterTableType.AT_AddConstraint and _is(definition, ast.Constraint):
            added.append(definition)
    for constraint in (*column_constraints, *added):
        if constraint.contype == ConstrType.CONSTR_CHECK:
            replay.add_check(table, constraint.conname, constraint.raw_expr, domain=False)
        elif constraint.conname:
            replay.others.add((table, constraint.conname))


def _rename(stmt: Any, replay: _Replay) -> None:
    kind = stmt.renameType
    if kind == ObjectType.OBJECT_TABLE:
        replay.rename_owner(stmt.relation.relname, stmt.newname)
    elif kind == ObjectType.OBJECT_TABCONSTRAINT:
        replay.rename_constraint(stmt.relation.relname, stmt.subname, stmt.newname)
    elif kind == ObjectType.OBJECT_COLUMN and stmt.relationType == ObjectType.OBJECT_TABLE:
        table, old, new = stmt.relation.relname, stmt.subname, stmt.newname
        if (table, old) in replay.columns:
            replay.columns[(table, new)] = replay.columns.pop((table, old))
        for key, expression in replay.checks.items():
            if key[0] == table:
                respell = partial(_column_renamed, table=table, old=old, new=new)
                replay.checks[key] = _respelled(expression, respell)
    elif kind in (ObjectType.OBJECT_DOMAIN, ObjectType.OBJECT_TYPE):
        replay.rename_owner(str(stmt.object[-1].sval), stmt.newname)
    elif kind == ObjectType.OBJECT_DOMCONSTRAINT:
        replay.rename_constraint(str(stmt.object[-1].sval), stmt.subname, stmt.newname)


def _apply_modifiers(stmt: Any, modifiers: dict[tuple[str, str], Modifier]) -> None:
    """The type modifiers of the columns a statement defines, retypes or renames."""
    definitions: list[tuple[str, str, Any]] = []  # (table, column, its ColumnDef)
    if _is(stmt, ast.CreateStmt):
        table = stmt.relation.relname
        definitions = [(table, e.colname, e) for e in stmt.tableElts or () if _is(e, ast.ColumnDef)]
    elif _is(stmt, ast.RenameStmt) and stmt.renameType == ObjectType.OBJECT_COLUMN:
        old = (stmt.relation.relname, stmt.subname)
        if old in modifiers:
            modifiers[(old[0], stmt.newname)] = modifiers.pop(old)
    elif _is(stmt, ast.RenameStmt) and stmt.renameType == ObjectType.OBJECT_TABLE:
        for key in [k for k in modifiers if k[0] == stmt.relation.relname]:
            modifiers[(stmt.newname, key[1])] = modifiers.pop(key)
    elif _is(stmt, ast.AlterTableStmt):
        table = stmt.relation.relname
        for command in stmt.cmds or ():
            if command.subtype == AlterTableType.AT_DropColumn:
                modifiers.pop((table, command.name), None)
            elif command.subtype in (
                AlterTableType.AT_AddColumn,
                AlterTableType.AT_AlterColumnType,
            ) and _is(command.def_, ast.ColumnDef):
                column = command.def_.colname or command.name
                modifiers.pop((table, column), None)
                definitions.append((table, column, command.def_))
    for table, column, definition in definitions:
        type_name = definition.typeName
        if type_name.arrayBounds:
            continue
        size = _INTEGER_SIZES.get(_type_name(type_name))
        runtime_class = _MODIFIED_TYPES.get(_type_name(type_name))
        values = [m.val.ival for m in type_name.typmods or () if _is(m, ast.A_Const)]
        if size is not None:
            modifiers[(table, column)] = Modifier("Int", (size,))
        elif runtime_class and values:
            modifiers[(table, column)] = Modifier(runtime_class, tuple(int(v) for v in values))


@dataclass(frozen=True)
class _Inlinable:
    """A schema function a CHECK may call and the translation reads through: one
    argument, LANGUAGE sql, IMMUTABLE, a SQL-standard `RETURN expression` body."""

    parameter: str
    body: Any  # the RETURN expression, over `parameter`


def _apply_function(stmt: Any, functions: dict[str, _Inlinable]) -> None:
    if not _is(stmt, ast.CreateFunctionStmt) or not stmt.funcname:
        return
    name = str(stmt.funcname[-1].sval).lower()
    functions.pop(name, None)  # CREATE OR REPLACE of another form
    options = {o.defname: getattr(o.arg, "sval", None) for o in stmt.options or ()}
    parameters = tuple(stmt.parameters or ())
    if (
        options.get("language") == "sql"
        and options.get("volatility") == "immutable"
        and _is(stmt.sql_body, ast.ReturnStmt)
        and len(parameters) == 1
        and parameters[0].name
    ):
        functions[name] = _Inlinable(str(parameters[0].name), stmt.sql_body.returnval)


def _conjuncts(expr: Any) -> list[Any]:
    if _is(expr, ast.BoolExpr) and expr.boolop == BoolExprType.AND_EXPR:
        return [part for arg in expr.args for part in _conjuncts(arg)]
    return [expr]


def _translate(
    table: str,
    name: str,
    expr: Any,
    columns: dict[tuple[str, str], str],
    functions: dict[str, _Inlinable],
) -> Rule:
    limits: dict[str, Any] = {}
    column: str | None = None
    pattern_sources: set[str] = set()  # where the pattern's parts come from ("" the CHECK)
    for this_column, found, source in _translated_conjuncts(expr, table, columns, functions):
        if column is not None and this_column != column:
            raise _NotExactError(f"it involves several columns ({column}, {this_column})")
        column = this_column
        for key, value in found:
            _merge(limits, key, value)
            if key in ("pattern", "forbidden", "not_blank"):
                pattern_sources.add(source)
    assert column is not None
    _compose_pattern(limits)
    ordered = tuple((key, limits[key]) for key in LIMIT_ORDER if key in limits)
    pattern_of = None
    if len(pattern_sources) == 1 and "" not in pattern_sources:
        function = pattern_sources.pop()
        pattern_of = (function, RawStream()(functions[function].body))
    sql_type = columns[(table, column)]
    return Rule(name, table, column, ordered, sql_type, RawStream()(expr), pattern_of)


def _translated_conjuncts(
    expr: Any,
    table: str,
    columns: dict[tuple[str, str], str],
    functions: dict[str, _Inlinable],
) -> Iterator[tuple[str, list[tuple[str, Any]], str]]:
    """The column each conjunct constrains, its limits, and the schema function they
    come from ("" for the CHECK's own); a call of an inlinable schema function on a
    column is read through its body."""
    for conjunct in _conjuncts(expr):
        call = _function(conjunct)
        if call is None or call[0].lower() not in functions or _column_of(call[1]) is None:
            yield *_conjunct(conjunct, table, columns), ""
            continue
        function, column = call[0].lower(), str(_column_of(call[1]))
        inlined = functions[function]
        # The body speaks of its parameter: read it as the argument's column.
        aliased = {**columns, (table, inlined.parameter): columns.get((table, column), "")}
        for part in _conjuncts(inlined.body):
            this_column, found = _conjunct(part, table, aliased)
            if this_column != inlined.parameter:
                raise _NotExactError(f"{function}() reads something other than its argument")
            yield column, found, function


def _merge(limits: dict[str, Any], key: str, value: Any) -> None:
    if key not in limits:
        limits[key] = value
    elif key in ("pattern", "forbidden"):
        raise _NotExactError("it holds two patterns")  # pydantic takes one; keep it exact
    elif key == "not_blank":
        pass
    elif key in ("ge", "gt", "min_length"):
        limits[key] = max(limits[key], value)
    else:
        limits[key] = min(limits[key], value)


def _compose_pattern(limits: dict[str, Any]) -> None:
    """One pattern from `btrim(col) <> ''` (a character other than the space) and
    `col !~ '[set]'` (no character of the set), as pydantic takes one pattern."""
    not_blank = limits.pop("not_blank", False)
    forbidden = limits.pop("forbidden", None)
    if forbidden is None:
        if not_blank:
            _merge(limits, "pattern", "[^ ]")
        return
    allowed = f"[^{forbidden}]"
    pattern = f"^{allowed}*[^{forbidden} ]{allowed}*$" if not_blank else f"^{allowed}*$"
    _merge(limits, "pattern", "(?s)" + pattern)


def _column_of(node: Any) -> str | None:
    if _is(node, ast.ColumnRef) and len(node.fields) == 1:
        field = node.fields[0]
        return str(field.sval) if _is(field, ast.String) else None
    return None


def _constant(node: Any) -> Any:
    """The Python value of a constant, with casts such as `(0)::numeric` looked through."""
    if _is(node, ast.TypeCast):
        return _constant(node.arg)
    if _is(node, ast.A_Const) and not node.isnull:
        value = node.val
        if _is(value, ast.Integer):
            return int(value.ival)
        if _is(value, ast.Float):
            return Decimal(value.fval)
        if _is(value, ast.String):
            return str(value.sval)
    raise _NotExactError("it compares with something other than a constant")


def _function(node: Any) -> tuple[str, Any] | None:
    """`(function name, its single argument)` of a call like char_length(col), or
    btrim(col, ' '), which is btrim(col)."""
    if not _is(node, ast.FuncCall) or not node.args:
        return None
    name = str(node.funcname[-1].sval)
    if len(node.args) == 1:
        return name, node.args[0]
    characters = node.args[1] if len(node.args) == 2 else None
    if name == "btrim" and _is(characters, ast.A_Const) and _constant(characters) == " ":
        return name, node.args[0]
    return None


# How SQL spells an A_Expr that is not a plain `a <op> b` (pglast names NULLIF(a, b)
# and `a IS DISTINCT FROM b` after the `=` they compare with).
_FORMS = {
    A_Expr_Kind.AEXPR_OP_ANY: "{op} ANY (...)",
    A_Expr_Kind.AEXPR_OP_ALL: "{op} ALL (...)",
    A_Expr_Kind.AEXPR_DISTINCT: "IS DISTINCT FROM",
    A_Expr_Kind.AEXPR_NOT_DISTINCT: "IS NOT DISTINCT FROM",
    A_Expr_Kind.AEXPR_NULLIF: "NULLIF(...)",
    A_Expr_Kind.AEXPR_IN: "IN (...)",
    A_Expr_Kind.AEXPR_LIKE: "LIKE",
    A_Expr_Kind.AEXPR_ILIKE: "ILIKE",
    A_Expr_Kind.AEXPR_SIMILAR: "SIMILAR TO",
    A_Expr_Kind.AEXPR_NOT_BETWEEN: "NOT BETWEEN",
    A_Expr_Kind.AEXPR_BETWEEN_SYM: "BETWEEN SYMMETRIC",
    A_Expr_Kind.AEXPR_NOT_BETWEEN_SYM: "NOT BETWEEN SYMMETRIC",
}


def expression_form(node: Any) -> str:
    """An A_Expr's form as SQL writes it, for a message: `NULLIF(...)`, `LIKE`, the
    operator `'='`."""
    operator = node.name[-1].sval if node.name else ""
    form = _FORMS.get(node.kind)
    if form is None:
        return f"the operator {operator!r}"
    return form.format(op=operator)


def _conjunct(
    node: Any, table: str, columns: dict[tuple[str, str], str]
) -> tuple[str, list[tuple[str, Any]]]:
    """The column one conjunct constrains, and its limits."""
    if not _is(node, ast.A_Expr):
        raise _NotExactError(f"{type(node).__name__} is not a comparison with constants")
    operator = node.name[-1].sval if node.name else ""
    if node.kind == A_Expr_Kind.AEXPR_BETWEEN:
        low, high = node.rexpr
        column = _column_of(node.lexpr)
        if column is None:  # char_length(col) BETWEEN a AND b
            _, low_limits = _conjunct(_compared(node.lexpr, ">=", low), table, columns)
            column, high_limits = _conjunct(_compared(node.lexpr, "<=", high), table, columns)
            return column, low_limits + high_limits
        kind = _number_type(table, column, columns)
        return column, [("ge", kind(_constant(low))), ("le", kind(_constant(high)))]
    if node.kind in (A_Expr_Kind.AEXPR_IN, A_Expr_Kind.AEXPR_OP_ANY) and operator == "=":
        column = _column_of(node.lexpr)
        values = node.rexpr
        if _is(values, ast.A_ArrayExpr):
            values = values.elements
        if _is(values, ast.TypeCast) and _is(values.arg, ast.A_ArrayExpr):
            values = values.arg.elements
        if column is None or not isinstance(values, tuple):
            raise _NotExactError("a list of values of something other than a column")
        _text_type(table, column, columns)
        words = [_constant(value) for value in values]
        if not all(isinstance(word, str) for word in words):
            raise _NotExactError("a list of values that are not all text")
        return column, [("pattern", "^(?:" + "|".join(map(literal, words)) + ")$")]
    if node.kind != A_Expr_Kind.AEXPR_OP:
        raise _NotExactError(f"{expression_form(node)} is not translated")
    left, right = node.lexpr, node.rexpr
    if _column_of(left) is None and _function(left) is None:
        left, right, operator = right, left, _FLIPPED.get(operator, operator)
    column = _column_of(left)
    if column is not None and operator == "!~":
        _text_type(table, column, columns)
        try:
            return column, [("forbidden", bracket_set(str(_constant(right))))]
        except UntranslatableRegexError as refusal:
            raise _NotExactError(str(refusal)) from None
    if column is not None and operator == "~":
        _text_type(table, column, columns)
        try:
            return column, [("pattern", rust_pattern(str(_constant(right))))]
        except UntranslatableRegexError as refusal:
            raise _NotExactError(str(refusal)) from None
    if column is not None and operator == "<>":
        if _is_text(table, column, columns) and _constant(right) == "":
            return column, [("min_length", 1)]
        raise _NotExactError("`<>` is not translated (pydantic has no not-equal limit)")
    if column is not None and operator in _NUMBER_LIMIT:
        kind = _number_type(table, column, columns)
        value = kind(_constant(right))
        return column, [(key, value) for key in _NUMBER_LIMIT[operator]]
    call = _function(left)
    if call is not None:
        function, argument = call
        column = _column_of(argument)
        if column is None:
            raise _NotExactError(f"{function}() of something other than a column")
        if function == "btrim" and operator == "<>" and _constant(right) == "":
            _text_type(table, column, columns)
            return column, [("not_blank", True)]
        if function == "jsonb_typeof" and operator == "=" and _constant(right) == "object":
            if columns.get((table, column)) not in ("jsonb", "json"):
                raise _NotExactError(f"jsonb_typeof() of a {columns.get((table, column))} column")
            return column, [("json_type", "object")]
        if operator in _LENGTH_LIMIT:
            type_name = columns.get((table, column), "")
            text = type_name in _TEXT_TYPES and function in _CHAR_LENGTH
            binary = type_name in _BYTES_TYPES and function in _BYTE_LENGTH
            if not (text or binary):
                raise _NotExactError(f"{function}() of a {type_name or 'unknown'} column")
            length = _constant(right)
            if not isinstance(length, int):
                raise _NotExactError(f"{function}() compared with a non-integer")
            return column, [(key, length + shift) for key, shift in _LENGTH_LIMIT[operator]]
        raise _NotExactError(f"{function}() {operator} ... is not translated")
    raise _NotExactError(f"the comparison {operator!r} is not translated")


def _compared(left: Any, operator: str, right: Any) -> Any:
    """`left operator right` as the parser would read it."""
    return ast.A_Expr(
        kind=A_Expr_Kind.AEXPR_OP, name=(ast.String(sval=operator),), lexpr=left, rexpr=right
    )


def _number_type(table: str, column: str, columns: dict[tuple[str, str], str]) -> type:
    type_name = columns.get((table, column), "")
    kind = _NUMBER_TYPES.get(type_name)
    if kind is None:
        # Only a text's order follows the collation; a date's or a timestamp's does not,
        # but pydantic's ge/le take numbers only here.
        why = (
            "its order follows the collation"
            if _is_text(table, column, columns)
            else "only a number column's limits are translated"
        )
        raise _NotExactError(f"{column} is a {type_name or 'unknown'} column: {why}")
    return kind


def _is_text(table: str, column: str, columns: dict[tuple[str, str], str]) -> bool:
    return columns.get((table, column), "") in _TEXT_TYPES


def _text_type(table: str, column: str, columns: dict[tuple[str, str], str]) -> None:
    if not _is_text(table, column, columns):
        raise _NotExactError(f"{column} is not a text column")
