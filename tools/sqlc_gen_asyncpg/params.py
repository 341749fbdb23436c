"""A query's parameters: their names, their types, and the CHECK constraint of the
column each one fills."""

from __future__ import annotations

from typing import Any

from . import names
from .analysis import assigned_columns, row_values
from .constraints import Modifier, Rule
from .ir import ModelField, Param, RowCheckUse
from .param_names import readable_names
from .pgtypes import PyType
from .request import Column, Query, Table
from .scope import Scope
from .statements import StatementError, copy_target


def params_of(
    scope: Scope, query: Query, *, keyword_arguments: bool, bulk: bool = False
) -> tuple[Param, ...] | None:
    """The parameters in $N order; None (with a problem) when one cannot be typed.
    Keyword arguments and the rows of bulk commands (`bulk`) get a TypeAdapter for each
    checked parameter; a Params model checks its own fields."""
    parsed = scope.inputs.parsed[query.name]
    # A query the parser refuses stores nothing here: statement_of reports it refused.
    assigned = assigned_columns(parsed) if parsed.error is None else {}
    resolver = scope.catalog.resolver
    narg = scope.inputs.nullable_args.get(query.name, set())
    params: list[Param] = []
    used: set[str] = set()
    ok = True
    # Parameters sqlc names no column: named from their place in the parse tree.
    unnamed = any(names.is_placeholder(p.column.name) for p in query.params)
    readable = readable_names(parsed) if unnamed else {}
    for param in sorted(query.params, key=lambda p: p.number):
        column = param.column
        sql_name = column.name
        if names.is_placeholder(sql_name):
            sql_name = readable.get(param.number, "")
        base_name = (
            names.parameter_name(sql_name, keyword_argument=keyword_arguments) if sql_name else ""
        )
        if not base_name or not base_name.isidentifier():
            base_name = f"param_{param.number}"
        name = base_name if base_name not in used else f"{base_name}_{param.number}"
        used.add(name)
        py_type = resolver.column_type(column, column.table)
        if isinstance(py_type, str):
            scope.problem(query, f"parameter ${param.number} ({column.name}): {py_type}")
            ok = False
            continue
        if column.is_sqlc_slice:
            py_type = PyType(f"list[{py_type.annotation}]", py_type.imports)
        # Only sqlc.narg parameters may be left out; a nullable sqlc.arg must be given.
        optional = not column.not_null and column.name in narg
        targets = assigned.get(param.number, ())
        rules = _checks_of(scope, targets)
        modifier = _modifier_of(scope, targets)
        target = targets[0] if targets else None
        adapter = None
        if rules or modifier is not None:
            py_type = _checked(scope, py_type, rules, modifier)
            if keyword_arguments or bulk:  # checks the value; None passes a CHECK anyway
                value_type = PyType(py_type.annotation.removesuffix(" | None"), py_type.imports)
                adapter = scope.adapter(
                    value_type,
                    _adapter_name(rules, target),
                    plain=True,
                    declared=value_type.annotation.removeprefix("Annotated[").partition(",")[0],
                )
        composite = resolver.holds_composite(py_type)
        alias = sql_name if sql_name.isidentifier() and sql_name != name else None
        description = _column_comment(scope, targets, column)
        params.append(Param(name, py_type, optional, rules, adapter, composite, alias, description))
    return tuple(params) if ok else None


def _column_comment(scope: Scope, targets: tuple[tuple[str, str], ...], column: Column) -> str:
    """The COMMENT of the column a parameter is stored in (when every column it may be
    stored in says the same); else of the column sqlc compares it with, when the
    parameter bears that column's name (`status = sqlc.narg(status)`): a parameter
    named otherwise (`after_created_at`) is no value of the column and gets none."""
    catalog = scope.catalog
    comments: set[str] = set()
    for table, column_name in targets:
        comments.add(_comment_of(catalog.table_columns.get(("", table)), column_name))
    if not targets and column.table is not None:
        sql_column = column.original_name or column.name
        if column.name == sql_column:  # not renamed by sqlc.arg
            key = (catalog.schema_key(column.table.schema), column.table.name)
            comments.add(_comment_of(catalog.table_columns.get(key), sql_column))
    return comments.pop() if len(comments) == 1 else ""


def _comment_of(table: Table | None, column_name: str) -> str:
    found = [c.comment for c in (table.columns if table else ()) if c.name == column_name]
    return found[0] if found else ""


