"""Queries of audit_maintenance.sql (the audit tools' own) and server_info.sql (the
runtime's), each called on its own against a real database. tests/audit runs the
audit ones through the tools (verify, maintain, archive, restore) end to end."""

from __future__ import annotations

import datetime as dt
import hashlib

import asyncpg
import pytest

from chip_quality_db import RuleViolationError, transaction
from chip_quality_queries import audit_maintenance, server_info
from chip_quality_queries.models import AuditLog
from tests.audit.history import forge_history

from .factories import make_part

JANUARY, FEBRUARY = dt.date(2025, 1, 1), dt.date(2025, 2, 1)
PER_MONTH = 20


def _utc(month: dt.date) -> dt.datetime:
    return dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)


async def test_the_chain_is_read_in_batches_with_hashes_recomputed(
    qconn: asyncpg.Connection,
) -> None:
    async with transaction(qconn, actor="alice") as conn:
        for _ in range(3):
            await make_part(conn)
    head = await audit_maintenance.audit_chain_head(qconn)
    assert head is not None and head.seq == 3 and len(head.last_hash) == 32

    first = await audit_maintenance.audit_chain_batch(qconn, after_seq=0, batch_size=2)
    rest = await audit_maintenance.audit_chain_batch(qconn, after_seq=2, batch_size=2)
    assert [row.seq for row in first + rest] == [1, 2, 3]
    previous = bytes(32)
    for row in first + rest:
        assert row.prev_hash == previous and row.recomputed == row.row_hash
        previous = row.row_hash
    assert previous == head.last_hash

    assert await audit_maintenance.audit_row_hash_at(qconn, seq=3) == head.last_hash
    assert await audit_maintenance.audit_row_hash_at(qconn, seq=4) is None


async def test_partitions_are_made_once_and_listed_oldest_first(
    qconn: asyncpg.Connection,
) -> None:
    assert await audit_maintenance.public_table_exists(qconn, table_name="audit_checkpoints")
    assert not await audit_maintenance.public_table_exists(qconn, table_name="audit_log_2025_02")
    for month in (FEBRUARY, JANUARY):
        made = await audit_maintenance.create_audit_partition(qconn, month=month)
        assert made == f"audit_log_2025_{month.month:02d}"
    assert await audit_maintenance.create_audit_partition(qconn, month=JANUARY) is None
    assert await audit_maintenance.public_table_exists(qconn, table_name="audit_log_2025_02")
    names = await audit_maintenance.audit_month_partitions(qconn)
    assert names[:2] == ["audit_log_2025_01", "audit_log_2025_02"]
    assert "audit_log_default" not in names


async def test_the_lock_timeout_is_set_for_the_transaction_only(
    qconn: asyncpg.Connection,
) -> None:
    before = await qconn.fetchval("SHOW lock_timeout")
    async with qconn.transaction():
        await audit_maintenance.set_local_lock_timeout(qconn, lock_timeout="250ms")
        assert await qconn.fetchval("SHOW lock_timeout") == "250ms"
    assert await qconn.fetchval("SHOW lock_timeout") == before
    with pytest.raises(RuleViolationError, match="lock_timeout"):
        async with qconn.transaction():
            await audit_maintenance.set_local_lock_timeout(qconn, lock_timeout="soon")


async def test_a_month_is_exported_checkpointed_dropped_and_restored(
    qconn: asyncpg.Connection,
) -> None:
    for month in (JANUARY, FEBRUARY):
        await audit_maintenance.create_audit_partition(qconn, month=month)
    await forge_history(qconn, [JANUARY, FEBRUARY], PER_MONTH)

    run = await audit_maintenance.audit_check_run(qconn, source="audit_log_2025_01")
    assert run is not None
    assert (run.row_count, run.first_seq, run.last_seq) == (PER_MONTH, 1, PER_MONTH)
    assert run.first_prev_hash == bytes(32) and run.broken_seq is None and run.problem is None
    empty = await audit_maintenance.audit_check_run(qconn, source="audit_log_default")
    assert empty is not None and empty.row_count == 0 and empty.first_seq is None

    entries = await audit_maintenance.export_audit_month(
        qconn, recorded_from=_utc(JANUARY), recorded_before=_utc(FEBRUARY)
    )
    assert [entry.seq for entry in entries] == list(range(1, PER_MONTH + 1))
    assert all(isinstance(entry, AuditLog) for entry in entries)
    assert entries[-1].row_hash == run.last_row_hash

    assert run.first_seq is not None and run.last_seq is not None
    assert run.first_prev_hash is not None and run.last_row_hash is not None
    await audit_maintenance.insert_audit_checkpoint(
        qconn,
        audit_maintenance.InsertAuditCheckpointParams(
            month=JANUARY,
            first_seq=run.first_seq,
            last_seq=run.last_seq,
            row_count=run.row_count,
            first_prev_hash=run.first_prev_hash,
            last_row_hash=run.last_row_hash,
            file_name="audit_log_2025_01.csv.gz",
            file_sha256=hashlib.sha256(b"the archive file").digest(),
        ),
    )
    [checkpoint] = await audit_maintenance.audit_checkpoints(qconn)
    assert (checkpoint.ordinal, checkpoint.month, checkpoint.last_seq) == (1, JANUARY, PER_MONTH)
    assert checkpoint.prev_hash == bytes(32)
    assert checkpoint.recomputed == checkpoint.checkpoint_hash

    async with qconn.transaction():
        await audit_maintenance.drop_archived_audit_month(qconn, month=JANUARY)
    assert not await audit_maintenance.public_table_exists(qconn, table_name="audit_log_2025_01")

    async with qconn.transaction():
        await audit_maintenance.create_audit_archive_load(qconn)
        await qconn.copy_records_to_table(
            "audit_archive_load",
            records=[tuple(entry.model_dump().values()) for entry in entries],
            columns=list(AuditLog.model_fields),
        )
        loaded = await audit_maintenance.audit_check_run(qconn, source="audit_archive_load")
        assert loaded == run
        restored = await audit_maintenance.restore_audit_month(
            qconn, month=JANUARY, source="audit_archive_load"
        )
    assert restored == PER_MONTH
    assert await audit_maintenance.public_table_exists(qconn, table_name="audit_log_2025_01")
    # The temporary table went with its transaction.
    assert await qconn.fetchval("SELECT to_regclass('pg_temp.audit_archive_load')") is None


async def test_server_version_and_constraint_columns(qconn: asyncpg.Connection) -> None:
    assert await server_info.server_version(qconn) == await qconn.fetchval("SHOW server_version")
    address = await server_info.server_address(qconn)
    assert (address.host, address.port) == (
        await qconn.fetchval("SELECT host(inet_server_addr())"),
        int(await qconn.fetchval("SHOW port")),
    )
    columns = {
        (row.schema_name, row.table_name, row.constraint_name): row.columns
        for row in await server_info.constraint_columns(qconn)
    }
    assert columns[("public", "audit_log", "audit_log_pkey")] == "id, recorded_at"
    assert columns[("public", "lots", "lots_lot_number_check")] == "lot_number"
    assert not any(schema in ("pg_catalog", "information_schema") for schema, _, _ in columns)
