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


def assigned_columns(parsed: Parsed) -> dict[int, tuple[str, str]]:
    """Parameter number -> (table, column) for each `$N` a write stores in a column:
    an INSERT's single VALUES row, an UPDATE's `SET col = $N` (or `= coalesce($N, ...)`,
    the partial-update idiom). Parameters only compared with (WHERE) are not included:
    a CHECK says nothing about them."""
    node: Any = parsed.first
    found: dict[int, tuple[str, str]] = {}
    if _is(node, ast.InsertStmt) and node.cols and _is(node.selectStmt, ast.SelectStmt):
        rows: tuple[Any, ...] = tuple(node.selectStmt.valuesLists or ())
        if len(rows) == 1:
            for target, value in zip(node.cols, rows[0], strict=False):
                number = _parameter_number(value)
                if number is not None:
                    found[number] = (str(node.relation.relname), str(target.name))
    elif _is(node, ast.UpdateStmt):
        for target in node.targetList or ():
            value = target.val
            if _is(value, ast.CoalesceExpr) and value.args:
                value = value.args[0]
            number = _parameter_number(value)
            if number is not None:
                found[number] = (str(node.relation.relname), str(target.name))
    return found


def _parameter_number(node: Any) -> int | None:
    if _is(node, ast.TypeCast):
        node = node.arg
    return int(node.number) if _is(node, ast.ParamRef) else None
