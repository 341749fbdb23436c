"""Queries of audit_log.sql against a real database, with the trail the triggers write."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from chip_quality_db import transaction
from chip_quality_queries import Executor, audit_log, parts, reports
from chip_quality_queries.models import AuditAction, AuditLog, ReportFormat, ReportType

from .factories import collect_pages, is_aware, make_part


def today() -> dict[str, datetime]:
    """A time range around now: the range every list and count of the audit log names."""
    now = datetime.now(UTC)
    return {"recorded_from": now - timedelta(hours=1), "recorded_before": now + timedelta(hours=1)}


def listing(**filters: object) -> audit_log.ListAuditEntriesParams:
    return audit_log.ListAuditEntriesParams.model_validate({**today(), **filters})


async def test_audit_history_of_record_shows_insert_then_update_by_actor(
    qconn: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    async with transaction(pool, actor="alice", session_id="req-42") as conn:
        part = await make_part(conn, part_name="Old name", specifications={"layers": 4})
    async with transaction(qconn, actor="alice") as conn:
        updated = await parts.update_part(
            conn, parts.UpdatePartParams(part_id=part.id, part_name="New name")
        )
    assert updated is not None
    # An update that changes nothing writes nothing.
    async with transaction(qconn, actor="bob") as conn:
        await parts.update_part(conn, parts.UpdatePartParams(part_id=part.id))

    history = await audit_log.audit_history_of_record(qconn, table_name="parts", record_id=part.id)
    assert [entry.action for entry in history] == [AuditAction.INSERT, AuditAction.UPDATE]
    inserted, changed = history
    assert isinstance(inserted, AuditLog)
    assert inserted.action is AuditAction.INSERT
    assert changed.action is AuditAction.UPDATE
    assert {entry.actor for entry in history} == {"alice"}
    assert {entry.table_name for entry in history} == {"parts"}
    assert {entry.record_id for entry in history} == {part.id}

    assert inserted.old_values is None
    assert isinstance(inserted.new_values, dict)
    assert inserted.new_values["part_name"] == "Old name"
    assert inserted.new_values["specifications"] == {"layers": 4}
    assert inserted.new_values["id"] == str(part.id)
    assert inserted.changed_fields is None
    assert inserted.session_id == "req-42"

    assert isinstance(changed.old_values, dict)
    assert isinstance(changed.new_values, dict)
    assert changed.old_values["part_name"] == "Old name"
    assert changed.new_values["part_name"] == "New name"
    assert changed.changed_fields == ["part_name", "updated_at"]
    assert changed.session_id is None
    assert changed.txid != inserted.txid
    assert isinstance(changed.txid, int)
    for entry in history:
        assert is_aware(entry.occurred_at)
        assert is_aware(entry.recorded_at)
    assert inserted.recorded_at <= changed.recorded_at

    assert (
        await audit_log.audit_history_of_record(qconn, table_name="lots", record_id=part.id) == []
    )
    assert (
        await audit_log.audit_history_of_record(qconn, table_name="parts", record_id=uuid.uuid4())
        == []
    )


async def test_audit_of_delete_and_default_actor(qconn: asyncpg.Connection) -> None:
    login = await qconn.fetchval("SELECT session_user")
    part = await make_part(qconn)  # no transaction(): no actor set
    assert await parts.delete_part(qconn, part_id=part.id) == 1

    history = await audit_log.audit_history_of_record(qconn, table_name="parts", record_id=part.id)
    assert [entry.action for entry in history] == [AuditAction.INSERT, AuditAction.DELETE]
    deleted = history[1]
    assert deleted.new_values is None
    assert isinstance(deleted.old_values, dict)
    assert deleted.old_values["part_number"] == part.part_number
    assert deleted.changed_fields is None
    assert {entry.actor for entry in history} == {f"db:{login}"}


async def test_get_audit_entry(qconn: asyncpg.Connection) -> None:
    async with transaction(qconn, actor="carol") as conn:
        part = await make_part(conn)
    [entry] = await audit_log.audit_history_of_record(qconn, table_name="parts", record_id=part.id)
    fetched = await audit_log.get_audit_entry(qconn, entry_id=entry.id)
    assert fetched == entry
    assert fetched is not None
    assert fetched.actor == "carol"
    assert await audit_log.get_audit_entry(qconn, entry_id=uuid.uuid4()) is None


async def make_reports(conn: Executor, count: int) -> list[uuid.UUID]:
    ids = []
    for i in range(count):
        report = await reports.create_report(
            conn,
            reports.CreateReportParams(
                report_type=ReportType.YIELD_TREND,
                title=f"Trend {i}",
                format_=ReportFormat.CSV,
                generated_by="svc",
            ),
        )
        assert report is not None
        ids.append(report.id)
    return ids


async def test_list_audit_entries_keyset_pagination(qconn: asyncpg.Connection) -> None:
    async with transaction(qconn, actor="dave") as conn:
        created = await make_reports(conn, 7)  # one transaction: one occurred_at

    async def fetch(after: datetime | None, after_id: uuid.UUID | None) -> list[AuditLog]:
        return await audit_log.list_audit_entries(
            qconn,
            listing(table_name="reports", after_recorded_at=after, after_id=after_id, page_size=3),
        )

    pages = await collect_pages(fetch, key=lambda e: (e.recorded_at, e.id), page_size=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    seen = [entry for page in pages for entry in page]
    assert [entry.record_id for entry in seen] == created  # recorded in write order
    assert len({entry.id for entry in seen}) == 7
    assert {entry.action for entry in seen} == {AuditAction.INSERT}


async def test_list_and_count_audit_entries_filters(qconn: asyncpg.Connection) -> None:
    async with transaction(qconn, actor="erin") as conn:
        part = await make_part(conn)
        await make_reports(conn, 2)
    async with transaction(qconn, actor="frank") as conn:
        await parts.update_part(conn, parts.UpdatePartParams(part_id=part.id, description="d"))

    by_erin = await audit_log.list_audit_entries(qconn, listing(actor="erin", page_size=50))
    assert [(e.table_name, e.action) for e in by_erin] == [
        ("parts", AuditAction.INSERT),
        ("reports", AuditAction.INSERT),
        ("reports", AuditAction.INSERT),
    ]
    of_parts = await audit_log.list_audit_entries(qconn, listing(table_name="parts", page_size=50))
    assert [(e.actor, e.action) for e in of_parts] == [
        ("erin", AuditAction.INSERT),
        ("frank", AuditAction.UPDATE),
    ]
    frank_parts = await audit_log.list_audit_entries(
        qconn, listing(table_name="parts", actor="frank", page_size=50)
    )
    assert len(frank_parts) == 1
    assert frank_parts[0].changed_fields == ["description", "updated_at"]
    assert await audit_log.list_audit_entries(qconn, listing(actor="nobody", page_size=50)) == []
    assert len(await audit_log.list_audit_entries(qconn, listing(page_size=2))) == 2

    assert await audit_log.count_audit_entries(qconn, **today()) == 4
    assert await audit_log.count_audit_entries(qconn, **today(), table_name="parts") == 2
    assert await audit_log.count_audit_entries(qconn, **today(), table_name="reports") == 2
    assert await audit_log.count_audit_entries(qconn, **today(), table_name="lots") == 0
