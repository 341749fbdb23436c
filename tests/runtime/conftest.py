"""A pool on a fresh migrated database, made the way services make theirs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chip_quality_db import Pool, create_pool, load_settings


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[Pool]:
    pool = await create_pool(load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=3))
    yield pool
    await pool.close()


async def make_part(conn: object, number: str = "PCB-T-001") -> object:
    from chip_quality_queries import parts
    from chip_quality_queries.models import PartType

    return await parts.create_part(
        conn,  # type: ignore[arg-type]
        parts.CreatePartParams(part_number=number, part_name="Test", part_type=PartType.PCB),
    )
