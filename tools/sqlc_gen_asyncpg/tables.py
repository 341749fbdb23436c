"""Which tables a query reads and writes, and whether it may be cached.

Read from PostgreSQL's own parse tree:
- **writes**: the target of every INSERT, UPDATE, DELETE and MERGE, data-modifying
  CTEs included;
- **reads**: every other relation the statement names (FROM, JOIN, subqueries, a
  CTE's query, an UPDATE's FROM), less the CTEs' own names; an UPDATE or DELETE reads
  its target too (its WHERE). A view is resolved to the relations its definition
  reads, through the schema's CREATE VIEW statements; a materialized view counts as
  itself (it changes when refreshed) and as what it reads.

A query is cached only when its comment says so, in a line of its own next to the
query, where the DBA reads it:

    -- name: GetPartByNumber :one
    -- The part with this number, or None.
    -- @cache 60s

(`s`, `m` or `h`). A cached query must only read, and call no function whose result
may change while the tables it reads do not: volatile built-ins and the clock
(`now()`, `random()`, `nextval()`, `clock_timestamp()`, `CURRENT_DATE`, ...), and the
schema's own functions unless IMMUTABLE (a STABLE one may read tables this analysis
cannot see). Such a marker is refused with a message naming the function.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pglast import ast
from pglast.enums import ObjectType

from .tree import Parsed, walk
from .tree import is_a as _is

CACHE_MARKER = "@cache"
_UNITS = {"s": 1, "m": 60, "h": 3600}

# Built-ins whose result changes while the tables stay the same (a CTE or subquery
# calling one is no better): the clock, randomness, sequences, the session.
TIME_AND_CHANCE = frozenset(
    {
        "now",
        "clock_timestamp",
        "statement_timestamp",
        "transaction_timestamp",
        "timeofday",
        "random",
        "random_normal",
        "setseed",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v4",
        "nextval",
        "currval",
        "lastval",
        "setval",
        "current_setting",
        "txid_current",
        "pg_current_xact_id",
        "pg_backend_pid",
        "inet_client_addr",
        "age",  # age(timestamp) reads the clock
    }
)


@dataclass(frozen=True)
class Tables:
    reads: frozenset[str]
    writes: frozenset[str]


class CacheMarkerError(ValueError):
    """A `@cache` line that cannot be honoured; the message says why."""


@dataclass(frozen=True)
class View:
    materialized: bool
    reads: frozenset[str]  # the relations its definition names


def read_views(statements: Iterable[Any]) -> dict[str, View]:
    """The schema's views and materialized views, by name, as its statements leave
    them (a later CREATE OR REPLACE wins, DROP removes)."""
    views: dict[str, View] = {}
    for stmt in statements:
        if _is(stmt, ast.ViewStmt):
            views[str(stmt.view.relname)] = View(False, _named_relations(stmt.query))
        elif _is(stmt, ast.CreateTableAsStmt) and stmt.objtype == ObjectType.OBJECT_MATVIEW:
            views[str(stmt.into.rel.relname)] = View(True, _named_relations(stmt.query))
        elif _is(stmt, ast.DropStmt) and stmt.removeType in (
            ObjectType.OBJECT_VIEW,
            ObjectType.OBJECT_MATVIEW,
        ):
            for target in stmt.objects or ():
                names = [str(n.sval) for n in target] if isinstance(target, tuple) else []
                if names:
                    views.pop(names[-1], None)
    return views


def tables_of(parsed: Parsed, views: dict[str, View]) -> Tables:
    """The base tables (and materialized views) a query reads and the tables it writes."""
    if parsed.first is None:
        return Tables(frozenset(), frozenset())
    writes: set[str] = set()
    for node in walk(parsed.first):
        if _is(node, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)):
            writes.add(str(node.relation.relname))
    inserted_only = {
        str(node.relation.relname) for node in walk(parsed.first) if _is(node, ast.InsertStmt)
    } - {
        str(node.relation.relname)
        for node in walk(parsed.first)
        if _is(node, (ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt))
    }
    named = _named_relations(parsed.first) - inserted_only
    return Tables(frozenset(_resolved(named, views)), frozenset(writes))


def cache_seconds(comments: tuple[str, ...]) -> float | None:
    """The time to live a query's `@cache` line gives, or None when it has none."""
    for line in comments:
        words = line.split()
        if words[:1] != [CACHE_MARKER]:
            continue
        if len(words) != 2 or words[1][-1:] not in _UNITS or not words[1][:-1].isdigit():
            raise CacheMarkerError(
                f"`{line.strip()}`: write `{CACHE_MARKER} <n>s`, `<n>m` or `<n>h`"
            )
        seconds = int(words[1][:-1]) * _UNITS[words[1][-1]]
        if seconds <= 0:
            raise CacheMarkerError(f"`{line.strip()}`: the time to live must be positive")
        return float(seconds)
    return None


def cache_refusal(parsed: Parsed, functions: dict[str, str]) -> str | None:
    """Why a query's results may not be cached (a function whose result changes while
    the tables do not), or None."""
    for node in walk(parsed.first):
        if _is(node, ast.SQLValueFunction):
            return "it reads the clock or the session (CURRENT_DATE, CURRENT_USER, ...)"
        if _is(node, ast.FuncCall):
            name = str(node.funcname[-1].sval).lower()
            if name in TIME_AND_CHANCE:
                return f"it calls {name}(), whose result changes while the tables do not"
            volatility = functions.get(name)
            if volatility is not None and volatility != "immutable":
                return (
                    f"it calls {name}(), a {volatility.upper()} function of the schema "
                    "(it may read what the cache cannot see change)"
                )
    return None


def _named_relations(node: Any) -> frozenset[str]:
    """The relations a statement names, less its CTEs' names."""
    ctes = {str(part.ctename) for part in walk(node) if _is(part, ast.CommonTableExpr)}
    return frozenset(
        str(part.relname)
        for part in walk(node)
        if _is(part, ast.RangeVar) and str(part.relname) not in ctes
    )


def _resolved(relations: Iterable[str], views: dict[str, View]) -> set[str]:
    """Relations with each view replaced by what it reads (a materialized view is kept
    as well: its refresh changes what it holds)."""
    found: set[str] = set()
    seen: set[str] = set()
    pending = list(relations)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        view = views.get(name)
        if view is None or view.materialized:
            found.add(name)
        if view is not None:
            pending.extend(view.reads)
    return found
