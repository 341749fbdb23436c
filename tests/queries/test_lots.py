"""Queries of lots.sql against a real database."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

import chip_quality_db
from chip_quality_db import MissingReferenceError, RuleViolationError, StillReferencedError
from chip_quality_queries import lots
from chip_quality_queries.models import Lot, LotStatus

from .factories import (
    collect_pages,
    finish_inspection,
    is_aware,
    make_inspection,
    make_lot,
    make_part,
)


async def test_create_lot_returns_typed_row_with_defaults(qconn: asyncpg.Connection) -> None:
    part = await make_part(qconn)
    lot = await lots.create_lot(
        qconn,
        lots.CreateLotParams(
            lot_number="LOT-2025-001",
            part_id=part.id,
            production_date=date(2025, 11, 3),
            batch_size=500,
            production_line="LINE-A",
        ),
    )
    assert isinstance(lot, Lot)
    assert lot.lot_number == "LOT-2025-001"
    assert lot.part_id == part.id
    assert lot.production_date == date(2025, 11, 3)
    assert type(lot.production_date) is date
    assert lot.batch_size == 500
    assert lot.status is LotStatus.ACTIVE
    assert lot.supplier is None
    assert (lot.quantity_inspected, lot.quantity_rejected) == (0, 0)
    assert lot.notes is None
    assert lot.metadata == {}
    assert is_aware(lot.created_at)
    assert is_aware(lot.updated_at)


async def test_create_lot_with_every_field(qconn: asyncpg.Connection) -> None:
    part = await make_part(qconn)
    lot = await make_lot(
        qconn,
        part_id=part.id,
        status=LotStatus.QUARANTINED,
        supplier="Wafer Co",
        notes="hold for review",
        metadata={"oven": {"profile": "P7", "peak_c": 245}},
    )
    assert lot.status is LotStatus.QUARANTINED
    assert lot.supplier == "Wafer Co"
    assert lot.notes == "hold for review"
    assert lot.metadata == {"oven": {"profile": "P7", "peak_c": 245}}


async def test_create_lot_of_missing_part_is_missing_reference(
    qconn: asyncpg.Connection,
) -> None:
    with pytest.raises(MissingReferenceError) as caught, chip_quality_db.mapped_errors():
        await make_lot(qconn, part_id=uuid.uuid4())
    assert caught.value.constraint == "lots_part_id_fkey"


async def test_get_lot_and_by_number(qconn: asyncpg.Connection) -> None:
    part = await make_part(qconn)
    lot = await make_lot(qconn, part_id=part.id, lot_number="LOT-GET-1")
    assert await lots.get_lot(qconn, lot_id=lot.id) == lot
    assert await lots.get_lot_by_number(qconn, lot_number="LOT-GET-1") == lot
    assert await lots.get_lot(qconn, lot_id=uuid.uuid4()) is None
    assert await lots.get_lot_by_number(qconn, lot_number="LOT-NONE") is None


async def test_update_lot_changes_only_given_fields(qconn: asyncpg.Connection) -> None:
    part = await make_part(qconn)
    lot = await make_lot(
        qconn, part_id=part.id, supplier="Wafer Co", notes="first", metadata={"a": 1}
    )
    updated = await lots.update_lot(
        qconn,
        lots.UpdateLotParams(lot_id=lot.id, quantity_inspected=40, quantity_rejected=3),
    )
    assert updated is not None
    assert (updated.quantity_inspected, updated.quantity_rejected) == (40, 3)
    assert updated.production_date == lot.production_date
    assert updated.batch_size == lot.batch_size
    assert updated.production_line == lot.production_line
    assert updated.status is LotStatus.ACTIVE
    assert updated.supplier == "Wafer Co"
    assert updated.notes == "first"
    assert updated.metadata == {"a": 1}
    assert updated.lot_number == lot.lot_number
    assert updated.created_at == lot.created_at

    again = await lots.update_lot(
        qconn,
        lots.UpdateLotParams(
            lot_id=lot.id,
            production_line="LINE-B",
            status=LotStatus.COMPLETED,
            metadata={"b": [1, 2]},
            production_date=date(2025, 11, 4),
        ),
    )
    assert again is not None
    assert again.production_line == "LINE-B"
    assert again.status is LotStatus.COMPLETED
    assert again.metadata == {"b": [1, 2]}
    assert again.production_date == date(2025, 11, 4)
    assert again.quantity_inspected == 40

    assert await lots.update_lot(qconn, lots.UpdateLotParams(lot_id=uuid.uuid4())) is None


async def test_update_lot_with_an_expected_version_changes_only_that_version(
    qconn: asyncpg.Connection,
) -> None:
    part = await make_part(qconn)
    lot = await make_lot(qconn, part_id=part.id)
    first = await lots.update_lot(
        qconn,
        lots.UpdateLotParams(lot_id=lot.id, notes="first", expected_updated_at=lot.updated_at),
    )
    assert first is not None and first.notes == "first"
    assert first.updated_at > lot.updated_at
    # The version read before that change no longer matches: nothing is written.
    stale = await lots.update_lot(
        qconn,
        lots.UpdateLotParams(lot_id=lot.id, notes="stale", expected_updated_at=lot.updated_at),
    )
    assert stale is None
    assert (await lots.get_lot(qconn, lot_id=lot.id)) == first


async def test_update_lot_breaking_a_rule_is_rule_violation(qconn: asyncpg.Connection) -> None:
    part = await make_part(qconn)
    lot = await make_lot(qconn, part_id=part.id, batch_size=10)
    with pytest.raises(RuleViolationError) as caught, chip_quality_db.mapped_errors():
        await lots.update_lot(qconn, lots.UpdateLotParams(lot_id=lot.id, quantity_inspected=11))
    assert caught.value.constraint == "lots_quantity_inspected_check"


async def test_set_lot_status(qconn: asyncpg.Connection) -> None:
    part = await make_part(qconn)
    lot = await make_lot(qconn, part_id=part.id, notes="n")
    quarantined = await lots.set_lot_status(qconn, status=LotStatus.QUARANTINED, lot_id=lot.id)
    assert quarantined is not None
    assert quarantined.status is LotStatus.QUARANTINED
    assert quarantined.notes == "n"
    released = await lots.set_lot_status(qconn, status=LotStatus.RELEASED, lot_id=lot.id)
    assert released is not None
    assert released.status is LotStatus.RELEASED
    fetched = await lots.get_lot(qconn, lot_id=lot.id)
    assert fetched is not None
    assert fetched.status is LotStatus.RELEASED
    assert await lots.set_lot_status(qconn, status=LotStatus.REJECTED, lot_id=uuid.uuid4()) is None


async def test_delete_lot(qconn: asyncpg.Connection) -> None:
    part = await make_part(qconn)
    lot = await make_lot(qconn, part_id=part.id)
    assert await lots.delete_lot(qconn, lot_id=lot.id) == 1
    assert await lots.delete_lot(qconn, lot_id=lot.id) == 0
    assert await lots.get_lot(qconn, lot_id=lot.id) is None


async def test_delete_lot_with_inspections_is_still_referenced(
    qconn: asyncpg.Connection,
) -> None:
    part = await make_part(qconn)
    lot = await make_lot(qconn, part_id=part.id)
    await make_inspection(qconn, lot_id=lot.id)
    with pytest.raises(StillReferencedError) as caught:
        async with chip_quality_db.transaction(qconn, actor="alice") as conn:
            await lots.delete_lot(conn, lot_id=lot.id)
    assert caught.value.constraint == "inspections_lot_id_fkey"
    assert await lots.get_lot(qconn, lot_id=lot.id) is not None


async def test_list_lots_keyset_pagination(qconn: asyncpg.Connection) -> None:
    part = await make_part(qconn)
    other = await make_part(qconn)
    created = [await make_lot(qconn, part_id=part.id) for _ in range(7)]
    await make_lot(qconn, part_id=other.id)

    async def fetch(after_created_at: datetime | None, after_id: uuid.UUID | None) -> list[Lot]:
        return await lots.list_lots(
            qconn,
            lots.ListLotsParams(
                part_id=part.id,
                after_created_at=after_created_at,
                after_id=after_id,
                page_size=3,
            ),
        )

    pages = await collect_pages(fetch, key=lambda lot: (lot.created_at, lot.id), page_size=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    seen = [lot.id for page in pages for lot in page]
    assert seen == [lot.id for lot in sorted(created, key=lambda lot: (lot.created_at, lot.id))]


async def test_list_and_count_lots_filters(qconn: asyncpg.Connection) -> None:
    part = await make_part(qconn)
    other = await make_part(qconn)
    a = await make_lot(qconn, part_id=part.id, production_line="LINE-A")
    b = await make_lot(qconn, part_id=part.id, production_line="LINE-B")
    c = await make_lot(
        qconn, part_id=other.id, production_line="LINE-A", status=LotStatus.QUARANTINED
    )

    async def ids(**filters: Any) -> list[uuid.UUID]:
        params = lots.ListLotsParams(page_size=50, **filters)
        return [lot.id for lot in await lots.list_lots(qconn, params)]

    assert await ids() == [a.id, b.id, c.id]
    assert await ids(part_id=part.id) == [a.id, b.id]
    assert await ids(production_line="LINE-A") == [a.id, c.id]
    assert await ids(status=LotStatus.QUARANTINED) == [c.id]
    assert await ids(part_id=part.id, production_line="LINE-B") == [b.id]
    assert await ids(part_id=other.id, status=LotStatus.ACTIVE) == []

    assert await lots.count_lots(qconn) == 3
    assert await lots.count_lots(qconn, part_id=part.id) == 2
    assert await lots.count_lots(qconn, status=LotStatus.ACTIVE) == 2
    assert await lots.count_lots(qconn, part_id=other.id, status=LotStatus.QUARANTINED) == 1
    assert await lots.count_lots(qconn, part_id=uuid.uuid4()) == 0


async def test_lots_of_part_by_status(qconn: asyncpg.Connection) -> None:
    part = await make_part(qconn)
    other = await make_part(qconn)
    old = await make_lot(
        qconn, part_id=part.id, lot_number="LOT-B", production_date=date(2025, 1, 1)
    )
    new_b = await make_lot(
        qconn, part_id=part.id, lot_number="LOT-D", production_date=date(2025, 6, 1)
    )
    new_a = await make_lot(
        qconn,
        part_id=part.id,
        lot_number="LOT-C",
        production_date=date(2025, 6, 1),
        status=LotStatus.QUARANTINED,
    )
    await make_lot(
        qconn,
        part_id=part.id,
        lot_number="LOT-E",
        production_date=date(2025, 7, 1),
        status=LotStatus.REJECTED,
    )
    await make_lot(qconn, part_id=other.id, lot_number="LOT-A")

    found = await lots.lots_of_part_by_status(
        qconn, part_id=part.id, statuses=[LotStatus.ACTIVE, LotStatus.QUARANTINED]
    )
    # Newest production first, then by lot number.
    assert [lot.id for lot in found] == [new_a.id, new_b.id, old.id]
    assert {lot.status for lot in found} == {LotStatus.ACTIVE, LotStatus.QUARANTINED}

    rejected = await lots.lots_of_part_by_status(
        qconn, part_id=part.id, statuses=[LotStatus.REJECTED]
    )
    assert [lot.lot_number for lot in rejected] == ["LOT-E"]
    assert await lots.lots_of_part_by_status(qconn, part_id=part.id, statuses=[]) == []


async def test_lot_yield(qconn: asyncpg.Connection) -> None:
    part = await make_part(qconn)
    lot = await make_lot(qconn, part_id=part.id)

    empty = await lots.lot_yield(qconn, lot_id=lot.id)
    assert empty is not None
    assert (empty.passed, empty.failed, empty.undecided) == (0, 0, 0)
    assert empty.yield_ratio is None

    pending = await make_inspection(qconn, lot_id=lot.id)
    undecided = await lots.lot_yield(qconn, lot_id=lot.id)
    assert undecided is not None
    assert (undecided.passed, undecided.failed, undecided.undecided) == (0, 0, 1)
    assert undecided.yield_ratio is None  # nothing decided yet

    for passed in (True, True, True, False):
        inspection = await make_inspection(qconn, lot_id=lot.id)
        await finish_inspection(qconn, inspection.id, passed=passed)
    # Another lot's inspections do not count.
    other = await make_lot(qconn, part_id=part.id)
    await finish_inspection(qconn, (await make_inspection(qconn, lot_id=other.id)).id, passed=False)

    result = await lots.lot_yield(qconn, lot_id=lot.id)
    assert result is not None
    assert (result.passed, result.failed, result.undecided) == (3, 1, 1)
    assert isinstance(result.yield_ratio, Decimal)
    assert result.yield_ratio == Decimal("0.7500")
    assert pending.passed is None

    thirds = await make_lot(qconn, part_id=part.id)
    for passed in (True, False, False):
        inspection = await make_inspection(qconn, lot_id=thirds.id)
        await finish_inspection(qconn, inspection.id, passed=passed)
    third = await lots.lot_yield(qconn, lot_id=thirds.id)
    assert third is not None
    assert third.yield_ratio == Decimal("0.3333")

    unknown = await lots.lot_yield(qconn, lot_id=uuid.uuid4())
    assert unknown is not None  # an aggregate always has a row
    assert (unknown.passed, unknown.failed, unknown.undecided, unknown.yield_ratio) == (
        0,
        0,
        0,
        None,
    )
