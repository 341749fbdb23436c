"""`chip-quality-db queries`: every named query and what the generator decided it does.

Read from the generated package's `_catalog.QUERIES` (the generator writes it
from each query's parse tree), so reviewers and DBAs see, without reading Python:
which queries only read (and may go to a replica), why the others count as
writing, which `:one` queries always return a row, which tables each reads and
writes, which may be served from a cache (`@cache`) and for how long, and which
CHECK constraints are enforced on the parameters before the round trip.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from chip_quality_queries._catalog import QUERIES
from chip_quality_queries._runtime import QueryInfo

HEADINGS = ("FILE", "QUERY", "COMMAND", "ACCESS", "ROW", "READS", "WRITES", "CACHE", "CHECKS")


def _row(info: QueryInfo) -> tuple[str, ...]:
    access = "read" if info.read_only else f"write: {info.why}"
    row = ("always" if info.always_row else "maybe") if info.command == ":one" else "-"
    cache = f"{info.cache_seconds:g}s" if info.cache_seconds is not None else "-"
    return (
        info.file,
        info.name,
        info.command,
        access,
        row,
        ", ".join(info.reads) or "-",
        ", ".join(info.writes) or "-",
        cache,
        ", ".join(info.checks) or "-",
    )


def table(queries: Iterable[QueryInfo] = QUERIES) -> str:
    """The queries as an aligned text table, one line each, in file order."""
    rows = [HEADINGS, *(_row(info) for info in queries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADINGS) - 1)]
    lines = [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def as_json(queries: Iterable[QueryInfo] = QUERIES) -> str:
    """The same facts as JSON, for tools: one object per query."""
    keys = (
        "file",
        "name",
        "command",
        "function",
        "read_only",
        "why",
        "always_row",
        "reads",
        "writes",
        "cache_seconds",
        "checks",
    )
    return json.dumps([{key: getattr(info, key) for key in keys} for info in queries], indent=2)
