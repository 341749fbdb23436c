"""Quick builders of valid rows through the generated queries.

Each takes an executor and keyword overrides of the create parameters; what is
not given gets a valid, unique value. A missing parent is not created for you:
pass `part_id`, `lot_id` or `inspection_id` (see `make_inspection_chain`).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID

from chip_quality_queries import Executor, inference_jobs, inspections, lots, parts
from chip_quality_queries.models import (
    InferenceJob,
    Inspection,
    InspectionType,
    Lot,
    Part,
    PartType,
)

T = TypeVar("T")

_serial = itertools.count(1)


def serial() -> int:
    """A number not used before in this test session."""
    return next(_serial)


def checksum(content: str) -> str:
    """The SHA-256 of a text, as the artifacts table stores it."""
    return hashlib.sha256(content.encode()).hexdigest()


def is_aware(value: datetime | None) -> bool:
    return value is not None and value.tzinfo is not None and value.utcoffset() is not None


NOW = datetime(2025, 11, 3, 8, 0, tzinfo=UTC)


async def make_part(db: Executor, **overrides: Any) -> Part:
    values: dict[str, Any] = {
        "part_number": f"PCB-T{serial()}",
        "part_name": "Test board",
        "part_type": PartType.PCB,
    }
    values.update(overrides)
    part = await parts.create_part(db, parts.CreatePartParams(**values))
    assert part is not None
    return part


async def make_lot(db: Executor, *, part_id: UUID, **overrides: Any) -> Lot:
    values: dict[str, Any] = {
        "lot_number": f"LOT-T{serial()}",
        "part_id": part_id,
        "production_date": date(2025, 11, 3),
        "batch_size": 100,
        "production_line": "LINE-A",
    }
    values.update(overrides)
    lot = await lots.create_lot(db, lots.CreateLotParams(**values))
    assert lot is not None
    return lot


async def make_inspection(db: Executor, *, lot_id: UUID, **overrides: Any) -> Inspection:
    values: dict[str, Any] = {"lot_id": lot_id, "inspection_type": InspectionType.VISUAL}
    values.update(overrides)
    inspection = await inspections.create_inspection(
        db, inspections.CreateInspectionParams(**values)
    )
    assert inspection is not None
    return inspection


async def make_inspection_chain(db: Executor) -> tuple[Part, Lot, Inspection]:
    """A part, a lot of it and a pending inspection of the lot."""
    part = await make_part(db)
    lot = await make_lot(db, part_id=part.id)
    inspection = await make_inspection(db, lot_id=lot.id)
    return part, lot, inspection


async def finish_inspection(db: Executor, inspection_id: UUID, *, passed: bool) -> Inspection:
    """Start and complete an inspection with this verdict."""
    started = await inspections.start_inspection(db, started_at=NOW, inspection_id=inspection_id)
    assert started is not None
    done = await inspections.complete_inspection(
        db, completed_at=NOW, passed=passed, inspection_id=inspection_id
    )
    assert done is not None
    return done


async def make_job(db: Executor, *, inspection_id: UUID, **overrides: Any) -> InferenceJob:
    values: dict[str, Any] = {
        "inspection_id": inspection_id,
        "model_name": "defect-detector",
        "model_version": "2.3.1",
    }
    values.update(overrides)
    job = await inference_jobs.create_inference_job(
        db, inference_jobs.CreateInferenceJobParams(**values)
    )
    assert job is not None
    return job


async def collect_pages(
    fetch: Callable[[datetime | None, UUID | None], Awaitable[list[T]]],
    *,
    key: Callable[[T], tuple[datetime, UUID]],
    page_size: int,
) -> list[list[T]]:
    """Every page of a keyset-paginated query: `fetch(after_created_at, after_id)`,
    called with the key of the last row of the page before, until a short page."""
    pages: list[list[T]] = []
    after: tuple[datetime, UUID] | tuple[None, None] = (None, None)
    while True:
        page = await fetch(*after)
        assert len(page) <= page_size
        pages.append(page)
        if len(page) < page_size:
            return pages
        after = key(page[-1])
        assert len(pages) < 100, "pagination does not end"
