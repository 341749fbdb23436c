"""What the generator says each query reads and writes, and which queries it lets be
cached (tools/sqlc_gen_asyncpg/tables.py), on PostgreSQL's parse trees."""

from __future__ import annotations

import pglast
import pytest

from sqlc_gen_asyncpg.tables import (
    CacheMarkerError,
    cache_refusal,
    cache_seconds,
    read_views,
    tables_of,
)
from sqlc_gen_asyncpg.tree import parse

SCHEMA = """
CREATE TABLE parts (id int, name text);
CREATE TABLE lots (id int, part_id int);
CREATE VIEW part_lots AS SELECT p.name, l.id FROM parts p JOIN lots l ON l.part_id = p.id;
CREATE VIEW named_part_lots AS SELECT * FROM part_lots WHERE name IS NOT NULL;
CREATE MATERIALIZED VIEW lot_counts AS SELECT part_id, count(*) FROM lots GROUP BY part_id;
CREATE VIEW dropped AS SELECT * FROM parts;
DROP VIEW dropped;
"""
VIEWS = read_views(raw.stmt for raw in pglast.parse_sql(SCHEMA))


def reads_writes(sql: str) -> tuple[set[str], set[str]]:
    tables = tables_of(parse(sql), VIEWS)
    return set(tables.reads), set(tables.writes)


@pytest.mark.parametrize(
    ("sql", "reads", "writes"),
    [
        ("SELECT * FROM parts WHERE id = $1", {"parts"}, set()),
        ("SELECT * FROM parts p JOIN lots l ON l.part_id = p.id", {"parts", "lots"}, set()),
        ("SELECT * FROM parts WHERE id IN (SELECT part_id FROM lots)", {"parts", "lots"}, set()),
        # a CTE's name is no table; its query's tables are read
        ("WITH recent AS (SELECT * FROM lots) SELECT * FROM recent", {"lots"}, set()),
        # views resolve to their tables, through views of views
        ("SELECT * FROM named_part_lots", {"parts", "lots"}, set()),
        # a materialized view is itself (refreshed) and what it reads
        ("SELECT * FROM lot_counts", {"lot_counts", "lots"}, set()),
        ("INSERT INTO parts (id, name) VALUES ($1, $2)", set(), {"parts"}),
        ("INSERT INTO lots (id, part_id) SELECT $1, id FROM parts", {"parts"}, {"lots"}),
        (
            "UPDATE lots SET part_id = p.id FROM parts p WHERE p.name = $1",
            {"lots", "parts"},
            {"lots"},
        ),
        ("DELETE FROM parts WHERE id = $1", {"parts"}, {"parts"}),
        (
            "WITH gone AS (DELETE FROM lots WHERE id = $1 RETURNING part_id) "
            "SELECT * FROM parts WHERE id IN (SELECT part_id FROM gone)",
            {"lots", "parts"},
            {"lots"},
        ),
    ],
)
def test_reads_and_writes(sql: str, reads: set[str], writes: set[str]) -> None:
    assert reads_writes(sql) == (reads, writes)


def test_a_dropped_view_is_forgotten() -> None:
    assert "dropped" not in VIEWS
    assert reads_writes("SELECT * FROM dropped") == ({"dropped"}, set())


@pytest.mark.parametrize(
    ("comments", "seconds"),
    [
        ((), None),
        ((" The part.",), None),
        ((" @cache 30s",), 30.0),
        (("@cache 5m",), 300.0),
        ((" @cache 2h", " more"), 7200.0),
    ],
)
def test_cache_marker(comments: tuple[str, ...], seconds: float | None) -> None:
    assert cache_seconds(comments) == seconds


@pytest.mark.parametrize(
    "line", [" @cache", " @cache soon", " @cache 0s", " @cache 5d", " @cache 1 m"]
)
def test_a_cache_marker_it_cannot_read_is_refused(line: str) -> None:
    with pytest.raises(CacheMarkerError, match="@cache"):
        cache_seconds((line,))


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("SELECT * FROM parts WHERE id = $1", None),
        ("SELECT lower(name) FROM parts", None),
        ("SELECT * FROM parts WHERE id > random() * 10", "random()"),
        ("SELECT now()", "now()"),
        ("SELECT * FROM lots WHERE id = nextval('s')", "nextval()"),
        ("SELECT CURRENT_TIMESTAMP", "clock"),
        ("SELECT tidy(name) FROM parts", "VOLATILE"),
        ("SELECT peek(name) FROM parts", "STABLE"),
        ("SELECT pure(name) FROM parts", None),
    ],
)
def test_what_may_not_be_cached(sql: str, named: str | None) -> None:
    functions = {"tidy": "volatile", "peek": "stable", "pure": "immutable"}
    refusal = cache_refusal(parse(sql), functions)
    if named is None:
        assert refusal is None
    else:
        assert refusal is not None and named in refusal
