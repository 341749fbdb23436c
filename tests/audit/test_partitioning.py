"""audit_log partitioned by month: the converting migration both ways with its data,
partitions made ahead by `audit maintain`, and the guarantees on every partition."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from chip_quality_db import RetryableError
from chip_quality_db.audit import verify_chain
from chip_quality_db.audit_partitions import (
    add_months,
    current_month,
    maintain,
    parse_month,
    partition_name,
    under_lock_timeout,
)
from tests.conftest import run_dbmate

from .history import forge_history
from .support import (
    APP,
    AUDITOR,
    acting_as,
    assert_chain_intact,
    audit_log_partitions,
    rolled_back,
    write_parts,
)

PARTITIONING = "20261201000100"
HISTORY = [dt.date(2026, 6, 1), dt.date(2026, 7, 1), dt.date(2026, 8, 1)]

_ROWS = """
SELECT id, table_name, record_id, action, old_values, new_values, changed_fields, actor,
       session_id, txid, occurred_at, recorded_at, seq, prev_hash, row_hash
FROM audit_log ORDER BY seq
"""
_KIND = "SELECT relkind::text FROM pg_class WHERE oid = 'public.audit_log'::regclass"


async def _roll_back_to_plain(url: str) -> None:
    """Undo the migrations from the partitioning one on (the newest first)."""
    while True:
        conn = await asyncpg.connect(url)
        try:
            versions = await conn.fetchval(
                "SELECT array_agg(version ORDER BY version) FROM schema_migrations"
            )
        finally:
            await conn.close()
        if versions[-1] < PARTITIONING:
            return
        run_dbmate(url, "rollback")


async def test_the_migration_keeps_every_row_seq_and_hash_up_and_down(db_url: str) -> None:
    await _roll_back_to_plain(db_url)
    conn = await asyncpg.connect(db_url)
    try:
        assert await conn.fetchval(_KIND) == "r"
        await forge_history(conn, HISTORY, 40)
        await write_parts(conn, "alice", 5)  # this month, through the trigger
        before = [tuple(row) for row in await conn.fetch(_ROWS)]
        assert len(before) == 125
        await assert_chain_intact(conn, rows=125)
    finally:
        await conn.close()

    run_dbmate(db_url, "up")
    conn = await asyncpg.connect(db_url)
    try:
        assert await conn.fetchval(_KIND) == "p"
        assert [tuple(row) for row in await conn.fetch(_ROWS)] == before
        # One partition per month that held rows, plus the default one.
        months = [*HISTORY, current_month()]
        assert await audit_log_partitions(conn) == sorted(
            [*(partition_name(m) for m in months), "audit_log_default"]
        )
        per_partition = dict(
            await conn.fetch("SELECT tableoid::regclass::text, count(*) FROM audit_log GROUP BY 1")
        )
        assert per_partition == {
            **{partition_name(m): 40 for m in HISTORY},
            partition_name(current_month()): 5,
        }
        await assert_chain_intact(conn, rows=125)
        await write_parts(conn, "bob", 3)  # the chain goes on after the conversion
        await assert_chain_intact(conn, rows=128)
        after_writes = [tuple(row) for row in await conn.fetch(_ROWS)]
    finally:
        await conn.close()

    await _roll_back_to_plain(db_url)
    conn = await asyncpg.connect(db_url)
    try:
        assert await conn.fetchval(_KIND) == "r"
        assert [tuple(row) for row in await conn.fetch(_ROWS)] == after_writes
        await assert_chain_intact(conn, rows=128)
        await write_parts(conn, "carol", 1)  # the plain table's trigger appends again
        await assert_chain_intact(conn, rows=129)
    finally:
        await conn.close()


async def test_maintain_makes_this_month_and_the_next_ones_once(conn: asyncpg.Connection) -> None:
    now = dt.datetime(2026, 11, 30, 23, 59, tzinfo=dt.UTC)
    first = await maintain(conn, months_ahead=3, now=now)
    expected = [partition_name(add_months(dt.date(2026, 11, 1), n)) for n in range(4)]
    assert first.created == expected
    again = await maintain(conn, months_ahead=3, now=now)
    assert (again.created, again.existing) == ([], expected)
    assert await audit_log_partitions(conn) == sorted([*expected, "audit_log_default"])


async def test_every_partition_keeps_the_triggers_grants_and_owner_of_audit_log(
    conn: asyncpg.Connection,
) -> None:
    await maintain(conn, months_ahead=2)
    partitions = await audit_log_partitions(conn)
    assert len(partitions) == 4
    rows = await conn.fetch(
        """
        SELECT c.relname::text AS name, pg_get_userbyid(c.relowner)::text AS owner,
               c.relacl::text[] AS acl,
               (SELECT array_agg(t.tgname::text ORDER BY t.tgname) FROM pg_trigger AS t
                 WHERE t.tgrelid = c.oid AND t.tgenabled = 'O') AS triggers
        FROM pg_class AS c
        WHERE c.relname = ANY($1::text[]) OR c.relname = 'audit_log'
        """,
        partitions,
    )
    by_name = {row["name"]: row for row in rows}
    parent = by_name.pop("audit_log")
    assert parent["triggers"] == [
        "audit_log_advance_chain",
        "audit_log_notify_cache",
        "audit_log_refuse_change",
        "audit_log_refuse_truncate",
    ]
    # The cache's statement-level trigger fires for statements on audit_log itself,
    # which is how entries are written (a partition refuses changes of its own).
    partition_triggers = [t for t in parent["triggers"] if t != "audit_log_notify_cache"]
    for name, row in by_name.items():
        assert row["owner"] == "chipq_owner", name
        assert sorted(row["acl"]) == sorted(parent["acl"]), name
        assert row["triggers"] == partition_triggers, name


async def test_no_partition_can_be_changed_or_truncated_directly(
    conn: asyncpg.Connection,
) -> None:
    await maintain(conn, months_ahead=1)
    await write_parts(conn, "alice", 2)
    this_month = partition_name(current_month())
    for statement in (
        f"UPDATE {this_month} SET actor = 'mallory'",
        f"DELETE FROM {this_month}",
        f"TRUNCATE {this_month}",
        "TRUNCATE audit_log_default",
    ):
        with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
            async with rolled_back(conn):  # even the superuser meets the triggers
                await conn.execute(statement)
    for role in (APP, AUDITOR):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with acting_as(conn, role):
                await conn.execute(f"DELETE FROM {this_month}")
    await assert_chain_intact(conn, rows=2)


async def test_a_write_with_no_month_partition_lands_in_the_default_one_and_moves_later(
    conn: asyncpg.Connection,
) -> None:
    # No month partition at all (a fresh database, maintenance never run): the
    # entries of June go to audit_log_default, and nobody's write fails.
    await forge_history(conn, [dt.date(2026, 6, 1)], 30)
    await write_parts(conn, "alice", 2)
    assert await conn.fetchval("SELECT count(*) FROM audit_log_default") == 32
    report = await maintain(conn, months_ahead=0, extra_months=(dt.date(2026, 6, 1),))
    assert report.created == ["audit_log_2026_06", partition_name(current_month())]
    assert report.default_rows == 0
    counts = dict(
        await conn.fetch("SELECT tableoid::regclass::text, count(*) FROM audit_log GROUP BY 1")
    )
    assert counts == {"audit_log_2026_06": 30, partition_name(current_month()): 2}
    await assert_chain_intact(conn, rows=32)
    # The append-only trigger of the default partition is on again after the move.
    enabled = await conn.fetchval(
        "SELECT tgenabled::text FROM pg_trigger"
        " WHERE tgrelid = 'audit_log_default'::regclass AND tgname = 'audit_log_refuse_change'"
    )
    assert enabled == "O"


async def test_maintain_gives_up_on_a_held_lock_instead_of_blocking_writers(
    db_url: str, conn: asyncpg.Connection
) -> None:
    await write_parts(conn, "alice", 1)
    holder = await asyncpg.connect(db_url)
    try:
        async with holder.transaction():
            # A long transaction that read the default partition holds a lock that
            # ATTACH PARTITION (ACCESS EXCLUSIVE on audit_log_default) must wait for.
            await holder.execute("SELECT count(*) FROM audit_log_default")
            started = dt.datetime.now(dt.UTC)
            with pytest.raises(RetryableError, match="create_audit_partition") as caught:
                await maintain(conn, months_ahead=0, lock_timeout="100ms", attempts=2)
            # Mapped like every named query's failure, the driver's error as its cause.
            assert isinstance(caught.value.__cause__, asyncpg.LockNotAvailableError)
            waited = (dt.datetime.now(dt.UTC) - started).total_seconds()
            assert waited < 2.0
    finally:
        await holder.close()
    report = await maintain(conn, months_ahead=0)  # once it ended, a rerun succeeds
    assert report.created == [partition_name(current_month())]
    await assert_chain_intact(conn, rows=1)


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-01", "2026/01", "", "2026-00"])
def test_a_month_that_is_not_yyyy_mm_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="is not a month"):
        parse_month(text)


async def test_verify_still_walks_from_genesis_across_partitions(conn: asyncpg.Connection) -> None:
    await maintain(conn, months_ahead=0, extra_months=tuple(HISTORY))
    await forge_history(conn, HISTORY, 20)
    await write_parts(conn, "alice", 2)
    report = await verify_chain(conn, from_genesis=True)
    assert report.ok and report.rows == 62 and report.from_seq == 0


async def test_maintain_refuses_a_negative_horizon_and_warns_of_rows_in_the_default(
    conn: asyncpg.Connection,
) -> None:
    with pytest.raises(ValueError, match="months_ahead must be 0 or more, not -1"):
        await maintain(conn, months_ahead=-1)
    # Entries of a month that has no partition yet wait in audit_log_default.
    await forge_history(conn, [dt.date(2026, 5, 1)], 4)
    report = await maintain(conn, months_ahead=0)
    assert report.default_rows == 4
    assert (
        str(report)
        .splitlines()[1]
        .startswith("warning: audit_log_default holds 4 rows of months without a partition")
    )


async def test_only_a_lock_timeout_is_retried(conn: asyncpg.Connection) -> None:
    """A deadlock or serialization failure in the DDL step is raised at once: backing
    off is the answer to a lock not granted in time, not to every retryable error."""
    calls = 0

    async def step() -> None:
        nonlocal calls
        calls += 1
        raise RetryableError("deadlock detected", sqlstate="40P01")

    with pytest.raises(RetryableError, match="deadlock detected"):
        await under_lock_timeout(conn, step, lock_timeout="100ms", attempts=3, backoff=0)
    assert calls == 1
