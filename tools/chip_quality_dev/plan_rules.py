"""The rules every named query's plan must pass (`make check`, after plan drift).

Each violation prints as `file: Query: rule: plan excerpt`:

- seq-scan: no Seq Scan of a table holding SEQ_SCAN_ROWS rows or more, unless
  the query is marked `-- plan: full-scan <why>` (a deliberate full read);
- fk-join: a join reads neither side of a large table by a sequential scan (the
  join key is looked up through an index), unless marked full-scan; and every
  foreign key has an index leading with its first column (the join and the
  ON DELETE check of the parent both look rows up by it);
- keyset-sort: a keyset-paginated list (ORDER BY, LIMIT and a row comparison
  `(a, b) > (x, y)` in WHERE) reads its order from an index: no Sort node;
- unused-index: every partial and every GIN index appears in some query's plan;
  an index no query uses is reported against the migration that creates it.

Sizes come from pg_class.reltuples of the plans dataset (tables, partitions and
materialized views), so the threshold
separates tables that grow with production (lots and below) from small
reference tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from pglast import ast, parse_sql
from pglast.parser import parse_sql_json

from .migrations import read_migrations
from .plans import Explained

SEQ_SCAN_ROWS = 10_000
JOIN_NODES = ("Nested Loop", "Hash Join", "Merge Join")


@dataclass(frozen=True, order=True)
class Violation:
    file: str
    query: str
    rule: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.file}: {self.query}: {self.rule}: {self.excerpt}"


@dataclass(frozen=True)
class Catalog:
    rows: dict[str, float]  # table -> reltuples
    watched_indexes: dict[str, str]  # partial or GIN index -> "partial" / "GIN"
    unindexed_foreign_keys: list[tuple[str, str]]  # (table, constraint)
    seq_scan_rows: int = SEQ_SCAN_ROWS

    def large(self, table: str | None) -> bool:
        return table is not None and self.rows.get(table, 0) >= self.seq_scan_rows


async def read_catalog(conn: asyncpg.Connection, seq_scan_rows: int = SEQ_SCAN_ROWS) -> Catalog:
    rows = {
        r["relname"]: float(r["reltuples"])
        for r in await conn.fetch(
            "SELECT relname, reltuples FROM pg_class "
            "WHERE relkind IN ('r', 'p', 'm') AND relnamespace = 'public'::regnamespace"
        )
    }
    watched = {
        r["index"]: r["kind"]
        for r in await conn.fetch(
            """
            SELECT c.relname AS index,
                   CASE WHEN am.amname = 'gin' THEN 'GIN' ELSE 'partial' END AS kind
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid
            JOIN pg_am am ON am.oid = c.relam
            WHERE c.relnamespace = 'public'::regnamespace
              AND (am.amname = 'gin' OR i.indpred IS NOT NULL)
            """
        )
    }
    unindexed = [
        (r["table"], r["constraint"])
        for r in await conn.fetch(
            """
            SELECT k.conrelid::regclass::text AS table, k.conname AS constraint
            FROM pg_constraint k
            WHERE k.contype = 'f' AND k.connamespace = 'public'::regnamespace
              AND NOT EXISTS (
                  SELECT 1 FROM pg_index i
                  WHERE i.indrelid = k.conrelid AND i.indkey[0] = k.conkey[1]
              )
            ORDER BY 1, 2
            """
        )
    ]
    return Catalog(rows, watched, unindexed, seq_scan_rows)


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if not plan:  # a utility statement: no plan
        return
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def excerpt(node: dict[str, Any]) -> str:
    """One plan node as EXPLAIN's text form names it, with its conditions."""
    text = str(node["Node Type"])
    if node.get("Parallel Aware"):
        text = f"Parallel {text}"
    if "Index Name" in node:
        text += f" using {node['Index Name']}"
    if "Relation Name" in node:
        text += f" on {node['Relation Name']}"
    for key in ("Index Cond", "Hash Cond", "Merge Cond", "Join Filter", "Filter", "Sort Key"):
        if key in node:
            value = node[key]
            text += f" [{key}: {', '.join(value) if isinstance(value, list) else value}]"
    return text


