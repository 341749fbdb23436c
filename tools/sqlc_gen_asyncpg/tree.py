"""PostgreSQL's parse trees, as pglast gives them: one parse per text, and the helpers
every reader of a tree shares.

The inputs stage parses each schema file, each statement of the query files and
each query's text once (`parse`); everything after it reads those trees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pglast
from pglast import ast


@dataclass(frozen=True)
class Parsed:
    """SQL text and what PostgreSQL's parser makes of it: its statements, or, when
    the parser refuses the text, no statements and the parser's message."""

    text: str
    statements: tuple[ast.RawStmt, ...]
    error: str | None = None

    @property
    def first(self) -> Any:
        """The first statement (its node, not the RawStmt); None when there is none."""
        return self.statements[0].stmt if self.statements else None


def parse(text: str) -> Parsed:
    """`text` parsed; a text the parser refuses gives a Parsed with its error."""
    try:
        return Parsed(text, tuple(pglast.parse_sql(text)))
    except pglast.parser.ParseError as error:
        return Parsed(text, (), str(error))


def is_a(node: Any, kind: type | tuple[type, ...]) -> bool:
    """isinstance without narrowing: pglast types every field of its nodes Optional,
    and the shapes read here are the parser's, not the type hints'."""
    return isinstance(node, kind)


def walk(node: Any) -> Iterator[Any]:
    """Every node of the tree under `node`, itself included (lists are transparent)."""
    if isinstance(node, tuple):
        for item in node:
            yield from walk(item)
    elif isinstance(node, ast.Node):
        yield node
        for name in node:
            yield from walk(getattr(node, name))


def walk_with_ancestors(
    node: Any, ancestors: tuple[Any, ...] = ()
) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Every node under `node` with its ancestors, nearest last (lists are transparent)."""
    if isinstance(node, tuple):
        for item in node:
            yield from walk_with_ancestors(item, ancestors)
    elif isinstance(node, ast.Node):
        yield node, ancestors
        for attribute in node:
            yield from walk_with_ancestors(getattr(node, attribute), (*ancestors, node))


def names_key(names: Any) -> tuple[str, str]:
    """(schema or '', name) of a qualified name's parts (`lab.point3`, `point3`)."""
    parts = [str(part.sval) for part in names or () if isinstance(part, ast.String)]
    return (parts[-2] if len(parts) > 1 else "", parts[-1] if parts else "")


def returning(node: Any) -> tuple[Any, ...]:
    """The RETURNING list (pglast 7 names it returningList, 8 returningClause.exprs)."""
    clause = getattr(node, "returningClause", None)
    if clause is not None:
        return tuple(clause.exprs or ())
    return tuple(getattr(node, "returningList", None) or ())
