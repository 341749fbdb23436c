"""The audit queries bound their time range, so the planner scans only the monthly
partitions in range: checked on the generated queries' own SQL with EXPLAIN, both
with the values known when planning and with a generic plan pruned at run time."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg
import pytest

from chip_quality_db.audit_partitions import maintain, partition_name
from chip_quality_queries import audit_log

from .history import forge_history

MONTHS = [dt.date(2026, m, 1) for m in range(3, 9)]  # March to August


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def _scanned(plan: Any) -> set[str]:
    """The tables (partitions) an EXPLAIN (FORMAT JSON) plan reads."""
    found: set[str] = set()
    if isinstance(plan, dict):
        if "Relation Name" in plan:
            found.add(plan["Relation Name"])
        for value in plan.values():
            found |= _scanned(value)
    elif isinstance(plan, list):
        for item in plan:
            found |= _scanned(item)
    return found


@pytest.fixture
async def months(conn: asyncpg.Connection) -> asyncpg.Connection:
    await maintain(conn, months_ahead=0, extra_months=tuple(MONTHS))
    await forge_history(conn, MONTHS, 20)
    await conn.execute("ANALYZE audit_log")
    return conn


async def _explain(conn: asyncpg.Connection, sql: str, *args: object) -> set[str]:
    plan = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
    return _scanned(json.loads(plan))


@pytest.mark.parametrize("plan_cache_mode", ["force_custom_plan", "force_generic_plan"])
async def test_list_and_count_scan_only_the_partitions_in_range(
    months: asyncpg.Connection, plan_cache_mode: str
) -> None:
    conn = months
    await conn.execute("SELECT set_config('plan_cache_mode', $1, false)", plan_cache_mode)
    july = (_utc(2026, 7, 1), _utc(2026, 8, 1))
    june_and_july = (_utc(2026, 6, 15), _utc(2026, 7, 15))
    everything = await _explain(
        conn, audit_log.COUNT_AUDIT_ENTRIES, _utc(2000, 1, 1), _utc(2100, 1, 1), None
    )
    assert everything >= {partition_name(m) for m in MONTHS}  # the control: all of them

    assert await _explain(conn, audit_log.COUNT_AUDIT_ENTRIES, *july, None) == {"audit_log_2026_07"}
    assert await _explain(conn, audit_log.COUNT_AUDIT_ENTRIES, *june_and_july, "parts") == {
        "audit_log_2026_06",
        "audit_log_2026_07",
    }
    listed = await _explain(
        conn, audit_log.LIST_AUDIT_ENTRIES, *july, None, "history-loader", None, None, 50
    )
    assert listed == {"audit_log_2026_07"}

    # And the queries return what is in range.
    assert (
        await audit_log.count_audit_entries(conn, recorded_from=july[0], recorded_before=july[1])
        == 20
    )
    # Forged entries lie in each month's first 20 seconds: June 1 to July 15 holds 40.
    page = await audit_log.list_audit_entries(
        conn,
        audit_log.ListAuditEntriesParams(
            recorded_from=_utc(2026, 6, 1), recorded_before=june_and_july[1], page_size=100
        ),
    )
    assert {entry.recorded_at.month for entry in page} == {6, 7}
    assert len(page) == 40
