"""What a query does, read from PostgreSQL's own parse tree: does it only read, does
a `:one` always yield a row, which result columns can never be NULL.

Read-only: a top-level SELECT or VALUES with no locking clause anywhere
(FOR UPDATE/SHARE/...), no data-modifying CTE, no SELECT INTO, and no call of a
function not known to be safe. Unsafe: the built-ins that write or take locks
(nextval, setval, set_config unless its third argument is the constant true,
advisory locks, txid_current, pg_notify, ...), and every function the schema
defines unless it is declared STABLE or IMMUTABLE. Functions the schema does not
define are PostgreSQL's own (or an extension's) and safe unless listed. A query
whose comment holds a line `@primary` is treated as writing (a read that must
see the primary).

Always a row (`:one`): an INSERT ... VALUES ... RETURNING without ON CONFLICT DO
NOTHING (or DO UPDATE ... WHERE); a SELECT of aggregates only, without GROUP BY,
HAVING, LIMIT or OFFSET; a SELECT without FROM, WHERE, LIMIT or OFFSET.

Never NULL: count(...), exists(...), and coalesce(...) whose last argument is a
constant other than NULL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pglast import ast
from pglast.enums import OnConflictAction

from .tree import Parsed
from .tree import is_a as _is
from .tree import returning as _returning
from .tree import walk as _walk

PRIMARY_MARKER = "@primary"

# Built-ins that write, lock, or need a transaction id: never on a replica.
UNSAFE_BUILTINS = frozenset(
    {
        "nextval",
        "setval",
        "txid_current",
        "txid_current_if_assigned",
        "pg_current_xact_id",
        "pg_current_xact_id_if_assigned",
        "pg_notify",
        "pg_advisory_lock",
        "pg_advisory_lock_shared",
        "pg_advisory_xact_lock",
        "pg_advisory_xact_lock_shared",
        "pg_try_advisory_lock",
        "pg_try_advisory_lock_shared",
        "pg_try_advisory_xact_lock",
        "pg_try_advisory_xact_lock_shared",
        "pg_advisory_unlock",
        "pg_advisory_unlock_shared",
        "pg_advisory_unlock_all",
        "lo_create",
        "lo_import",
        "lo_unlink",
        "lo_put",
        "lo_from_bytea",
        "pg_switch_wal",
        "pg_create_restore_point",
        "pg_cancel_backend",
        "pg_terminate_backend",
        "pg_reload_conf",
    }
)
AGGREGATES = frozenset(
    {
        "count",
        "sum",
        "avg",
        "min",
        "max",
        "bool_and",
        "bool_or",
        "every",
        "array_agg",
        "string_agg",
        "json_agg",
        "jsonb_agg",
        "json_object_agg",
        "jsonb_object_agg",
        "percentile_cont",
        "percentile_disc",
        "mode",
        "stddev",
        "variance",
    }
)
_WRITES = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)


@dataclass(frozen=True)
class Behaviour:
    read_only: bool
    why: str  # what makes it writing, or "reads only"
    always_row: bool
    never_null: frozenset[int]  # result column positions that cannot be NULL


def user_functions(statements: Iterable[Any]) -> dict[str, str]:
    """Functions the schema's statements define: lower-case name -> volatility
    (volatile by default)."""
    found: dict[str, str] = {}
    for stmt in statements:
        if _is(stmt, ast.CreateFunctionStmt) and stmt.funcname:
            volatility = "volatile"
            for option in stmt.options or ():
                if option.defname == "volatility" and _is(option.arg, ast.String):
                    volatility = str(option.arg.sval)
            found[str(stmt.funcname[-1].sval).lower()] = volatility
    return found


def analyse(parsed: Parsed, functions: dict[str, str], comments: tuple[str, ...] = ()) -> Behaviour:
    """The behaviour of one query (sqlc's text, `$N` placeholders, parsed)."""
    node: Any = parsed.first
    why = _why_writing(node, functions)
    if why is None and any(line.strip() == PRIMARY_MARKER for line in comments):
        why = f"marked {PRIMARY_MARKER}"
    return Behaviour(
        read_only=why is None,
        why=why or "reads only",
        always_row=_always_row(node),
        never_null=frozenset(_never_null(node)),
    )


def _function_name(call: Any) -> str:
    return str(call.funcname[-1].sval).lower()


def _why_writing(node: Any, functions: dict[str, str]) -> str | None:
    if not _is(node, ast.SelectStmt):
        return type(node).__name__.removesuffix("Stmt").upper()
    for part in _walk(node):
        if _is(part, _WRITES):
            return f"a data-modifying CTE ({type(part).__name__.removesuffix('Stmt').upper()})"
        if _is(part, ast.LockingClause):
            return "a locking clause (FOR UPDATE/SHARE)"
        if _is(part, ast.SelectStmt) and part.intoClause is not None:
            return "SELECT INTO"
        if _is(part, ast.FuncCall):
            name = _function_name(part)
            if name == "set_config" and not _third_argument_true(part):
                return "set_config() not local to the transaction"
            if name in UNSAFE_BUILTINS:
                return f"calls {name}()"
            if functions.get(name, "immutable") == "volatile":
                return f"calls {name}(), a VOLATILE function of the schema"
    return None


def _third_argument_true(call: Any) -> bool:
    args: tuple[Any, ...] = tuple(call.args or ())
    if len(args) != 3:
        return False
    value: Any = args[2]
    if _is(value, ast.TypeCast):
        value = value.arg
    return bool(_is(value, ast.A_Const) and _is(value.val, ast.Boolean) and value.val.boolval)


def _always_row(node: Any) -> bool:
    if _is(node, ast.InsertStmt):
        if not _returning(node):
            return False
        source = node.selectStmt
        if source is not None and not (_is(source, ast.SelectStmt) and source.valuesLists):
            return False  # INSERT ... SELECT may insert nothing
        conflict = node.onConflictClause
        if conflict is not None:
            if conflict.action == OnConflictAction.ONCONFLICT_NOTHING:
                return False
            if conflict.whereClause is not None:
                return False
        return True
    if not _is(node, ast.SelectStmt) or node.op not in (None, 0):
        return False  # a set operation (UNION ...) may yield nothing
    if node.valuesLists:
        return node.limitCount is None
    if node.limitCount is not None or node.limitOffset is not None:
        return False
    if node.groupClause or node.havingClause or node.distinctClause is not None:
        return False
    targets = [t.val for t in node.targetList or ()]
    if not node.fromClause:
        return node.whereClause is None and bool(targets)
    return bool(targets) and all(_is_aggregate(t) for t in targets)


def _is_aggregate(expr: Any) -> bool:
    """An aggregate call, or casts and coalesce of aggregates and constants."""
    if _is(expr, ast.TypeCast):
        return _is_aggregate(expr.arg)
    if _is(expr, ast.CoalesceExpr):
        return all(_is_aggregate(arg) or _is(arg, ast.A_Const) for arg in expr.args or ())
    return _is(expr, ast.FuncCall) and expr.over is None and _function_name(expr) in AGGREGATES


def _never_null(node: Any) -> Iterator[int]:
    targets = node.targetList if _is(node, ast.SelectStmt) else _returning(node)
    for position, target in enumerate(targets or ()):
        if _not_null_expression(target.val):
            yield position


def _not_null_expression(expr: Any) -> bool:
    if _is(expr, ast.TypeCast):
        return _not_null_expression(expr.arg)
    if _is(expr, ast.FuncCall) and expr.over is None:
        return _function_name(expr) == "count"
    if _is(expr, ast.SubLink):
        return bool(expr.subLinkType == 0)  # EXISTS_SUBLINK
    if _is(expr, ast.CoalesceExpr):
        last: Any = expr.args[-1] if expr.args else None
        if _is(last, ast.TypeCast):
            last = last.arg
        return bool(_is(last, ast.A_Const) and not last.isnull)
    return False


def assigned_columns(parsed: Parsed) -> dict[int, tuple[tuple[str, str], ...]]:
    """Parameter number -> the (table, column)s a write may store it in: the columns of
    an INSERT's VALUES rows or SELECT list, an UPDATE's `SET col = ...`, an ON CONFLICT
    DO UPDATE's `SET col = $N` or `= EXCLUDED.other` (what fills `other`), also in
    data-modifying CTEs. A parameter is followed through casts, coalesce and CASE
    results (`stored_parameters`). Parameters only compared
    with (WHERE) are not included: a CHECK says nothing about them."""
    found: dict[int, list[tuple[str, str]]] = {}
    for write in _writes(parsed.first):
        table = str(write.relation.relname)
        for column, value in _assignments(write):
            for number in stored_parameters(value):
                targets = found.setdefault(number, [])
                if (table, column) not in targets:
                    targets.append((table, column))
    return {number: tuple(targets) for number, targets in found.items()}


def _writes(node: Any) -> Iterator[Any]:
    """The INSERT and UPDATE statements of a statement: itself and its CTEs'."""
    with_clause = getattr(node, "withClause", None)
    for cte in (with_clause.ctes or ()) if with_clause is not None else ():
        yield from _writes(cte.ctequery)
    if _is(node, (ast.InsertStmt, ast.UpdateStmt)):
        yield node


def _assignments(write: Any) -> Iterator[tuple[str, Any]]:
    """(column, the expression stored in it) of an INSERT or UPDATE: the row it
    proposes, then an ON CONFLICT DO UPDATE's SET."""
    yield from _proposed(write)
    yield from _on_conflict(write)


def _proposed(write: Any) -> Iterator[tuple[str, Any]]:
    """(column, expression) of the row an INSERT proposes or an UPDATE's SET.
    PostgreSQL checks an INSERT's proposed row even when ON CONFLICT then updates
    the row it conflicts with instead (a CHECK violation is raised either way)."""
    if _is(write, ast.UpdateStmt):
        for target in write.targetList or ():
            yield str(target.name), target.val
        return
    columns = [str(target.name) for target in write.cols or ()]
    source = write.selectStmt
    rows: list[tuple[Any, ...]] = []
    if _is(source, ast.SelectStmt) and source.valuesLists:
        rows = [tuple(row) for row in source.valuesLists]
    elif _is(source, ast.SelectStmt) and source.targetList and source.op in (None, 0):
        rows = [tuple(target.val for target in source.targetList)]
    for row in rows:
        yield from zip(columns, row, strict=False)


def _on_conflict(write: Any) -> Iterator[tuple[str, Any]]:
    """(column, expression) of an INSERT's ON CONFLICT DO UPDATE SET: stored in the
    row the insert conflicted with, whose other columns keep what they hold."""
    conflict = getattr(write, "onConflictClause", None)
    if conflict is None:
        return
    inserted: dict[str, list[Any]] = {}
    for column, value in _proposed(write):
        inserted.setdefault(column, []).append(value)
    for target in conflict.targetList or ():
        excluded = _excluded_column(target.val)
        if excluded is None:
            yield str(target.name), target.val
        else:  # SET col = EXCLUDED.other: what fills `other` fills `col` too
            for value in inserted.get(excluded, ()):
                yield str(target.name), value


def _excluded_column(node: Any) -> str | None:
    if _is(node, ast.ColumnRef) and len(node.fields or ()) == 2:
        relation, column = node.fields
        if _is(relation, ast.String) and str(relation.sval).lower() == "excluded":
            return str(column.sval) if _is(column, ast.String) else None
    return None


def row_values(parsed: Parsed) -> dict[tuple[str, str], tuple[int, bool]]:
    """(table, column) -> (parameter number, whether NULL keeps what the column holds)
    for the columns a write fills with one parameter for sure: `$N` (NULL is stored)
    or `coalesce($N, ...)` (NULL stores something else). What a row check needs: a
    parameter of a CASE, of several VALUES rows or of several places is left out.
    Of an upsert only the proposed row counts: its ON CONFLICT SET values go into
    another row (the one it conflicted with), never checked with the proposed one's."""
    found: dict[tuple[str, str], tuple[int, bool]] = {}
    counted: dict[tuple[str, str], int] = {}
    for write in _writes(parsed.first):
        table = str(write.relation.relname)
        for column, value in _proposed(write):
            counted[(table, column)] = counted.get((table, column), 0) + 1
            kept = _is(value, ast.CoalesceExpr) and bool(value.args)
            number = _parameter_number(value.args[0] if kept else value)
            if number is not None:
                found[(table, column)] = (number, kept)
    return {key: value for key, value in found.items() if counted[key] == 1}


def stored_parameters(node: Any) -> list[int]:
    """The parameters whose value an expression may store as it is: `$N`, through
    casts, every argument of coalesce and each CASE result. Not NULLIF(`$N`, c): the
    value c is stored as NULL, so refusing it by the column's rule could refuse what
    the database stores."""
    if _is(node, ast.TypeCast):
        return stored_parameters(node.arg)
    if _is(node, ast.ParamRef):
        return [int(node.number)]
    if _is(node, ast.CoalesceExpr):
        return [n for arg in node.args or () for n in stored_parameters(arg)]
    if _is(node, ast.CaseExpr):
        results = [when.result for when in node.args or ()]
        if node.defresult is not None:
            results.append(node.defresult)
        return [n for result in results for n in stored_parameters(result)]
    return []


def _parameter_number(node: Any) -> int | None:
    if _is(node, ast.TypeCast):
        node = node.arg
    return int(node.number) if _is(node, ast.ParamRef) else None
