"""Queries of inspections.sql against a real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from chip_quality_queries import artifacts, defects, inference_jobs, inspections
from chip_quality_queries.models import (
    ArtifactType,
    Defect,
    DefectReviewStatus,
    DefectSeverity,
    DefectType,
    Inspection,
    InspectionStatus,
    InspectionType,
)

from .factories import (
    NOW,
    checksum,
    collect_pages,
    finish_inspection,
    is_aware,
    make_inspection,
    make_inspection_chain,
    make_job,
    make_lot,
    make_part,
)


async def test_create_inspection_is_pending(qconn: asyncpg.Connection) -> None:
    part = await make_part(qconn)
    lot = await make_lot(qconn, part_id=part.id)
    inspection = await inspections.create_inspection(
        qconn,
        inspections.CreateInspectionParams(
            lot_id=lot.id,
            inspection_type=InspectionType.ELECTRICAL,
            station_id="AOI-03",
            operator_id="op-17",
            notes="first article",
            metadata={"recipe": "R1", "settings": {"voltage": 3.3}},
        ),
    )
    assert isinstance(inspection, Inspection)
    assert inspection.lot_id == lot.id
    assert inspection.inspection_type is InspectionType.ELECTRICAL
    assert inspection.status is InspectionStatus.PENDING
    assert (inspection.station_id, inspection.operator_id) == ("AOI-03", "op-17")
    assert inspection.started_at is None
    assert inspection.completed_at is None
    assert inspection.passed is None
    assert inspection.results == {}
    assert inspection.notes == "first article"
    assert inspection.metadata == {"recipe": "R1", "settings": {"voltage": 3.3}}
    assert is_aware(inspection.created_at)

    minimal = await make_inspection(qconn, lot_id=lot.id)
    assert minimal.metadata == {}
    assert minimal.station_id is None


async def test_get_inspection(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    assert await inspections.get_inspection(qconn, inspection_id=inspection.id) == inspection
    assert await inspections.get_inspection(qconn, inspection_id=uuid.uuid4()) is None


async def test_start_and_complete_inspection(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    started_at = datetime(2025, 11, 3, 9, 30, tzinfo=UTC)

    # Not in progress yet: completing is refused.
    assert (
        await inspections.complete_inspection(
            qconn, completed_at=started_at, passed=True, inspection_id=inspection.id
        )
        is None
    )

    started = await inspections.start_inspection(
        qconn,
        started_at=started_at,
        station_id="AOI-01",
        operator_id="op-1",
        inspection_id=inspection.id,
    )
    assert started is not None
    assert started.status is InspectionStatus.IN_PROGRESS
    assert started.started_at == started_at
    assert is_aware(started.started_at)
    assert (started.station_id, started.operator_id) == ("AOI-01", "op-1")
    # Only a pending inspection starts.
    assert (
        await inspections.start_inspection(
            qconn, started_at=started_at, inspection_id=inspection.id
        )
        is None
    )

    completed_at = started_at + timedelta(minutes=12)
    completed = await inspections.complete_inspection(
        qconn,
        completed_at=completed_at,
        passed=False,
        results={"resistance_ohm": 47.2, "opens": [3, 7]},
        inspection_id=inspection.id,
    )
    assert completed is not None
    assert completed.status is InspectionStatus.COMPLETED
    assert completed.passed is False
    assert completed.completed_at == completed_at
    assert completed.results == {"resistance_ohm": 47.2, "opens": [3, 7]}
    assert completed.station_id == "AOI-01"
    # Only once.
    assert (
        await inspections.complete_inspection(
            qconn, completed_at=completed_at, passed=True, inspection_id=inspection.id
        )
        is None
    )
    assert (
        await inspections.start_inspection(qconn, started_at=started_at, inspection_id=uuid.uuid4())
        is None
    )


async def test_complete_without_results_keeps_results(qconn: asyncpg.Connection) -> None:
    _, lot, _ = await make_inspection_chain(qconn)
    inspection = await make_inspection(qconn, lot_id=lot.id)
    await inspections.update_inspection(
        qconn,
        inspections.UpdateInspectionParams(inspection_id=inspection.id, results={"pre": 1}),
    )
    done = await finish_inspection(qconn, inspection.id, passed=True)
    assert done.passed is True
    assert done.results == {"pre": 1}


async def test_update_inspection_changes_only_given_fields(qconn: asyncpg.Connection) -> None:
    _, lot, _ = await make_inspection_chain(qconn)
    inspection = await make_inspection(
        qconn, lot_id=lot.id, station_id="AOI-01", operator_id="op-1", metadata={"m": 1}
    )
    updated = await inspections.update_inspection(
        qconn,
        inspections.UpdateInspectionParams(
            inspection_id=inspection.id, notes="re-seated", results={"x": 1}
        ),
    )
    assert updated is not None
    assert updated.notes == "re-seated"
    assert updated.results == {"x": 1}
    assert updated.station_id == "AOI-01"
    assert updated.operator_id == "op-1"
    assert updated.metadata == {"m": 1}
    assert updated.status is InspectionStatus.PENDING
    assert updated.inspection_type is inspection.inspection_type

    again = await inspections.update_inspection(
        qconn,
        inspections.UpdateInspectionParams(
            inspection_id=inspection.id, station_id="AOI-02", metadata={"m": 2}
        ),
    )
    assert again is not None
    assert (again.station_id, again.operator_id, again.notes) == ("AOI-02", "op-1", "re-seated")
    assert again.metadata == {"m": 2}
    assert again.results == {"x": 1}

    missing = inspections.UpdateInspectionParams(inspection_id=uuid.uuid4(), notes="x")
    assert await inspections.update_inspection(qconn, missing) is None


async def test_cancel_inspection(qconn: asyncpg.Connection) -> None:
    _, lot, pending = await make_inspection_chain(qconn)
    cancelled = await inspections.cancel_inspection(qconn, inspection_id=pending.id)
    assert cancelled is not None
    assert cancelled.status is InspectionStatus.CANCELLED
    assert await inspections.cancel_inspection(qconn, inspection_id=pending.id) is None

    running = await make_inspection(qconn, lot_id=lot.id)
    await inspections.start_inspection(qconn, started_at=NOW, inspection_id=running.id)
    stopped = await inspections.cancel_inspection(qconn, inspection_id=running.id)
    assert stopped is not None
    assert stopped.status is InspectionStatus.CANCELLED

    done = await make_inspection(qconn, lot_id=lot.id)
    await finish_inspection(qconn, done.id, passed=True)
    assert await inspections.cancel_inspection(qconn, inspection_id=done.id) is None
    assert await inspections.cancel_inspection(qconn, inspection_id=uuid.uuid4()) is None


async def test_get_inspection_with_defects_in_one_call(qconn: asyncpg.Connection) -> None:
    _, lot, inspection = await make_inspection_chain(qconn)
    other = await make_inspection(qconn, lot_id=lot.id)
    for severity, defect_type in (
        (DefectSeverity.LOW, DefectType.SCRATCH),
        (DefectSeverity.CRITICAL, DefectType.SHORT),
        (DefectSeverity.MEDIUM, DefectType.VOID),
    ):
        await defects.create_defect(
            qconn,
            defects.CreateDefectParams(
                inspection_id=inspection.id,
                defect_type=defect_type,
                severity=severity,
                location={"x": 1.5, "y": 2},
                confidence=Decimal("0.9000"),
                detected_by="model:detector@2.3.1",
            ),
        )
    await defects.create_defect(
        qconn,
        defects.CreateDefectParams(
            inspection_id=other.id,
            defect_type=DefectType.BURN,
            severity=DefectSeverity.HIGH,
            detected_by="operator:op-1",
        ),
    )

    row = await inspections.get_inspection_with_defects(qconn, inspection_id=inspection.id)
    assert row is not None
    assert isinstance(row, inspections.GetInspectionWithDefectsRow)
    assert isinstance(row.inspections, Inspection)
    assert row.inspections == inspection
    # Most severe first, as Defect models: enum members, Decimal, aware datetimes,
    # equal to the rows read one by one.
    assert [d.severity for d in row.defects] == [
        DefectSeverity.CRITICAL,
        DefectSeverity.MEDIUM,
        DefectSeverity.LOW,
    ]
    assert [d.defect_type for d in row.defects] == [
        DefectType.SHORT,
        DefectType.VOID,
        DefectType.SCRATCH,
    ]
    for nested in row.defects:
        assert isinstance(nested, Defect)
        assert nested == await defects.get_defect(qconn, defect_id=nested.id)
    first = row.defects[0]
    assert first.inspection_id == inspection.id
    assert first.location == {"x": 1.5, "y": 2}
    assert first.confidence == Decimal("0.9000")
    assert first.review_status is DefectReviewStatus.UNREVIEWED
    assert is_aware(first.created_at)

    bare = await inspections.get_inspection_with_defects(
        qconn, inspection_id=(await make_inspection(qconn, lot_id=lot.id)).id
    )
    assert bare is not None
    assert bare.defects == []
    assert await inspections.get_inspection_with_defects(qconn, inspection_id=uuid.uuid4()) is None


async def test_delete_inspection_removes_its_children(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    defect = await defects.create_defect(
        qconn,
        defects.CreateDefectParams(
            inspection_id=inspection.id,
            defect_type=DefectType.CRACK,
            severity=DefectSeverity.HIGH,
            detected_by="operator:op-1",
        ),
    )
    assert defect is not None
    job = await make_job(qconn, inspection_id=inspection.id)
    artifact = await artifacts.create_artifact(
        qconn,
        artifacts.CreateArtifactParams(
            inspection_id=inspection.id,
            artifact_type=ArtifactType.IMAGE,
            storage_uri="s3://inspections/img-1.png",
            content_type="image/png",
            size_bytes=10,
            checksum_sha256=checksum("img-1"),
        ),
    )
    assert artifact is not None

    assert await inspections.delete_inspection(qconn, inspection_id=inspection.id) == 1
    assert await inspections.delete_inspection(qconn, inspection_id=inspection.id) == 0
    assert await inspections.get_inspection(qconn, inspection_id=inspection.id) is None
    assert await defects.get_defect(qconn, defect_id=defect.id) is None
    assert await inference_jobs.get_inference_job(qconn, job_id=job.id) is None
    assert await artifacts.get_artifact(qconn, artifact_id=artifact.id) is None


async def test_list_inspections_keyset_pagination(qconn: asyncpg.Connection) -> None:
    _, lot, first = await make_inspection_chain(qconn)
    created = [first] + [await make_inspection(qconn, lot_id=lot.id) for _ in range(6)]

    async def fetch(
        after_created_at: datetime | None, after_id: uuid.UUID | None
    ) -> list[Inspection]:
        return await inspections.list_inspections(
            qconn, lot_id=lot.id, after_created_at=after_created_at, after_id=after_id, page_size=3
        )

    pages = await collect_pages(fetch, key=lambda i: (i.created_at, i.id), page_size=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    seen = [i.id for page in pages for i in page]
    assert seen == [i.id for i in sorted(created, key=lambda i: (i.created_at, i.id))]


async def test_list_and_count_inspections_filters(qconn: asyncpg.Connection) -> None:
    part, lot, a = await make_inspection_chain(qconn)
    b = await make_inspection(qconn, lot_id=lot.id)
    await finish_inspection(qconn, b.id, passed=True)
    other_lot = await make_lot(qconn, part_id=part.id)
    c = await make_inspection(qconn, lot_id=other_lot.id)

    all_rows = await inspections.list_inspections(qconn, page_size=10)
    assert [i.id for i in all_rows] == [a.id, b.id, c.id]
    of_lot = await inspections.list_inspections(qconn, lot_id=lot.id, page_size=10)
    assert [i.id for i in of_lot] == [a.id, b.id]
    pending = await inspections.list_inspections(
        qconn, status=InspectionStatus.PENDING, page_size=10
    )
    assert [i.id for i in pending] == [a.id, c.id]
    done = await inspections.list_inspections(
        qconn, lot_id=lot.id, status=InspectionStatus.COMPLETED, page_size=10
    )
    assert [i.id for i in done] == [b.id]
    assert done[0].status is InspectionStatus.COMPLETED

    assert await inspections.count_inspections(qconn) == 3
    assert await inspections.count_inspections(qconn, lot_id=lot.id) == 2
    assert await inspections.count_inspections(qconn, status=InspectionStatus.PENDING) == 2
    assert (
        await inspections.count_inspections(
            qconn, lot_id=other_lot.id, status=InspectionStatus.COMPLETED
        )
        == 0
    )
