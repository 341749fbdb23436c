"""Queries of defects.sql against a real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from pydantic import ValidationError

import chip_quality_db
from chip_quality_db import RuleViolationError
from chip_quality_queries import Executor, defects
from chip_quality_queries.models import Defect, DefectReviewStatus, DefectSeverity, DefectType

from .factories import (
    collect_pages,
    is_aware,
    make_inspection,
    make_inspection_chain,
    make_lot,
)

REVIEWED_AT = datetime(2025, 11, 4, 10, 0, tzinfo=UTC)


async def make_defect(db: Executor, *, inspection_id: uuid.UUID, **overrides: Any) -> Defect:
    values: dict[str, Any] = {
        "inspection_id": inspection_id,
        "defect_type": DefectType.SCRATCH,
        "severity": DefectSeverity.LOW,
        "detected_by": "operator:op-1",
    }
    values.update(overrides)
    defect = await defects.create_defect(db, defects.CreateDefectParams(**values))
    assert defect is not None
    return defect


async def test_create_defect_returns_typed_row(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    defect = await defects.create_defect(
        qconn,
        defects.CreateDefectParams(
            inspection_id=inspection.id,
            defect_type=DefectType.SOLDER_DEFECT,
            severity=DefectSeverity.HIGH,
            location={"x": 12.5, "y": 40.1, "unit": "mm"},
            confidence=Decimal("0.9731"),
            description="cold joint",
            detected_by="model:detector@2.3.1",
        ),
    )
    assert isinstance(defect, Defect)
    assert defect.inspection_id == inspection.id
    assert defect.defect_type is DefectType.SOLDER_DEFECT
    assert defect.severity is DefectSeverity.HIGH
    assert defect.location == {"x": 12.5, "y": 40.1, "unit": "mm"}
    assert isinstance(defect.confidence, Decimal)
    assert defect.confidence == Decimal("0.9731")
    assert defect.description == "cold joint"
    assert defect.review_status is DefectReviewStatus.UNREVIEWED
    assert defect.reviewed_by is None
    assert defect.reviewed_at is None
    assert is_aware(defect.created_at)

    minimal = await make_defect(qconn, inspection_id=inspection.id)
    assert minimal.location == {}
    assert minimal.confidence is None


async def test_confidence_out_of_range_is_refused_before_and_by_the_database(
    qconn: asyncpg.Connection,
) -> None:
    """The Params model carries defects_confidence_check (refused before the round
    trip, naming it); a model built without validation meets the database's check."""
    _, _, inspection = await make_inspection_chain(qconn)
    with pytest.raises(ValidationError, match="breaks defects_confidence_check"):
        await make_defect(qconn, inspection_id=inspection.id, confidence=Decimal("1.5"))
    unchecked = defects.CreateDefectParams.model_construct(
        inspection_id=inspection.id,
        defect_type=DefectType.SCRATCH,
        severity=DefectSeverity.LOW,
        location=None,
        confidence=Decimal("1.5"),
        description=None,
        detected_by="test",
    )
    with pytest.raises(RuleViolationError) as caught, chip_quality_db.mapped_errors():
        await defects.create_defect(qconn, unchecked)
    assert caught.value.constraint == "defects_confidence_check"