def is_keyset_paginated(sql: str) -> bool:
    """A SELECT with ORDER BY, LIMIT and a row comparison `(a, b) > (x, y)` in WHERE."""
    statement = parse_sql(sql)[0].stmt
    if not isinstance(statement, ast.SelectStmt):
        return False
    if statement.sortClause is None or statement.limitCount is None:
        return False
    where = json.loads(parse_sql_json(sql))["stmts"][0]["stmt"]["SelectStmt"].get("whereClause")
    return any(_row_comparisons(where))


def _row_comparisons(tree: Any) -> Iterator[bool]:
    if isinstance(tree, dict):
        expression = tree.get("A_Expr")
        if (
            expression
            and "RowExpr" in expression.get("lexpr", {})
            and "RowExpr" in expression.get("rexpr", {})
        ):
            yield True
        for value in tree.values():
            yield from _row_comparisons(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _row_comparisons(value)


def _sequential_scans(plan: dict[str, Any], catalog: Catalog) -> Iterator[dict[str, Any]]:
    for node in nodes(plan):
        if node["Node Type"] == "Seq Scan" and catalog.large(node.get("Relation Name")):
            yield node


def query_violations(item: Explained, catalog: Catalog) -> list[Violation]:
    query = item.query
    file = f"queries/{query.source}"
    found: list[Violation] = []
    if not query.full_scan:
        for node in _sequential_scans(item.plan, catalog):
            rows = f"{int(catalog.rows[node['Relation Name']]):,} rows"
            found.append(Violation(file, query.name, "seq-scan", f"{excerpt(node)} ({rows})"))
        for join in nodes(item.plan):
            if join["Node Type"] not in JOIN_NODES:
                continue
            for side in join.get("Plans", ()):
                for node in _sequential_scans(side, catalog):
                    found.append(
                        Violation(
                            file,
                            query.name,
                            "fk-join",
                            f"{excerpt(join)} reads {node['Relation Name']} by {excerpt(node)}",
                        )
                    )
    if is_keyset_paginated(query.sql):
        for node in nodes(item.plan):
            if node["Node Type"] == "Sort":
                found.append(Violation(file, query.name, "keyset-sort", excerpt(node)))
    return found


def index_migrations(directory: Path | None = None) -> dict[str, str]:
    """Which migration creates each index (by its up section, parsed with pglast)."""
    created: dict[str, str] = {}
    migrations = read_migrations() if directory is None else read_migrations(directory)
    for migration in migrations:
        for raw in parse_sql(migration.up):
            statement = raw.stmt
            if isinstance(statement, ast.IndexStmt) and statement.idxname:
                created[statement.idxname] = str(migration.path)
    return created


def catalog_violations(explained: Sequence[Explained], catalog: Catalog) -> list[Violation]:
    found = [
        Violation(
            "schema/schema.sql",
            table,
            "fk-join",
            f"foreign key {constraint} has no index leading with its first column",
        )
        for table, constraint in catalog.unindexed_foreign_keys
    ]
    used = {node.get("Index Name") for item in explained for node in nodes(item.plan)}
    origins = index_migrations()
    for index, kind in sorted(catalog.watched_indexes.items()):
        if index not in used:
            found.append(
                Violation(
                    origins.get(index, "schema/schema.sql"),
                    index,
                    "unused-index",
                    f"{kind} index used by no named query's plan: drop it or use it",
                )
            )
    return found


def violations(explained: Sequence[Explained], catalog: Catalog) -> list[Violation]:
    found = [v for item in explained for v in query_violations(item, catalog)]
    return found + catalog_violations(explained, catalog)


async def check(url: str, explained: Sequence[Explained]) -> list[Violation]:
    conn = await asyncpg.connect(url)
    try:
        catalog = await read_catalog(conn)
    finally:
        await conn.close()
    return violations(explained, catalog)
