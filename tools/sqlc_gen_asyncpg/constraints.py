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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pglast import ast
from pglast.enums import A_Expr_Kind, AlterTableType, BoolExprType, ConstrType
from pglast.stream import RawStream

from .pgregex import UntranslatableRegexError, bracket_set, literal, rust_pattern
from .tree import is_a as _is

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


def read_checks(statements: Iterable[Any]) -> Checks:
    """The CHECK constraints the schema's statements leave in place, translated where exact."""
    found: dict[tuple[str, str], Any] = {}
    columns: dict[tuple[str, str], str] = {}  # (table, column) -> type name
    modifiers: dict[tuple[str, str], Modifier] = {}
    functions: dict[str, _Inlinable] = {}
    for stmt in statements:
        _apply(stmt, found, columns)
        _apply_modifiers(stmt, modifiers)
        _apply_function(stmt, functions)
    rules: list[Rule] = []
    untranslated: list[Untranslated] = []
    for (table, name), constraint in sorted(found.items()):
        try:
            rules.append(_translate(table, name, constraint.raw_expr, columns, functions))
        except _NotExactError as refusal:
            untranslated.append(Untranslated(name, table, str(refusal), constraint.raw_expr))
    return Checks(tuple(rules), tuple(untranslated), modifiers, columns)


def _type_name(type_name: Any) -> str:
    return str(type_name.names[-1].sval)


def _apply(
    stmt: Any,
    found: dict[tuple[str, str], Any],
    columns: dict[tuple[str, str], str],
) -> None:
    if _is(stmt, ast.CreateStmt):
        table = stmt.relation.relname
        for element in stmt.tableElts or ():
            if _is(element, ast.ColumnDef):
                columns[(table, element.colname)] = _type_name(element.typeName)
                for constraint in element.constraints or ():
                    if constraint.contype == ConstrType.CONSTR_CHECK:
                        name = constraint.conname or f"{table}_{element.colname}_check"
                        found[(table, name)] = constraint
            elif _is(element, ast.Constraint) and element.contype == ConstrType.CONSTR_CHECK:
                found[(table, element.conname or f"{table}_check")] = element
    elif _is(stmt, ast.AlterTableStmt):
        table = stmt.relation.relname
        for command in stmt.cmds or ():
            definition = command.def_
            if command.subtype == AlterTableType.AT_AddConstraint and _is(
                definition, ast.Constraint
            ):
                if definition.contype == ConstrType.CONSTR_CHECK and definition.conname:
                    found[(table, definition.conname)] = definition
            elif command.subtype == AlterTableType.AT_DropConstraint:
                found.pop((table, command.name), None)
            elif command.subtype == AlterTableType.AT_AddColumn and _is(definition, ast.ColumnDef):
                columns[(table, definition.colname)] = _type_name(definition.typeName)
    elif _is(stmt, ast.CreateDomainStmt):
        domain = stmt.domainname[-1].sval
        columns[(domain, "value")] = _type_name(stmt.typeName)
        for constraint in stmt.constraints or ():
            if constraint.contype == ConstrType.CONSTR_CHECK:
                found[(domain, constraint.conname or f"{domain}_check")] = constraint
    elif _is(stmt, ast.DropStmt):
        for target in stmt.objects or ():
            names = [n.sval for n in target] if isinstance(target, tuple) else []
            if names:
                dropped = names[-1]
                for key in [k for k in found if k[0] == dropped]:
                    del found[key]


def _apply_modifiers(stmt: Any, modifiers: dict[tuple[str, str], Modifier]) -> None:
    """The type modifiers of the columns a statement defines or retypes."""
    definitions: list[tuple[str, str, Any]] = []  # (table, column, its ColumnDef)
    if _is(stmt, ast.CreateStmt):
        table = stmt.relation.relname
        definitions = [(table, e.colname, e) for e in stmt.tableElts or () if _is(e, ast.ColumnDef)]
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
        raise _NotExactError(f"the operator {operator!r} is not translated")
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