async def test_get_defect(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    defect = await make_defect(qconn, inspection_id=inspection.id)
    assert await defects.get_defect(qconn, defect_id=defect.id) == defect
    assert await defects.get_defect(qconn, defect_id=uuid.uuid4()) is None


async def test_ingest_defects_copies_rows(qconn: asyncpg.Connection, pool: asyncpg.Pool) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    rows = [
        defects.IngestDefectsParams(
            inspection_id=inspection.id,
            defect_type=DefectType.PARTICLE,
            severity=DefectSeverity.MEDIUM,
            location={"die": f"R{i}C7", "xy": [i, 2.5]},
            confidence=Decimal(f"0.{i}123"),
            description=None if i % 2 else f"particle {i}",
            detected_by="model:detector@2.3.1",
        )
        for i in range(1, 6)
    ]
    assert await defects.ingest_defects(qconn, rows) == 5
    assert await defects.count_defects(qconn, inspection_id=inspection.id) == 5

    stored = await defects.list_defects(qconn, inspection_id=inspection.id, page_size=10)
    by_die = {d.location["die"]: d for d in stored}  # type: ignore[call-overload, index]
    assert set(by_die) == {f"R{i}C7" for i in range(1, 6)}
    third = by_die["R3C7"]
    assert third.location == {"die": "R3C7", "xy": [3, 2.5]}
    assert third.confidence == Decimal("0.3123")
    assert third.defect_type is DefectType.PARTICLE
    assert third.severity is DefectSeverity.MEDIUM
    assert third.description is None
    assert by_die["R2C7"].description == "particle 2"
    assert third.review_status is DefectReviewStatus.UNREVIEWED

    # A generator works as well, and an empty batch writes nothing.
    assert await defects.ingest_defects(qconn, (row for row in rows[:2])) == 2
    assert await defects.ingest_defects(qconn, []) == 0
    assert await defects.count_defects(qconn) == 7
    # On a pool as well (COPY on a pooled connection with the binary jsonb codec).
    assert await defects.ingest_defects(pool, rows[:1]) == 1
    assert await defects.count_defects(pool, inspection_id=inspection.id) == 8


async def test_insert_defects_is_all_or_none(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    rows = [
        defects.InsertDefectsParams(
            inspection_id=inspection.id,
            defect_type=DefectType.BRIDGING,
            severity=DefectSeverity.HIGH,
            location={"pad": i},
            confidence=Decimal("0.8800"),
            description=f"bridge {i}",
            detected_by="model:detector@2.3.1",
        )
        for i in range(3)
    ]
    result = await defects.insert_defects(qconn, rows)  # type: ignore[func-returns-value]
    assert result is None
    stored = await defects.list_defects(qconn, inspection_id=inspection.id, page_size=10)
    assert [d.location for d in sorted(stored, key=lambda d: str(d.location))] == [
        {"pad": 0},
        {"pad": 1},
        {"pad": 2},
    ]
    assert all(d.defect_type is DefectType.BRIDGING for d in stored)
    assert all(d.confidence == Decimal("0.8800") for d in stored)

    # One bad row (confidence above 1): none of the batch is written.
    bad = rows[0]._replace(confidence=Decimal("1.5"))
    with pytest.raises(RuleViolationError), chip_quality_db.mapped_errors():
        await defects.insert_defects(qconn, [rows[1], bad, rows[2]])
    assert await defects.count_defects(qconn, inspection_id=inspection.id) == 3


async def test_review_defect(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    defect = await make_defect(
        qconn, inspection_id=inspection.id, description="d", confidence=Decimal("0.5")
    )
    confirmed = await defects.review_defect(
        qconn,
        defects.ReviewDefectParams(
            defect_id=defect.id,
            review_status=DefectReviewStatus.CONFIRMED,
            reviewed_by="alice",
            reviewed_at=REVIEWED_AT,
        ),
    )
    assert confirmed is not None
    assert confirmed.review_status is DefectReviewStatus.CONFIRMED
    assert confirmed.reviewed_by == "alice"
    assert confirmed.reviewed_at == REVIEWED_AT
    assert is_aware(confirmed.reviewed_at)
    # Type and severity not given: unchanged.
    assert confirmed.defect_type is DefectType.SCRATCH
    assert confirmed.severity is DefectSeverity.LOW
    assert confirmed.description == "d"

    reclassified = await defects.review_defect(
        qconn,
        defects.ReviewDefectParams(
            defect_id=defect.id,
            review_status=DefectReviewStatus.RECLASSIFIED,
            reviewed_by="bob",
            reviewed_at=REVIEWED_AT,
            defect_type=DefectType.CRACK,
            severity=DefectSeverity.CRITICAL,
        ),
    )
    assert reclassified is not None
    assert reclassified.review_status is DefectReviewStatus.RECLASSIFIED
    assert reclassified.defect_type is DefectType.CRACK
    assert reclassified.severity is DefectSeverity.CRITICAL
    assert reclassified.reviewed_by == "bob"

    # Reviewed without a reviewer: the Params model refuses it by the row check...
    unreviewed = {
        "defect_id": defect.id,
        "review_status": DefectReviewStatus.FALSE_POSITIVE,
        "reviewed_by": None,
        "reviewed_at": REVIEWED_AT,
    }
    with pytest.raises(ValidationError, match="breaks defects_review_status_check"):
        defects.ReviewDefectParams(**unreviewed)
    # ... and the check constraint itself, when the model is built without validation.
    with pytest.raises(RuleViolationError), chip_quality_db.mapped_errors():
        await defects.review_defect(qconn, defects.ReviewDefectParams.model_construct(**unreviewed))

    missing = defects.ReviewDefectParams(
        defect_id=uuid.uuid4(),
        review_status=DefectReviewStatus.CONFIRMED,
        reviewed_by="alice",
        reviewed_at=REVIEWED_AT,
    )
    assert await defects.review_defect(qconn, missing) is None


async def test_update_defect_changes_only_given_fields(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    defect = await make_defect(
        qconn,
        inspection_id=inspection.id,
        location={"x": 1},
        confidence=Decimal("0.8000"),
        description="first",
    )
    updated = await defects.update_defect(
        qconn,
        defects.UpdateDefectParams(defect_id=defect.id, severity=DefectSeverity.HIGH),
    )
    assert updated is not None
    assert updated.severity is DefectSeverity.HIGH
    assert updated.defect_type is DefectType.SCRATCH
    assert updated.location == {"x": 1}
    assert updated.confidence == Decimal("0.8000")
    assert updated.description == "first"
    assert updated.detected_by == defect.detected_by

    again = await defects.update_defect(
        qconn,
        defects.UpdateDefectParams(
            defect_id=defect.id,
            defect_type=DefectType.VOID,
            location={"x": 2},
            confidence=Decimal("0.1"),
            description="second",
        ),
    )
    assert again is not None
    assert again.defect_type is DefectType.VOID
    assert again.severity is DefectSeverity.HIGH
    assert again.location == {"x": 2}
    assert again.confidence == Decimal("0.1000")
    assert again.description == "second"

    missing = defects.UpdateDefectParams(defect_id=uuid.uuid4(), description="x")
    assert await defects.update_defect(qconn, missing) is None


async def test_delete_defect(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    defect = await make_defect(qconn, inspection_id=inspection.id)
    assert await defects.delete_defect(qconn, defect_id=defect.id) == 1
    assert await defects.delete_defect(qconn, defect_id=defect.id) == 0
    assert await defects.get_defect(qconn, defect_id=defect.id) is None


async def test_list_defects_keyset_pagination(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    created = [await make_defect(qconn, inspection_id=inspection.id) for _ in range(7)]

    async def fetch(after_created_at: datetime | None, after_id: uuid.UUID | None) -> list[Defect]:
        return await defects.list_defects(
            qconn,
            inspection_id=inspection.id,
            after_created_at=after_created_at,
            after_id=after_id,
            page_size=3,
        )

    pages = await collect_pages(fetch, key=lambda d: (d.created_at, d.id), page_size=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    seen = [d.id for page in pages for d in page]
    assert seen == [d.id for d in sorted(created, key=lambda d: (d.created_at, d.id))]


async def test_list_and_count_defects_filters(qconn: asyncpg.Connection) -> None:
    _, lot, first = await make_inspection_chain(qconn)
    second = await make_inspection(qconn, lot_id=lot.id)
    a = await make_defect(qconn, inspection_id=first.id, severity=DefectSeverity.LOW)
    b = await make_defect(qconn, inspection_id=first.id, severity=DefectSeverity.CRITICAL)
    c = await make_defect(qconn, inspection_id=second.id, severity=DefectSeverity.CRITICAL)

    listed = await defects.list_defects(qconn, page_size=10)
    assert [d.id for d in listed] == [a.id, b.id, c.id]
    of_first = await defects.list_defects(qconn, inspection_id=first.id, page_size=10)
    assert [d.id for d in of_first] == [a.id, b.id]
    critical = await defects.list_defects(qconn, severity=DefectSeverity.CRITICAL, page_size=10)
    assert [d.id for d in critical] == [b.id, c.id]
    both = await defects.list_defects(
        qconn, inspection_id=second.id, severity=DefectSeverity.CRITICAL, page_size=10
    )
    assert [d.id for d in both] == [c.id]

    assert await defects.count_defects(qconn) == 3
    assert await defects.count_defects(qconn, inspection_id=first.id) == 2
    assert await defects.count_defects(qconn, severity=DefectSeverity.CRITICAL) == 2
    assert (
        await defects.count_defects(qconn, inspection_id=first.id, severity=DefectSeverity.MEDIUM)
        == 0
    )


async def test_defects_of_lot(qconn: asyncpg.Connection) -> None:
    part, lot, first = await make_inspection_chain(qconn)
    second = await make_inspection(qconn, lot_id=lot.id)
    other_lot = await make_lot(qconn, part_id=part.id)
    elsewhere = await make_inspection(qconn, lot_id=other_lot.id)
    a = await make_defect(qconn, inspection_id=first.id)
    b = await make_defect(qconn, inspection_id=second.id)
    c = await make_defect(qconn, inspection_id=first.id)
    await make_defect(qconn, inspection_id=elsewhere.id)

    found = await defects.defects_of_lot(qconn, lot_id=lot.id)
    assert [d.id for d in found] == [a.id, b.id, c.id]
    assert all(isinstance(d, Defect) for d in found)
    assert await defects.defects_of_lot(qconn, lot_id=uuid.uuid4()) == []


async def test_the_iterators_stream_what_the_fetching_functions_return(
    qconn: asyncpg.Connection,
) -> None:
    _, lot, first = await make_inspection_chain(qconn)
    second = await make_inspection(qconn, lot_id=lot.id)
    for inspection in (first, second, first, second, first):
        await make_defect(qconn, inspection_id=inspection.id)
    async with qconn.transaction():  # a server-side cursor lives in a transaction
        streamed = [d async for d in defects.iter_defects_of_lot(qconn, lot_id=lot.id, prefetch=2)]
        listed = [
            d
            async for d in defects.iter_list_defects(
                qconn, inspection_id=first.id, page_size=10, prefetch=2
            )
        ]
    assert streamed == await defects.defects_of_lot(qconn, lot_id=lot.id)
    assert len(streamed) == 5 and all(isinstance(d, Defect) for d in streamed)
    assert listed == await defects.list_defects(qconn, inspection_id=first.id, page_size=10)
    assert [d.inspection_id for d in listed] == [first.id] * 3


async def test_defect_pareto_of_lot(qconn: asyncpg.Connection) -> None:
    part, lot, first = await make_inspection_chain(qconn)
    second = await make_inspection(qconn, lot_id=lot.id)
    other_lot = await make_lot(qconn, part_id=part.id)
    elsewhere = await make_inspection(qconn, lot_id=other_lot.id)

    def rows(
        inspection_id: uuid.UUID, defect_type: DefectType, severity: DefectSeverity, n: int
    ) -> list[defects.IngestDefectsParams]:
        return [
            defects.IngestDefectsParams(
                inspection_id, defect_type, severity, {}, None, None, "operator:op-1"
            )
            for _ in range(n)
        ]

    batch = (
        rows(first.id, DefectType.SCRATCH, DefectSeverity.LOW, 3)
        + rows(second.id, DefectType.SCRATCH, DefectSeverity.LOW, 2)
        + rows(first.id, DefectType.VOID, DefectSeverity.HIGH, 2)
        + rows(second.id, DefectType.SCRATCH, DefectSeverity.HIGH, 1)
        + rows(second.id, DefectType.SHORT, DefectSeverity.CRITICAL, 2)
        + rows(elsewhere.id, DefectType.SCRATCH, DefectSeverity.LOW, 9)
    )
    assert await defects.ingest_defects(qconn, batch) == 19

    pareto = await defects.defect_pareto_of_lot(qconn, lot_id=lot.id)
    assert all(isinstance(r, defects.DefectParetoOfLotRow) for r in pareto)
    assert [(r.defect_type, r.severity, r.defect_count) for r in pareto] == [
        (DefectType.SCRATCH, DefectSeverity.LOW, 5),
        # Ties: by defect type in enum order (void before short), then severity.
        (DefectType.VOID, DefectSeverity.HIGH, 2),
        (DefectType.SHORT, DefectSeverity.CRITICAL, 2),
        (DefectType.SCRATCH, DefectSeverity.HIGH, 1),
    ]
    assert pareto[0].defect_type is DefectType.SCRATCH
    assert pareto[0].severity is DefectSeverity.LOW
    assert type(pareto[0].defect_count) is int
    assert await defects.defect_pareto_of_lot(qconn, lot_id=uuid.uuid4()) == []
