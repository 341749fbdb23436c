"""The result cache on a cluster handle with a streaming standby: a hit costs no
server, and a miss after another writer's notification reads at or past the WAL
position the listener read after it, so a standby that has not replayed the write
is not asked (docs/caching.md, "With replicas")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import asyncpg

from chip_quality_db import enable_cache
from chip_quality_db._cache import QueryCache
from chip_quality_dev.cluster import ClusterUrls
from chip_quality_queries import parts
from chip_quality_queries.models import PartType

from .test_routing import open_handle


async def eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.005)


def heard(cache: QueryCache, table: str) -> int:
    return sum(1 for _, name in cache.heard if name == table)


async def test_a_miss_after_a_notification_does_not_read_a_standby_behind_it(
    fresh_cluster_urls: ClusterUrls,
) -> None:
    urls = fresh_cluster_urls
    db = await open_handle(urls)
    cache = await enable_cache(db)
    standby = await asyncpg.connect(urls.replica)
    try:
        before = heard(cache, "parts")
        await parts.create_part(
            db,
            parts.CreatePartParams(part_number="P-REP-1", part_name="old", part_type=PartType.PCB),
        )
        # Heard, and the position after it read: a result read meanwhile is not kept.
        await eventually(lambda: heard(cache, "parts") > before and not cache._floor_pending)
        first = await parts.get_part_by_number(db, part_number="P-REP-1")
        again = await parts.get_part_by_number(db, part_number="P-REP-1")
        assert first is not None and again is first and cache.hits == 1
        # The standby stops replaying: from here on it holds the old name.
        await standby.execute("SELECT pg_wal_replay_pause()")
        before = heard(cache, "parts")
        writer = await asyncpg.connect(urls.primary)
        try:
            await writer.execute("UPDATE parts SET part_name = 'new' WHERE part_number = 'P-REP-1'")
        finally:
            await writer.close()
        # Heard, and the primary's position after it read: the floor of later misses.
        await eventually(lambda: heard(cache, "parts") > before and not cache._floor_pending)
        seen = await parts.get_part_by_number(db, part_number="P-REP-1")
        assert seen is not None and seen.part_name == "new"
        on_standby = await standby.fetchval(
            "SELECT part_name FROM parts WHERE part_number = 'P-REP-1'"
        )
        assert on_standby == "old"  # had the miss read the standby, it would have said so
        assert (cache.hits, cache.misses) == (1, 2)
    finally:
        await standby.execute("SELECT pg_wal_replay_resume()")
        await standby.close()
        await cache.close()
        await db.close()