def param_fields(params: tuple[Param, ...], *, aliases: bool) -> tuple[ModelField, ...]:
    """The fields of a Params model (aliases: the SQL names where they differ, and the
    columns' comments as descriptions) or of a NamedTuple (no aliases: its fields are
    positional, plain annotations)."""
    return tuple(
        ModelField(
            p.name,
            (p.sql_name if aliases else None) or p.name,
            p.type,
            p.description if aliases else "",
            p.optional,
        )
        for p in params
    )


def row_checks_of(scope: Scope, query: Query, params: tuple[Param, ...]) -> tuple[RowCheckUse, ...]:
    """The CHECKs over several columns that a Params model fills every column of."""
    parsed = scope.inputs.parsed[query.name]
    if parsed.error is not None:
        return ()
    filled = row_values(parsed)
    field_of = {number: param.name for number, param in _numbered(query, params)}
    uses: list[RowCheckUse] = []
    for rule in scope.inputs.checks.row_rules:
        found = [filled.get((rule.table, column)) for column in rule.columns]
        if all(f is not None and f[0] in field_of for f in found):
            columns = tuple(
                (column, field_of[number], kept)
                for column, (number, kept) in zip(rule.columns, filter(None, found), strict=True)
            )
            uses.append(RowCheckUse(rule.constraint.upper(), columns))
    return tuple(uses)


def _numbered(query: Query, params: tuple[Param, ...]) -> list[tuple[int, Param]]:
    """Each parameter with its $N (params_of returns them in $N order)."""
    numbers = sorted(param.number for param in query.params)
    return list(zip(numbers, params, strict=True))


def _checks_of(scope: Scope, targets: tuple[tuple[str, str], ...]) -> tuple[Rule, ...]:
    """The translated CHECK constraints of the columns a parameter may be stored in."""
    found: list[Rule] = []
    for target in targets:
        found.extend(scope.inputs.checks.for_column(*target))
    return tuple(found)


def _modifier_of(scope: Scope, targets: tuple[tuple[str, str], ...]) -> Modifier | None:
    """The type modifier a parameter's value meets, when every column it may be stored
    in has the same one (two different roundings cannot both be applied)."""
    modifiers = {scope.inputs.checks.modifier(*target) for target in targets}
    return modifiers.pop() if len(modifiers) == 1 else None


def _checked(
    scope: Scope, py_type: PyType, rules: tuple[Rule, ...], modifier: Modifier | None
) -> PyType:
    """`py_type` carrying the column's type modifier and `rule`, in the order
    PostgreSQL applies them: Annotated[T, Numeric(5, 4), TABLE_COLUMN_CHECK] (| None)."""
    base = py_type.annotation.removesuffix(" | None")
    metadata: list[str] = []
    imports = py_type.imports | {("typing", "Annotated")}
    if modifier is not None:
        metadata.append(modifier.annotation())
        imports |= {("._runtime", modifier.runtime_class)}
    for rule in rules:
        constant = rule.constraint.upper()
        scope.checks_used[constant] = rule
        metadata.append(constant)
        imports |= {(".models", constant)}
    annotation = f"Annotated[{base}, {', '.join(metadata)}]"
    if base != py_type.annotation:
        annotation += " | None"
    return PyType(annotation, imports)


def _adapter_name(rules: tuple[Rule, ...], target: Any) -> str:
    """The module-level TypeAdapter a keyword argument is checked with: named after
    its CHECKs (their column's modifier comes with them), or its column's type."""
    if rules:
        return "_" + "_AND_".join(rule.constraint.upper() for rule in rules)
    table, column = target
    return f"_{table.upper()}_{column.upper()}_TYPE"


def copy_columns(scope: Scope, query: Query) -> tuple[str, ...] | None:
    """The column each parameter of a :copyfrom fills, in $N order: the INSERT's own
    columns (a `sqlc.arg` parameter is named after the argument, not the column)."""
    try:
        target = copy_target(scope.inputs.parsed[query.name])
    except StatementError as error:
        scope.problem(query, str(error))
        return None
    columns = target.columns
    if columns is None:  # sqlc refuses this itself
        scope.problem(query, ":copyfrom needs the INSERT's column list")
        return None
    if len(columns) != len(target.params):
        scope.problem(
            query,
            f":copyfrom: the INSERT fills {len(columns)} columns with {len(target.params)} values",
        )
        return None
    column_of = dict(zip(target.params, columns, strict=True))
    numbers = sorted(param.number for param in query.params)
    if sorted(column_of) != numbers:
        scope.problem(
            query, ":copyfrom: every parameter must be one of the VALUES, and nothing else"
        )
        return None
    return tuple(column_of[number] for number in numbers)
