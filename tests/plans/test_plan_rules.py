"""The plan rules on real plans: a query changed to defeat its index is reported by name.

A fresh migrated database gets a few thousand lots (statistics gathered) and the
size threshold is lowered to match, so the planner faces the choice it faces on
the plans dataset in a fraction of the time (`make check` runs the real thing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from chip_quality_dev import plan_rules, plans
from chip_quality_queries import lots

ROOT = Path(__file__).resolve().parents[2]
PARTS = 100
LOTS = 3_000
THRESHOLD = 1_000  # rows: lots (3,000) is a large table here, parts (100) is not


@pytest.fixture
async def planned(conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """`conn` with PARTS parts and LOTS lots (30 a part), analyzed, ready to explain.
    On PostgreSQL 15, which has no EXPLAIN (GENERIC_PLAN), the rules cannot be run:
    what 15 gets instead, a refusal by version, is tested in test_plan_versions.py."""
    if int(await conn.fetchval("SHOW server_version_num")) < plans.GENERIC_PLAN_SINCE:
        pytest.skip("EXPLAIN (GENERIC_PLAN) needs PostgreSQL 16+ (test_plan_versions.py)")
    # Rows straight in, without the audit trigger (it wants an actor) and FK checks.
    await conn.execute("SET session_replication_role = replica")
    await conn.execute(
        f"""
        INSERT INTO parts (id, part_number, part_name, part_type)
        SELECT md5('part' || n)::uuid, 'PCB-' || n, 'board', 'pcb'
        FROM generate_series(1, {PARTS}) AS n;
        INSERT INTO lots (lot_number, part_id, production_date, batch_size, production_line)
        SELECT 'LOT-' || n, md5('part' || (n % {PARTS} + 1))::uuid,
               date '2026-01-01' + n % 300, 100, 'LINE-' || n % 7
        FROM generate_series(1, {LOTS}) AS n;
        """
    )
    await conn.execute("RESET session_replication_role")
    await conn.execute("ANALYZE parts, lots")
    await plans.prepare_session(conn)
    yield conn


async def check(conn: asyncpg.Connection, *queries: plans.NamedQuery) -> list[str]:
    """The rule violations of these queries' plans, as `make check` prints them."""
    catalog = await plan_rules.read_catalog(conn, seq_scan_rows=THRESHOLD)
    explained = [await plans.explain(conn, query) for query in queries]
    return [str(v) for item in explained for v in plan_rules.query_violations(item, catalog)]


def lot_query(name: str, sql: str, *markers: str) -> plans.NamedQuery:
    return plans.NamedQuery("lots.sql", name, ":one", sql, markers)


async def test_a_query_defeating_its_index_is_reported_by_file_name_and_rule(
    planned: asyncpg.Connection,
) -> None:
    assert await check(planned, lot_query("GetLotByNumber", lots.GET_LOT_BY_NUMBER)) == []

    # The same query with the column wrapped in a function: lots_lot_number_key is useless.
    defeated = lot_query("GetLotByNumber", "SELECT * FROM lots WHERE lower(lot_number) = lower($1)")
    assert await check(planned, defeated) == [
        "queries/lots.sql: GetLotByNumber: seq-scan: "
        "Seq Scan on lots [Filter: (lower(lot_number) = lower($1))] (3,000 rows)"
    ]


async def test_a_query_marked_full_scan_may_read_the_whole_table(
    planned: asyncpg.Connection,
) -> None:
    marked = lot_query(
        "CountLots", "SELECT count(*) FROM lots WHERE notes IS NULL", "full-scan counts all"
    )
    unmarked = lot_query("CountLots", marked.sql)
    assert await check(planned, marked) == []
    assert [v.split(": ")[2] for v in await check(planned, unmarked)] == ["seq-scan"]


async def test_a_join_on_a_foreign_key_that_cannot_use_its_index_is_reported(
    planned: asyncpg.Connection,
) -> None:
    served = lot_query(
        "LotsOfPartNumber",
        "SELECT l.* FROM parts p JOIN lots l ON l.part_id = p.id WHERE p.part_number = $1",
    )
    # Comparing the keys as text hides lots_part_id_status_idx from the join.
    defeated = lot_query(
        "LotsOfPartNumber",
        "SELECT l.* FROM parts p JOIN lots l ON l.part_id::text = p.id::text "
        "WHERE p.part_number = $1",
    )
    assert await check(planned, served) == []
    rules = [v.split(": ")[:3] for v in await check(planned, defeated)]
    assert ["queries/lots.sql", "LotsOfPartNumber", "fk-join"] in rules


async def test_a_keyset_list_that_sorts_the_table_is_reported(
    planned: asyncpg.Connection,
) -> None:
    assert await check(planned, lot_query("ListLots", lots.LIST_LOTS)) == []
    # Ordered by a column no index holds: every page sorts the whole table.
    by_line = lot_query(
        "ListLotsByLine",
        "SELECT * FROM lots WHERE (production_line, id) > ($1, $2::uuid) "
        "ORDER BY production_line, id LIMIT $3",
    )
    violations = await check(planned, by_line)
    assert any(
        v.startswith("queries/lots.sql: ListLotsByLine: keyset-sort: Sort [Sort Key:")
        for v in violations
    ), violations


async def test_partial_and_gin_indexes_no_plan_uses_are_reported_against_their_migration(
    planned: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # migrations are read from the repository, like make check
    catalog = await plan_rules.read_catalog(planned, seq_scan_rows=THRESHOLD)
    explained = [await plans.explain(planned, lot_query("GetLot", lots.GET_LOT))]
    unused = [str(v) for v in plan_rules.catalog_violations(explained, catalog)]
    assert (
        "schema/migrations/20261125000200_create_parts_and_lots.sql: parts_specifications_idx: "
        "unused-index: GIN index used by no named query's plan: drop it or use it"
    ) in unused
    assert any(v.split(": ")[1] == "reports_created_at_pending_idx" for v in unused)
    assert not any("lots_pkey" in v for v in unused)  # a plain btree is not watched
