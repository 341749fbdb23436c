"""The work lists and JSON searches that the partial and GIN indexes serve.

Each query exists because the plan rules (docs/query-plans.md) report an index
no query uses; these tests hold what each one returns. That the index serves
it is queries/plans/, checked by `make check`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg

from chip_quality_queries import defects, inference_jobs, inspections, reports
from chip_quality_queries.models import (
    DefectSeverity,
    DefectType,
    InspectionStatus,
    ReportFormat,
    ReportType,
)

from .factories import NOW, finish_inspection, make_inspection, make_inspection_chain, make_job

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
FAR_AHEAD = datetime(2100, 1, 1, tzinfo=UTC)


async def test_list_open_inspections_is_pending_and_in_progress_oldest_first(
    qconn: asyncpg.Connection,
) -> None:
    _, lot, pending = await make_inspection_chain(qconn)
    running = await make_inspection(qconn, lot_id=lot.id)
    await inspections.start_inspection(qconn, started_at=NOW, inspection_id=running.id)
    done = await make_inspection(qconn, lot_id=lot.id)
    await finish_inspection(qconn, done.id, passed=True)
    cancelled = await make_inspection(qconn, lot_id=lot.id)
    await inspections.cancel_inspection(qconn, inspection_id=cancelled.id)

    listed = await inspections.list_open_inspections(qconn, page_size=10)
    assert [row.id for row in listed] == [pending.id, running.id]
    assert [row.status for row in listed] == [
        InspectionStatus.PENDING,
        InspectionStatus.IN_PROGRESS,
    ]
    assert len(await inspections.list_open_inspections(qconn, page_size=1)) == 1


async def test_search_inspections_by_results_finds_containing_objects_newest_first(
    qconn: asyncpg.Connection,
) -> None:
    _, lot, first = await make_inspection_chain(qconn)
    second = await make_inspection(qconn, lot_id=lot.id)
    other = await make_inspection(qconn, lot_id=lot.id)
    for inspection, results in (
        (first, {"station": "ST-4", "measurements": 3}),
        (second, {"station": "ST-4"}),
        (other, {"station": "ST-5"}),
    ):
        await inspections.start_inspection(qconn, started_at=NOW, inspection_id=inspection.id)
        await inspections.complete_inspection(
            qconn, completed_at=NOW, passed=True, results=results, inspection_id=inspection.id
        )

    found = await inspections.search_inspections_by_results(
        qconn, results={"station": "ST-4"}, page_size=10
    )
    assert [row.id for row in found] == [second.id, first.id]
    narrower = await inspections.search_inspections_by_results(
        qconn, results={"station": "ST-4", "measurements": 3}, page_size=10
    )
    assert [row.id for row in narrower] == [first.id]
    assert (
        await inspections.search_inspections_by_results(
            qconn, results={"station": "ST-9"}, page_size=10
        )
        == []
    )


async def test_daily_yield_counts_completed_and_passed_per_utc_day_in_range(
    qconn: asyncpg.Connection,
) -> None:
    _, lot, first = await make_inspection_chain(qconn)
    await finish_inspection(qconn, first.id, passed=True)
    second = await make_inspection(qconn, lot_id=lot.id)
    await finish_inspection(qconn, second.id, passed=False)
    next_day = await make_inspection(qconn, lot_id=lot.id)
    await inspections.start_inspection(qconn, started_at=NOW, inspection_id=next_day.id)
    await inspections.complete_inspection(
        qconn, completed_at=NOW + timedelta(days=1), passed=True, inspection_id=next_day.id
    )
    await make_inspection(qconn, lot_id=lot.id)  # pending: no verdict, not counted

    days = await inspections.daily_yield(
        qconn, completed_from=NOW - timedelta(days=1), completed_to=NOW + timedelta(days=2)
    )
    assert [(row.day, row.completed, row.passed) for row in days] == [
        (date(2025, 11, 3), 2, 1),
        (date(2025, 11, 4), 1, 1),
    ]
    # The range is half-open: an inspection completed at completed_to is left out.
    until_next_day = await inspections.daily_yield(
        qconn, completed_from=NOW, completed_to=NOW + timedelta(days=1)
    )
    assert [(row.day, row.completed) for row in until_next_day] == [(date(2025, 11, 3), 2)]


async def test_recent_critical_defects_are_only_critical_ones_since_newest_first(
    qconn: asyncpg.Connection,
) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    made = []
    for severity in (DefectSeverity.CRITICAL, DefectSeverity.LOW, DefectSeverity.CRITICAL):
        made.append(
            await defects.create_defect(
                qconn,
                defects.CreateDefectParams(
                    inspection_id=inspection.id,
                    defect_type=DefectType.SHORT,
                    severity=severity,
                    detected_by="aoi",
                ),
            )
        )
    feed = await defects.recent_critical_defects(qconn, since=LONG_AGO, page_size=10)
    assert [row.id for row in feed] == [made[2].id, made[0].id]
    assert await defects.recent_critical_defects(qconn, since=FAR_AHEAD, page_size=10) == []


async def test_search_defects_by_location_finds_containing_objects(
    qconn: asyncpg.Connection,
) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    located = {}
    for layer in (3, 4):
        defect = await defects.create_defect(
            qconn,
            defects.CreateDefectParams(
                inspection_id=inspection.id,
                defect_type=DefectType.VOID,
                severity=DefectSeverity.HIGH,
                location={"layer": layer, "x": 12.5},
                detected_by="aoi",
            ),
        )
        located[layer] = defect.id
    found = await defects.search_defects_by_location(qconn, location={"layer": 3}, page_size=10)
    assert [row.id for row in found] == [located[3]]
    both = await defects.search_defects_by_location(qconn, location={"x": 12.5}, page_size=10)
    assert [row.id for row in both] == [located[4], located[3]]


async def test_list_stale_inference_jobs_is_running_jobs_started_before(
    qconn: asyncpg.Connection,
) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    await make_job(qconn, inspection_id=inspection.id)
    await make_job(qconn, inspection_id=inspection.id)
    claimed = await inference_jobs.claim_inference_jobs(qconn, worker_id="w-1", max_jobs=1)
    assert len(claimed) == 1

    stale = await inference_jobs.list_stale_inference_jobs(
        qconn, started_before=FAR_AHEAD, page_size=10
    )
    assert [row.id for row in stale] == [claimed[0].id]
    assert (
        await inference_jobs.list_stale_inference_jobs(qconn, started_before=LONG_AGO, page_size=10)
        == []
    )


async def test_search_inference_jobs_by_results_finds_containing_objects(
    qconn: asyncpg.Connection,
) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    await make_job(qconn, inspection_id=inspection.id)
    await make_job(qconn, inspection_id=inspection.id)
    claimed = await inference_jobs.claim_inference_jobs(qconn, worker_id="w-1", max_jobs=2)
    for job, count in zip(claimed, (2, 0), strict=True):
        await inference_jobs.complete_inference_job(
            qconn, results={"defects": count}, job_id=job.id, worker_id="w-1"
        )
    found = await inference_jobs.search_inference_jobs_by_results(
        qconn, results={"defects": 2}, page_size=10
    )
    assert [row.id for row in found] == [claimed[0].id]
    assert (
        await inference_jobs.search_inference_jobs_by_results(
            qconn, results={"defects": 9}, page_size=10
        )
        == []
    )


async def test_list_pending_reports_is_the_queue_oldest_first(qconn: asyncpg.Connection) -> None:
    made = []
    for title in ("first", "second", "third"):
        report = await reports.create_report(
            qconn,
            reports.CreateReportParams(
                report_type=ReportType.YIELD_TREND,
                title=title,
                format_=ReportFormat.CSV,
                generated_by="analyst",
            ),
        )
        made.append(report)
    await reports.start_report(qconn, report_id=made[1].id)
    pending = await reports.list_pending_reports(qconn, page_size=10)
    assert [row.id for row in pending] == [made[0].id, made[2].id]
