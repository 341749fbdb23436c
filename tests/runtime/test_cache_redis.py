"""The result cache kept in Redis and shared by several processes (issue 27, part 4),
against a real redis-server the tests start on a port of their own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from chip_quality_db import Pool, QueryCache, create_pool, enable_cache, load_settings, transaction
from chip_quality_db._shared_rows import ReadOnlyDict
from chip_quality_dev.redis_server import redis_server
from chip_quality_queries import parts
from chip_quality_queries.models import PartType


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("redis")
    with redis_server(folder) as url:
        yield url


async def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.002)


@pytest.fixture
async def two_processes(
    db_url: str, redis_url: str
) -> AsyncIterator[tuple[tuple[Pool, QueryCache], tuple[Pool, QueryCache]]]:
    """Two pools with their own caches on one Redis: what two worker processes have."""
    settings = load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1, DB_CACHE_REDIS_URL=redis_url)
    first = await create_pool(settings)
    second = await create_pool(settings)
    first_cache, second_cache = await enable_cache(first), await enable_cache(second)
    yield (first, first_cache), (second, second_cache)
    for cache in (first_cache, second_cache):
        await cache.close()
    for pool in (first, second):
        await pool.close()


async def new_part(pool: Pool, caches: tuple[QueryCache, ...]) -> parts.Part:
    """A new part, once every cache heard of it and advanced the version in Redis."""
    before = [cache.invalidations for cache in caches]
    part = await parts.create_part(
        pool, parts.CreatePartParams(part_number="P-R-1", part_name="one", part_type=PartType.PCB)
    )
    for cache, count in zip(caches, before, strict=True):
        await eventually(lambda cache=cache, count=count: cache.invalidations >= count + 2)
    await asyncio.sleep(0.05)  # the increments in Redis follow the notifications
    return part


async def test_what_one_process_stored_another_serves(two_processes) -> None:  # type: ignore[no-untyped-def]
    (first, first_cache), (second, second_cache) = two_processes
    await new_part(first, (first_cache, second_cache))
    stored = await parts.get_part_by_number(first, part_number="P-R-1")
    await first_cache.settled()  # the entry is written to Redis after the call returns
    served = await parts.get_part_by_number(second, part_number="P-R-1")
    assert stored == served
    assert (first_cache.misses, second_cache.hits, second_cache.misses) == (1, 1, 0)
    # Read-only as the in-process cache's rows: a marked query's rows behave alike.
    for row in (stored, served):
        assert row is not None and isinstance(row.specifications, ReadOnlyDict)


async def test_a_write_in_one_process_is_never_served_stale_by_it_or_after_by_others(
    two_processes,
    db_url: str,  # type: ignore[no-untyped-def]
) -> None:
    (first, first_cache), (second, second_cache) = two_processes
    part = await new_part(first, (first_cache, second_cache))
    await parts.get_part_by_number(second, part_number="P-R-1")
    await parts.update_part(first, parts.UpdatePartParams(part_id=part.id, part_name="two"))
    mine = await parts.get_part_by_number(first, part_number="P-R-1")
    assert mine is not None and mine.part_name == "two"  # its own write: no window
    async with transaction(first) as conn:
        await conn.execute("UPDATE parts SET part_name = 'three' WHERE part_number = 'P-R-1'")
    mine = await parts.get_part_by_number(first, part_number="P-R-1")
    assert mine is not None and mine.part_name == "three"
    theirs = await parts.get_part_by_number(second, part_number="P-R-1")
    assert theirs is not None and theirs.part_name == "three"


async def test_plain_sql_elsewhere_invalidates_every_process(
    two_processes,
    db_url: str,  # type: ignore[no-untyped-def]
) -> None:
    (first, first_cache), (second, second_cache) = two_processes
    await new_part(first, (first_cache, second_cache))
    await parts.get_part_by_number(first, part_number="P-R-1")
    before = second_cache.invalidations
    other = await asyncpg.connect(db_url)
    try:
        await other.execute("UPDATE parts SET part_name = 'psql' WHERE part_number = 'P-R-1'")
    finally:
        await other.close()
    await eventually(lambda: second_cache.invalidations > before)
    await asyncio.sleep(0.05)  # the version's increment in Redis follows the notification
    for pool in (first, second):
        seen = await parts.get_part_by_number(pool, part_number="P-R-1")
        assert seen is not None and seen.part_name == "psql"


async def test_a_listener_coming_back_drops_every_process_entries(
    two_processes,
    db_url: str,  # type: ignore[no-untyped-def]
) -> None:
    (first, first_cache), (_, second_cache) = two_processes
    await new_part(first, (first_cache, second_cache))
    await parts.get_part_by_number(first, part_number="P-R-1")
    await first_cache.settled()
    pid = second_cache.listener_pid()
    other = await asyncpg.connect(db_url)
    try:
        await other.execute("SELECT pg_terminate_backend($1)", pid)
        await eventually(lambda: not second_cache.listening, within=2.0)
        await eventually(lambda: second_cache.listening, within=10.0)
    finally:
        await other.close()
    misses = first_cache.misses
    await parts.get_part_by_number(first, part_number="P-R-1")
    assert first_cache.misses == misses + 1  # the epoch moved: the first's entry is gone
