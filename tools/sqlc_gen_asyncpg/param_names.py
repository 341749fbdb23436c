"""Readable names for the parameters sqlc leaves unnamed, read from the query's parse tree.

sqlc names a parameter after the column it meets directly (`id = $1`,
`SET title = $1`, `VALUES ($1)` under `(title)`); behind a cast, a function or
arithmetic (`pages > $1::int + 1`, `title = ANY($1::text[])`, `SET pages = $1 + 1`)
it names none, and its Go output calls such a parameter `dollar_1`. Here each
unnamed `$N` is named, in this order of preference, after

1. the column it is compared with (`=`, `<`, `LIKE`, `IS DISTINCT FROM`, `BETWEEN`,
   `IN`; `= ANY(...)` and `<> ALL(...)` take a list: the plural, `titles`), or
   the column it is stored in (`UPDATE ... SET col = ...`, `INSERT (col) VALUES`,
   `ON CONFLICT DO UPDATE SET`), or the argument it is given as (`f(x => $1)`),
   looking through casts, function calls, `coalesce` and arithmetic; or the name
   of the result column it is, cast at most (`SELECT $1::text AS label`);
2. the type it is cast to (`$1::uuid` -> `uuid`; an array, `$1::uuid[]` -> `uuids`).

The first occurrence with a name of the best kind wins. A parameter none of
this names keeps no name (the model calls it `param_<N>`).
"""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast.enums import A_Expr_Kind

from . import names
from .tree import Parsed, walk, walk_with_ancestors

# Operators that compute a value from the parameter rather than compare it.
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%", "^", "||"})
_LIST_KINDS = (A_Expr_Kind.AEXPR_OP_ANY, A_Expr_Kind.AEXPR_OP_ALL)


def readable_names(parsed: Parsed) -> dict[int, str]:
    """Parameter number -> a name from its place in the query (SQL names, not yet
    escaped), for the parameters that have one. SQL PostgreSQL's parser refuses gives
    none."""
    best: dict[int, tuple[int, str]] = {}  # number -> (kind: 0 column, 1 cast; name)
    for raw in parsed.statements:
        root: Any = raw.stmt
        stored = _insert_targets(root)
        for node, ancestors in walk_with_ancestors(root):
            if not isinstance(node, ast.ParamRef) or node.number is None:
                continue
            found = _name_of(node, ancestors, stored)
            if (
                found is not None
                and found[1]
                and (node.number not in best or found[0] < best[node.number][0])
            ):
                best[node.number] = found
    return {number: name for number, (_, name) in best.items()}


def _insert_targets(root: Any) -> dict[int, str]:
    """id() of each VALUES item of an INSERT (and of its CTEs) -> the column it fills."""
    found: dict[int, str] = {}
    for node in walk(root):
        if not isinstance(node, ast.InsertStmt) or not node.cols:
            continue
        select: Any = node.selectStmt
        if not isinstance(select, ast.SelectStmt):
            continue
        for row in select.valuesLists or ():
            for target, item in zip(node.cols, row, strict=False):
                if target.name:
                    found[id(item)] = str(target.name)
    return found


def _name_of(
    param: ast.ParamRef, ancestors: tuple[Any, ...], stored: dict[int, str]
) -> tuple[int, str] | None:
    expr: Any = param
    cast: str | None = None
    computed = False  # inside arithmetic or a function call, not only casts
    for depth in range(len(ancestors) - 1, -1, -1):
        parent = ancestors[depth]
        if id(expr) in stored:
            return 0, stored[id(expr)]
        if isinstance(parent, ast.TypeCast):
            if cast is None:
                cast = _type_name(parent.typeName)
        elif _computes(parent):
            computed = True
        elif isinstance(parent, ast.NamedArgExpr) and parent.name:
            return 0, str(parent.name)
        elif isinstance(parent, ast.A_Expr):
            other = parent.lexpr if expr is not parent.lexpr else parent.rexpr
            column = _column_of(other)
            if column is not None:
                if parent.kind in _LIST_KINDS and expr is parent.rexpr:
                    column = _plural(column)
                return 0, column
            break
        elif isinstance(parent, ast.ResTarget):
            # SET col = ... stores into col; a result column (AS label) is the
            # parameter only when nothing is computed from it.
            assigns = depth > 0 and isinstance(
                ancestors[depth - 1], (ast.UpdateStmt, ast.OnConflictClause)
            )
            if parent.name and (assigns or not computed):
                return 0, str(parent.name)
            break
        else:
            break
        expr = parent
    if id(expr) in stored:
        return 0, stored[id(expr)]
    return (1, cast) if cast else None


def _computes(node: Any) -> bool:
    """Arithmetic, a function call, coalesce, greatest or least: a value made from the
    parameter, which is still compared with or stored in what it meets."""
    if isinstance(node, ast.A_Expr):
        return _operator(node) in _ARITHMETIC
    return isinstance(node, (ast.FuncCall, ast.CoalesceExpr, ast.MinMaxExpr))


def _operator(node: ast.A_Expr) -> str | None:
    if node.kind != A_Expr_Kind.AEXPR_OP or not node.name:
        return None
    last: Any = node.name[-1]
    return str(last.sval) if isinstance(last, ast.String) else None


def _column_of(expr: Any) -> str | None:
    """The one column an expression is about (`b.title`, `lower(title)`, `pages + 1`)."""
    columns = {
        str(node.fields[-1].sval)
        for node in walk(expr)
        if isinstance(node, ast.ColumnRef)
        and node.fields
        and isinstance(node.fields[-1], ast.String)
    }
    if len(columns) != 1 or any(isinstance(node, ast.SubLink) for node in walk(expr)):
        return None
    return columns.pop()


def _type_name(type_name: Any) -> str | None:
    if type_name is None or not type_name.names:
        return None
    last: Any = type_name.names[-1]
    if not isinstance(last, ast.String):
        return None
    name = str(last.sval)
    return _plural(name) if type_name.arrayBounds else name


def _plural(name: str) -> str:
    """`title` -> `titles`, `lot_id` -> `lot_ids`: the last word made plural."""
    head, _, last = name.rpartition("_")
    plural = names.plural(last) if last else last
    return f"{head}_{plural}" if head else plural
