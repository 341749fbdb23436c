"""What a query's top-level statement is and which table it writes, from PostgreSQL's own parser;
and for a `:copyfrom`, which column each parameter fills.

The generated code hands both to the error handler: a foreign-key violation means
"the row you refer to does not exist" when the statement wrote the referencing
table, and "other rows still refer to this one" when it deleted or changed the
referenced row. PostgreSQL reports both with the same SQLSTATE and fields; only
its (translated) message text differs, so the statement decides.
"""

from __future__ import annotations

from dataclasses import dataclass

import pglast
from pglast import ast

from .tree import Parsed

_KINDS: dict[type[ast.Node], str] = {
    ast.InsertStmt: "insert",
    ast.UpdateStmt: "update",
    ast.DeleteStmt: "delete",
    ast.MergeStmt: "merge",
    ast.SelectStmt: "select",
}

_WRITES = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)


@dataclass(frozen=True)
class Statement:
    kind: str  # insert, update, delete, merge, select, or the parser's node name in lower case
    table: str | None  # the table an insert, update, delete or merge writes


class StatementError(ValueError):
    """The query text is not one statement PostgreSQL's parser accepts."""


def _statement(parsed: Parsed) -> ast.Node:
    if parsed.error is not None:
        raise StatementError(f"PostgreSQL's parser refused the query: {parsed.error}")
    statements = parsed.statements
    if len(statements) != 1:
        raise StatementError(f"a query must be one statement, found {len(statements)}")
    node = statements[0].stmt
    if node is None:
        raise StatementError("the query holds no statement")
    return node


def statement_of(parsed: Parsed) -> Statement:
    """The kind of the query's statement and the table it writes (None for a read)."""
    node = _statement(parsed)
    if isinstance(node, ast.SelectStmt) and node.withClause is not None:
        # `WITH d AS (DELETE ... RETURNING ...) SELECT ...`: the CTE is what writes.
        writing = [c.ctequery for c in node.withClause.ctes or () if type(c.ctequery) in _WRITES]
        if writing:
            node = writing[0]
    kind = _KINDS.get(type(node), type(node).__name__.removesuffix("Stmt").lower())
    relation = getattr(node, "relation", None)
    table = relation.relname if isinstance(relation, ast.RangeVar) else None
    return Statement(kind, table)


@dataclass(frozen=True)
class CopyTarget:
    """What COPY needs from a `:copyfrom` query's `INSERT INTO t (columns) VALUES (...)`."""

    columns: tuple[str, ...] | None  # the INSERT's column list; None when it names none
    params: tuple[int, ...]  # the parameter ($N) each VALUES item sends, in column order


def copy_target(parsed: Parsed) -> CopyTarget:
    """The columns and parameters of a `:copyfrom` INSERT.

    COPY sends each row's values straight into the columns: every VALUES item must
    be one parameter (a cast of it is allowed, and ignored: COPY sends the value as
    the column's type), used once, in a single VALUES row.
    """
    node = _statement(parsed)
    if not isinstance(node, ast.InsertStmt):
        raise StatementError(":copyfrom needs an INSERT INTO table (...) VALUES (...)")
    if node.withClause is not None or node.onConflictClause is not None:
        raise StatementError(":copyfrom cannot use WITH or ON CONFLICT: COPY only inserts rows")
    select = node.selectStmt
    if not isinstance(select, ast.SelectStmt) or not select.valuesLists:
        raise StatementError(":copyfrom needs an INSERT INTO table (...) VALUES (...)")
    if len(select.valuesLists) != 1:
        raise StatementError(":copyfrom takes one VALUES row: each item of `rows` is one row")
    columns = None
    if node.cols:
        names = []
        for target in node.cols:
            if not isinstance(target, ast.ResTarget) or target.indirection or not target.name:
                raise StatementError(":copyfrom can fill whole columns only, not parts of one")
            names.append(target.name)
        columns = tuple(names)
    params: list[int] = []
    for position, item in enumerate(select.valuesLists[0], start=1):
        while isinstance(item, ast.TypeCast):
            item = item.arg
        if not isinstance(item, ast.ParamRef) or item.number is None:
            raise StatementError(
                f":copyfrom: VALUES item {position} is not a parameter: COPY sends values, "
                "it cannot compute them (use :batchexec for expressions and defaults)"
            )
        params.append(item.number)
    if len(set(params)) != len(params):
        raise StatementError(":copyfrom: a parameter fills two columns: COPY sends one per column")
    return CopyTarget(columns, tuple(params))


def cast_params(parsed: Parsed, casts: dict[int, str]) -> str:
    """The query's text with every `$N` of `casts` that is not the operand of a cast
    followed by `::<casts[N]>`, placed by the parser's locations (the rest of the text
    as it is)."""
    node = _statement(parsed)
    sql = parsed.text
    places: list[tuple[int, int]] = []  # (location, number)
    pending: list[tuple[ast.Node, bool]] = [(node, False)]
    while pending:
        current, cast = pending.pop()
        if isinstance(current, ast.ParamRef):
            number = current.number
            if number in casts and not cast and current.location is not None:
                places.append((current.location, number))
            continue
        for attribute in current:
            is_operand = isinstance(current, ast.TypeCast) and attribute == "arg"
            children = [getattr(current, attribute)]
            while children:
                child = children.pop()
                if isinstance(child, tuple):
                    children.extend(child)  # lists, and lists of lists (VALUES rows)
                elif isinstance(child, ast.Node):
                    pending.append((child, is_operand))
    for location, number in sorted(places, reverse=True):
        end = location + len(f"${number}")
        if sql[location:end] != f"${number}":
            raise StatementError(f"parameter ${number} is not where the parser placed it")
        sql = f"{sql[:end]}::{casts[number]}{sql[end:]}"
    return sql


def slices_to_arrays(sql: str, slices: dict[int, tuple[str, str]]) -> str:
    """`sql` with each `x IN ($N)` of a `sqlc.slice` parameter N (slices: N -> its
    element type and its name) rewritten to `x = ANY($N::<type>[])`, and `NOT IN` to
    `<> ALL(...)`: asyncpg sends one value per placeholder, so a slice travels as one
    array. Found by PostgreSQL's scanner; a slice parameter anywhere else is refused."""
    tokens = list(pglast.parser.scan(sql))

    def text(index: int) -> str:
        token = tokens[index] if 0 <= index < len(tokens) else None
        return "" if token is None else sql[token.start : token.end + 1].upper()

    edits: list[tuple[int, int, str]] = []  # (start, end, replacement)
    for index, token in enumerate(tokens):
        if token.name != "PARAM":
            continue
        number = int(text(index)[1:])
        if number not in slices:
            continue
        if (text(index - 2), text(index - 1), text(index + 1)) != ("IN", "(", ")"):
            raise StatementError(
                f"sqlc.slice({slices[number][1]}) is only supported as "
                "`column IN (sqlc.slice(...))`"
            )
        negated = text(index - 3) == "NOT"
        start = tokens[index - 3 if negated else index - 2].start
        operator = "<> ALL" if negated else "= ANY"
        replacement = f"{operator}(${number}::{slices[number][0]}[])"
        edits.append((start, tokens[index + 1].end + 1, replacement))
    for start, end, replacement in reversed(edits):
        sql = sql[:start] + replacement + sql[end:]
    return sql
