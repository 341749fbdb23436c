"""Queries of reports.sql against a real database (the generation lifecycle)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
import pytest

import chip_quality_db
from chip_quality_db import RuleViolationError
from chip_quality_queries import Executor, reports
from chip_quality_queries.models import Report, ReportFormat, ReportStatus, ReportType

from .factories import collect_pages, is_aware, serial


async def make_report(db: Executor, **overrides: Any) -> Report:
    values: dict[str, Any] = {
        "report_type": ReportType.LOT_SUMMARY,
        "title": f"Lot summary {serial()}",
        "format_": ReportFormat.PDF,
        "generated_by": "alice",
    }
    values.update(overrides)
    report = await reports.create_report(db, reports.CreateReportParams(**values))
    assert report is not None
    return report


async def test_create_report_is_pending(qconn: asyncpg.Connection) -> None:
    report = await reports.create_report(
        qconn,
        reports.CreateReportParams(
            report_type=ReportType.DEFECT_PARETO,
            title="Pareto November",
            parameters={"lot_ids": ["a", "b"], "from": "2025-11-01", "to": "2025-11-30"},
            format_=ReportFormat.XLSX,
            generated_by="quality-service",
        ),
    )
    assert isinstance(report, Report)
    assert report.report_type is ReportType.DEFECT_PARETO
    assert report.status is ReportStatus.PENDING
    assert report.title == "Pareto November"
    assert report.parameters == {"lot_ids": ["a", "b"], "from": "2025-11-01", "to": "2025-11-30"}
    assert report.format is ReportFormat.XLSX
    assert report.generated_by == "quality-service"
    assert report.output_location is None
    assert report.error_message is None
    assert report.completed_at is None
    assert is_aware(report.created_at)

    minimal = await make_report(qconn)
    assert minimal.parameters == {}
    assert minimal.format is ReportFormat.PDF


async def test_get_report(qconn: asyncpg.Connection) -> None:
    report = await make_report(qconn)
    assert await reports.get_report(qconn, report_id=report.id) == report
    assert await reports.get_report(qconn, report_id=uuid.uuid4()) is None


async def test_report_lifecycle_to_completed(qconn: asyncpg.Connection) -> None:
    report = await make_report(qconn)
    # Not generating yet: completing is refused.
    assert (
        await reports.complete_report(qconn, output_location="s3://r/x.pdf", report_id=report.id)
        is None
    )

    started = await reports.start_report(qconn, report_id=report.id)
    assert started is not None
    assert started.status is ReportStatus.GENERATING
    assert started.completed_at is None
    assert await reports.start_report(qconn, report_id=report.id) is None

    completed = await reports.complete_report(
        qconn, output_location="s3://reports/2025/11/lot-summary.pdf", report_id=report.id
    )
    assert completed is not None
    assert completed.status is ReportStatus.COMPLETED
    assert completed.output_location == "s3://reports/2025/11/lot-summary.pdf"
    assert is_aware(completed.completed_at)
    assert completed.title == report.title
    # Finished: no more transitions.
    assert (
        await reports.complete_report(qconn, output_location="s3://r/y.pdf", report_id=report.id)
        is None
    )
    assert await reports.fail_report(qconn, error_message="late", report_id=report.id) is None
    assert await reports.start_report(qconn, report_id=report.id) is None
    assert await reports.start_report(qconn, report_id=uuid.uuid4()) is None


async def test_complete_without_location_is_rule_violation(qconn: asyncpg.Connection) -> None:
    report = await make_report(qconn)
    await reports.start_report(qconn, report_id=report.id)
    with pytest.raises(RuleViolationError), chip_quality_db.mapped_errors():
        await reports.complete_report(qconn, output_location=None, report_id=report.id)


async def test_report_fails_from_pending_or_generating(qconn: asyncpg.Connection) -> None:
    pending = await make_report(qconn)
    failed = await reports.fail_report(qconn, error_message="no data", report_id=pending.id)
    assert failed is not None
    assert failed.status is ReportStatus.FAILED
    assert failed.error_message == "no data"
    assert is_aware(failed.completed_at)
    assert failed.output_location is None
    assert await reports.fail_report(qconn, error_message="again", report_id=pending.id) is None

    generating = await make_report(qconn)
    await reports.start_report(qconn, report_id=generating.id)
    broke = await reports.fail_report(qconn, error_message="renderer", report_id=generating.id)
    assert broke is not None
    assert broke.status is ReportStatus.FAILED
    assert await reports.fail_report(qconn, error_message="x", report_id=uuid.uuid4()) is None


async def test_delete_report(qconn: asyncpg.Connection) -> None:
    report = await make_report(qconn)
    assert await reports.delete_report(qconn, report_id=report.id) == 1
    assert await reports.delete_report(qconn, report_id=report.id) == 0
    assert await reports.get_report(qconn, report_id=report.id) is None


async def test_list_reports_keyset_pagination(qconn: asyncpg.Connection) -> None:
    created = [await make_report(qconn) for _ in range(7)]

    async def fetch(after_created_at: datetime | None, after_id: uuid.UUID | None) -> list[Report]:
        return await reports.list_reports(
            qconn, after_created_at=after_created_at, after_id=after_id, page_size=3
        )

    pages = await collect_pages(fetch, key=lambda r: (r.created_at, r.id), page_size=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    seen = [r.id for page in pages for r in page]
    assert seen == [r.id for r in sorted(created, key=lambda r: (r.created_at, r.id))]


async def test_list_and_count_reports_filters(qconn: asyncpg.Connection) -> None:
    a = await make_report(qconn, report_type=ReportType.LOT_SUMMARY)
    b = await make_report(qconn, report_type=ReportType.YIELD_TREND)
    c = await make_report(qconn, report_type=ReportType.LOT_SUMMARY)
    await reports.start_report(qconn, report_id=c.id)

    async def ids(**filters: Any) -> list[uuid.UUID]:
        return [r.id for r in await reports.list_reports(qconn, page_size=50, **filters)]

    assert await ids() == [a.id, b.id, c.id]
    assert await ids(report_type=ReportType.LOT_SUMMARY) == [a.id, c.id]
    assert await ids(status=ReportStatus.PENDING) == [a.id, b.id]
    assert await ids(report_type=ReportType.LOT_SUMMARY, status=ReportStatus.GENERATING) == [c.id]
    assert await ids(report_type=ReportType.COMPLIANCE_AUDIT) == []

    assert await reports.count_reports(qconn) == 3
    assert await reports.count_reports(qconn, status=ReportStatus.PENDING) == 2
    assert await reports.count_reports(qconn, status=ReportStatus.GENERATING) == 1
    assert await reports.count_reports(qconn, status=ReportStatus.COMPLETED) == 0
