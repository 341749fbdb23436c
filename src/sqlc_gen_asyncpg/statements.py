"""What a query's top-level statement is and which table it writes, from PostgreSQL's own parser.

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


def statement_of(sql: str) -> Statement:
    """The kind of `sql`'s statement and the table it writes (None for a read)."""
    try:
        statements = pglast.parse_sql(sql)
    except pglast.parser.ParseError as error:
        raise StatementError(f"PostgreSQL's parser refused the query: {error}") from error
    if len(statements) != 1:
        raise StatementError(f"a query must be one statement, found {len(statements)}")
    node = statements[0].stmt
    if node is None:
        raise StatementError("the query holds no statement")
    if isinstance(node, ast.SelectStmt) and node.withClause is not None:
        # `WITH d AS (DELETE ... RETURNING ...) SELECT ...`: the CTE is what writes.
        writing = [c.ctequery for c in node.withClause.ctes or () if type(c.ctequery) in _WRITES]
        if writing:
            node = writing[0]
    kind = _KINDS.get(type(node), type(node).__name__.removesuffix("Stmt").lower())
    relation = getattr(node, "relation", None)
    table = relation.relname if isinstance(relation, ast.RangeVar) else None
    return Statement(kind, table)
