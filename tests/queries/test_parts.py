"""Queries of parts.sql against a real database."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import pytest

import chip_quality_db
from chip_quality_db import AlreadyExistsError, StillReferencedError, transaction
from chip_quality_queries import parts
from chip_quality_queries.models import Part, PartType

from .factories import collect_pages, is_aware, make_lot, make_part


async def test_create_part_returns_typed_row_with_defaults(qconn: asyncpg.Connection) -> None:
    part = await parts.create_part(
        qconn,
        parts.CreatePartParams(
            part_number="PCB-2025-001",
            part_name="High-Density PCB",
            part_type=PartType.PCB,
            specifications={"layers": 8, "thickness": "1.6mm", "finish": {"type": "ENIG"}},
        ),
    )
    assert isinstance(part, Part)
    assert isinstance(part.id, uuid.UUID)
    assert part.part_number == "PCB-2025-001"
    assert part.part_type is PartType.PCB
    assert part.revision == "A"  # the query's default
    assert part.manufacturer is None
    assert part.description is None
    assert part.specifications == {"layers": 8, "thickness": "1.6mm", "finish": {"type": "ENIG"}}
    assert isinstance(part.specifications, dict)
    assert part.tolerance_requirements == {}
    assert part.is_active is True
    assert is_aware(part.created_at)
    assert is_aware(part.updated_at)


async def test_create_part_with_every_field(qconn: asyncpg.Connection) -> None:
    part = await make_part(
        qconn,
        part_number="SC-7NM-1",
        part_name="Logic die",
        part_type=PartType.SEMICONDUCTOR,
        revision="B2",
        manufacturer="Acme Fab",
        description="7 nm logic",
        tolerance_requirements={"dimensional": "±0.1mm"},
    )
    assert part.part_type is PartType.SEMICONDUCTOR
    assert (part.revision, part.manufacturer, part.description) == ("B2", "Acme Fab", "7 nm logic")
    assert part.tolerance_requirements == {"dimensional": "±0.1mm"}


async def test_duplicate_part_number_is_already_exists(qconn: asyncpg.Connection) -> None:
    await make_part(qconn, part_number="PCB-DUP-1")
    with pytest.raises(AlreadyExistsError) as caught, chip_quality_db.mapped_errors():
        await make_part(qconn, part_number="PCB-DUP-1")
    assert caught.value.column == "part_number"
    assert caught.value.constraint == "parts_part_number_key"


async def test_get_part_and_by_number(qconn: asyncpg.Connection) -> None:
    part = await make_part(qconn, part_number="PCB-GET-1")
    assert await parts.get_part(qconn, part_id=part.id) == part
    assert await parts.get_part_by_number(qconn, part_number="PCB-GET-1") == part
    assert await parts.get_part(qconn, part_id=uuid.uuid4()) is None
    assert await parts.get_part_by_number(qconn, part_number="PCB-NONE-1") is None


async def test_update_part_changes_only_given_fields(qconn: asyncpg.Connection) -> None:
    part = await make_part(
        qconn,
        part_name="Old name",
        manufacturer="Acme",
        description="keep me",
        specifications={"layers": 4},
    )
    updated = await parts.update_part(
        qconn,
        parts.UpdatePartParams(part_id=part.id, part_name="New name", is_active=False),
    )
    assert updated is not None
    assert updated.part_name == "New name"
    assert updated.is_active is False
    # Not given: unchanged.
    assert updated.part_type is PartType.PCB
    assert updated.revision == part.revision
    assert updated.manufacturer == "Acme"
    assert updated.description == "keep me"
    assert updated.specifications == {"layers": 4}
    assert updated.tolerance_requirements == {}
    assert updated.created_at == part.created_at
    assert updated.updated_at >= part.updated_at

    again = await parts.update_part(
        qconn,
        parts.UpdatePartParams(
            part_id=part.id, part_type=PartType.ASSEMBLY, specifications={"layers": 6}
        ),
    )
    assert again is not None
    assert again.part_type is PartType.ASSEMBLY
    assert again.specifications == {"layers": 6}
    assert again.part_name == "New name"
    assert again.is_active is False

    missing = parts.UpdatePartParams(part_id=uuid.uuid4(), part_name="x")
    assert await parts.update_part(qconn, missing) is None


async def test_delete_part_returns_rows_deleted(qconn: asyncpg.Connection) -> None:
    part = await make_part(qconn)
    assert await parts.delete_part(qconn, part_id=part.id) == 1
    assert await parts.delete_part(qconn, part_id=part.id) == 0
    assert await parts.get_part(qconn, part_id=part.id) is None


async def test_delete_part_with_an_expected_version_deletes_only_that_version(
    qconn: asyncpg.Connection,
) -> None:
    part = await make_part(qconn)
    changed = await parts.update_part(qconn, parts.UpdatePartParams(part_id=part.id, revision="B"))
    assert changed is not None and changed.updated_at > part.updated_at
    assert await parts.delete_part(qconn, part_id=part.id, expected_updated_at=part.updated_at) == 0
    assert await parts.get_part(qconn, part_id=part.id) == changed
    assert (
        await parts.delete_part(qconn, part_id=part.id, expected_updated_at=changed.updated_at) == 1
    )


async def test_delete_part_with_lots_is_still_referenced(
    qconn: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    part = await make_part(qconn)
    await make_lot(qconn, part_id=part.id)

    with pytest.raises(StillReferencedError) as caught, chip_quality_db.mapped_errors():
        await parts.delete_part(qconn, part_id=part.id)
    assert caught.value.constraint == "lots_part_id_fkey"

    with pytest.raises(StillReferencedError):
        async with transaction(qconn, actor="alice") as conn:
            await parts.delete_part(conn, part_id=part.id)

    with pytest.raises(StillReferencedError):
        async with transaction(pool, actor="alice") as conn:
            await parts.delete_part(conn, part_id=part.id)

    assert await parts.get_part(qconn, part_id=part.id) is not None


async def test_list_parts_keyset_pagination(qconn: asyncpg.Connection) -> None:
    created = [await make_part(qconn) for _ in range(7)]

    async def fetch(after_created_at: datetime | None, after_id: uuid.UUID | None) -> list[Part]:
        return await parts.list_parts(
            qconn, after_created_at=after_created_at, after_id=after_id, page_size=3
        )

    pages = await collect_pages(fetch, key=lambda p: (p.created_at, p.id), page_size=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    seen = [p.id for page in pages for p in page]
    assert seen == [p.id for p in sorted(created, key=lambda p: (p.created_at, p.id))]
    assert len(set(seen)) == 7


async def test_list_parts_pagination_breaks_created_at_ties_by_id(
    qconn: asyncpg.Connection,
) -> None:
    # One transaction: every row has the same created_at (now()), only id orders them.
    async with qconn.transaction():
        created = [await make_part(qconn) for _ in range(7)]
    assert len({p.created_at for p in created}) == 1

    async def fetch(after_created_at: datetime | None, after_id: uuid.UUID | None) -> list[Part]:
        return await parts.list_parts(
            qconn, after_created_at=after_created_at, after_id=after_id, page_size=3
        )

    pages = await collect_pages(fetch, key=lambda p: (p.created_at, p.id), page_size=3)
    assert [p.id for page in pages for p in page] == sorted(p.id for p in created)


async def test_list_and_count_parts_filters(qconn: asyncpg.Connection) -> None:
    pcb = await make_part(qconn, part_type=PartType.PCB)
    await make_part(qconn, part_type=PartType.PCB)
    wafer = await make_part(qconn, part_type=PartType.WAFER)
    await parts.update_part(qconn, parts.UpdatePartParams(part_id=pcb.id, is_active=False))

    pcbs = await parts.list_parts(qconn, part_type=PartType.PCB, page_size=10)
    assert len(pcbs) == 2
    assert all(p.part_type is PartType.PCB for p in pcbs)
    wafers = await parts.list_parts(qconn, part_type=PartType.WAFER, page_size=10)
    assert [p.id for p in wafers] == [wafer.id]
    inactive = await parts.list_parts(qconn, is_active=False, page_size=10)
    assert [p.id for p in inactive] == [pcb.id]
    active_pcbs = await parts.list_parts(
        qconn, part_type=PartType.PCB, is_active=True, page_size=10
    )
    assert len(active_pcbs) == 1
    assert active_pcbs[0].id != pcb.id
    assert await parts.list_parts(qconn, part_type=PartType.ASSEMBLY, page_size=10) == []

    assert await parts.count_parts(qconn) == 3
    assert await parts.count_parts(qconn, part_type=PartType.PCB) == 2
    assert await parts.count_parts(qconn, is_active=False) == 1
    assert await parts.count_parts(qconn, part_type=PartType.WAFER, is_active=True) == 1
    assert await parts.count_parts(qconn, part_type=PartType.COMPONENT) == 0


async def test_search_parts_by_specification_is_containment(qconn: asyncpg.Connection) -> None:
    eight = await make_part(
        qconn, part_number="PCB-B", specifications={"layers": 8, "finish": {"type": "ENIG"}}
    )
    eight_hasl = await make_part(
        qconn, part_number="PCB-A", specifications={"layers": 8, "finish": {"type": "HASL"}}
    )
    await make_part(qconn, part_number="PCB-C", specifications={"layers": 4})
    await make_part(qconn, part_number="PCB-D")

    found = await parts.search_parts_by_specification(
        qconn, specification={"layers": 8}, page_size=10
    )
    assert [p.id for p in found] == [eight_hasl.id, eight.id]  # ordered by part_number

    nested = await parts.search_parts_by_specification(
        qconn, specification={"finish": {"type": "ENIG"}}, page_size=10
    )
    assert [p.id for p in nested] == [eight.id]

    assert (
        await parts.search_parts_by_specification(
            qconn, specification={"layers": 8, "finish": {"type": "OSP"}}, page_size=10
        )
        == []
    )
    limited = await parts.search_parts_by_specification(
        qconn, specification={"layers": 8}, page_size=1
    )
    assert [p.part_number for p in limited] == ["PCB-A"]
    everything = await parts.search_parts_by_specification(qconn, specification={}, page_size=10)
    assert len(everything) == 4
