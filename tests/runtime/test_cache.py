"""The query result cache (issue 27): what it serves, what makes it stop serving, its
bounds and counters. The proof under interleaved writers is test_cache_property.py."""

from __future__ import annotations

import asyncio
import copy
import pickle
import time
from collections.abc import AsyncIterator, Callable
from uuid import UUID

import asyncpg
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import ValidationError

from chip_quality_db import (
    Pool,
    QueryCache,
    create_database,
    create_pool,
    enable_cache,
    health_check,
    load_settings,
    transaction,
)
from chip_quality_db._cache import CACHED_QUERIES, WRITES
from chip_quality_db._shared_rows import (
    NotShareableError,
    ReadOnlyDict,
    ReadOnlyList,
    read_only,
    size_of,
)
from chip_quality_queries import analytics, parts
from chip_quality_queries.models import Part, PartType


async def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.002)


@pytest.fixture
async def cached_pool(db_url: str) -> AsyncIterator[tuple[Pool, QueryCache]]:
    pool = await create_pool(load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=2, DB_MAX_OVERFLOW=2))
    cache = await enable_cache(pool)
    yield pool, cache
    await cache.close()
    await pool.close()


async def new_part(pool: Pool, number: str = "P-CACHE-1", name: str = "first") -> Part:
    """A new part, once the cache (if any) heard of it: its own notification, arriving
    after the write returned, would otherwise turn a later hit into a miss."""
    cache: QueryCache | None = getattr(pool, "result_cache", None)
    before = heard_count(cache, "parts") if cache else 0
    part = await parts.create_part(
        pool,
        parts.CreatePartParams(part_number=number, part_name=name, part_type=PartType.PCB),
    )
    if cache is not None:
        await heard(cache, "parts", before)
    return part


async def heard(cache: QueryCache, table: str, before: int) -> None:
    await eventually(lambda: sum(1 for _, t in cache.heard if t == table) > before)


def heard_count(cache: QueryCache, table: str) -> int:
    return sum(1 for _, t in cache.heard if t == table)


def test_the_catalog_names_every_marked_query_and_what_writes_write() -> None:
    assert {q.name for q in CACHED_QUERIES.values()} == {
        "GetPartByNumber",
        "GetLotByNumber",
        "LotYieldsOfLots",
        "DefectParetoOfPart",
        "InferenceLatencyByModelVersion",
        "AnalyticsRefreshes",
    }
    assert CACHED_QUERIES[parts.GET_PART_BY_NUMBER].reads == ("parts",)
    assert WRITES[parts.UPDATE_PART] == ("parts",)


async def test_a_second_read_is_a_hit_until_a_plain_sql_write_on_another_connection(
    cached_pool: tuple[Pool, QueryCache], db_url: str
) -> None:
    pool, cache = cached_pool
    await new_part(pool)
    first = await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    again = await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    assert first == again
    assert (cache.misses, cache.hits) == (1, 1)

    before = heard_count(cache, "parts")
    other = await asyncpg.connect(db_url)
    try:
        await other.execute(
            "UPDATE parts SET part_name = 'changed' WHERE part_number = 'P-CACHE-1'"
        )
    finally:
        await other.close()
    await heard(cache, "parts", before)
    changed = await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    assert changed is not None and changed.part_name == "changed"
    assert cache.misses == 2


async def test_a_write_through_the_pool_is_seen_by_the_next_read_without_waiting(
    cached_pool: tuple[Pool, QueryCache],
) -> None:
    pool, _ = cached_pool
    part = await new_part(pool)
    assert await parts.get_part_by_number(pool, part_number="P-CACHE-1") is not None
    await parts.update_part(pool, parts.UpdatePartParams(part_id=part.id, part_name="renamed"))
    seen = await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    assert seen is not None and seen.part_name == "renamed"


async def test_plain_sql_in_a_transaction_is_seen_by_the_next_read_without_waiting(
    cached_pool: tuple[Pool, QueryCache],
) -> None:
    pool, cache = cached_pool
    await new_part(pool)
    assert await parts.get_part_by_number(pool, part_number="P-CACHE-1") is not None
    async with transaction(pool, actor="alice") as conn:
        await conn.execute("UPDATE parts SET part_name = 'in tx' WHERE part_number = 'P-CACHE-1'")
    seen = await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    assert seen is not None and seen.part_name == "in tx"
    assert cache.hits == 0


async def test_a_rolled_back_write_keeps_the_entry(
    cached_pool: tuple[Pool, QueryCache], db_url: str
) -> None:
    pool, cache = cached_pool
    await new_part(pool)
    await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    other = await asyncpg.connect(db_url)
    try:
        async with other.transaction():
            await other.execute("UPDATE parts SET part_name = 'no' WHERE part_number = 'P-CACHE-1'")
            await other.execute("SELECT 1/0")
    except asyncpg.DivisionByZeroError:
        pass
    finally:
        await other.close()
    # The pool's own create_part notification may still arrive; then no other.
    await asyncio.sleep(0.2)
    invalidations = cache.invalidations
    await asyncio.sleep(0.2)
    assert cache.invalidations == invalidations
    await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    seen = await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    assert seen is not None and seen.part_name == "first"
    assert cache.hits >= 1


async def test_a_transaction_and_a_plain_connection_never_use_the_cache(
    cached_pool: tuple[Pool, QueryCache],
) -> None:
    pool, cache = cached_pool
    await new_part(pool)
    await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    with pytest.raises(RuntimeError):
        async with transaction(pool) as conn:
            await conn.execute(
                "UPDATE parts SET part_name = 'uncommitted' WHERE part_number = 'P-CACHE-1'"
            )
            inside = await parts.get_part_by_number(conn, part_number="P-CACHE-1")
            assert inside is not None and inside.part_name == "uncommitted"
            raise RuntimeError("roll back")
    async with pool.acquire() as conn:
        plain = await parts.get_part_by_number(conn, part_number="P-CACHE-1")
    assert plain is not None and plain.part_name == "first"
    assert (cache.hits, cache.misses) == (0, 1)
    seen = await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    assert seen is not None and seen.part_name == "first"


async def test_unmarked_queries_never_reach_the_cache(cached_pool: tuple[Pool, QueryCache]) -> None:
    pool, cache = cached_pool
    part = await new_part(pool)
    for _ in range(3):
        assert await parts.get_part(pool, part_id=part.id) is not None
    assert (cache.hits, cache.misses, cache.bypasses) == (0, 0, 0)


async def test_a_caller_cannot_change_what_the_next_caller_gets(
    cached_pool: tuple[Pool, QueryCache],
) -> None:
    pool, cache = cached_pool
    await parts.create_part(
        pool,
        parts.CreatePartParams(
            part_number="P-CACHE-1",
            part_name="first",
            part_type=PartType.PCB,
            specifications={"layers": [1, 2], "stack": {"copper": "1oz"}},
        ),
    )
    await heard(cache, "parts", 0)
    uncached = await parts.get_part(pool, part_id=(await new_id(pool, "P-CACHE-1")))
    first = await parts.get_part_by_number(pool, part_number="P-CACHE-1")  # the miss
    mine = await parts.get_part_by_number(pool, part_number="P-CACHE-1")  # a hit
    assert first is not None and mine is first  # one row for every caller: no copy
    assert cache.hits == 1
    with pytest.raises(ValidationError, match="frozen"):
        mine.part_name = "scribbled"
    specifications = mine.specifications
    assert isinstance(specifications, dict)
    layers, stack = specifications["layers"], specifications["stack"]
    assert isinstance(layers, list) and isinstance(stack, dict)
    changes: list[Callable[[], object]] = [
        lambda: specifications.__setitem__("extra", True),
        lambda: specifications.update(extra=True),
        lambda: specifications.pop("layers"),
        lambda: specifications.clear(),
        lambda: layers.append(3),
        lambda: layers.__setitem__(0, 9),
        lambda: layers.sort(reverse=True),
        lambda: stack.__setitem__("copper", "2oz"),
    ]
    for change in changes:
        with pytest.raises(TypeError, match=r"copy\.deepcopy"):
            change()
    theirs = await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    assert theirs is not None
    assert theirs.part_name == "first"
    assert theirs.specifications == {"layers": [1, 2], "stack": {"copper": "1oz"}}
    # Equal to the row read without the cache, in Python and as JSON.
    assert uncached == theirs
    assert uncached is not None and uncached.model_dump_json() == theirs.model_dump_json()
    # What a caller who wants to change it does: a copy of its own, plain dicts and lists.
    mutable = copy.deepcopy(theirs.specifications)
    assert type(mutable) is dict and type(mutable["layers"]) is list
    mutable["layers"].append(3)
    changed = theirs.model_copy(deep=True, update={"part_name": "mine"})
    assert isinstance(changed.specifications, dict)
    changed.specifications["extra"] = True
    assert pickle.loads(pickle.dumps(theirs)).specifications == {
        "layers": [1, 2],
        "stack": {"copper": "1oz"},
    }
    again = await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    assert again is theirs and again.specifications == {
        "layers": [1, 2],
        "stack": {"copper": "1oz"},
    }


async def test_a_miss_is_stored_after_it_returns_unless_a_write_is_heard_first(
    cached_pool: tuple[Pool, QueryCache],
) -> None:
    """A miss returns before its row is stored (the loop stores it while it waits
    on I/O): the next lookup still finds it, and a write heard in between keeps it
    out, since the versions are checked when it is stored."""
    pool, cache = cached_pool
    await new_part(pool)
    first = await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    assert first is not None and isinstance(first.specifications, ReadOnlyDict)
    # No await between the two calls lets the loop run: the lookup stores it first.
    again = await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    assert again is first and (cache.misses, cache.hits) == (1, 1)

    cache.clear()
    missed = await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    assert missed is not None and isinstance(missed.specifications, ReadOnlyDict)
    cache.advance(("parts",))  # what the listener does when a write to parts is heard
    assert cache.stats().entries == 0
    assert await parts.get_part_by_number(pool, part_number="P-CACHE-1") == missed
    assert (cache.misses, cache.hits) == (3, 1)
    await asyncio.sleep(0)  # the loop stores the last miss's row on its own
    assert len(cache._entries) == 1  # (stats() would store it first)


async def new_id(pool: Pool, number: str) -> UUID:
    async with pool.acquire() as conn:
        found: UUID = await conn.fetchval("SELECT id FROM parts WHERE part_number = $1", number)
    return found


async def test_a_list_result_is_a_new_list_of_the_same_rows(
    cached_pool: tuple[Pool, QueryCache],
) -> None:
    pool, cache = cached_pool
    first = await analytics.analytics_refreshes(pool)
    second = await analytics.analytics_refreshes(pool)
    assert cache.hits == 1 and first and second == first
    assert second is not first and all(a is b for a, b in zip(first, second, strict=True))
    second.clear()  # the caller's own list
    assert await analytics.analytics_refreshes(pool) == first


def test_what_read_only_keeps_and_what_it_refuses() -> None:
    values = [1, {"a": [2]}]
    assert read_only(values) is values  # the caller's list, its items made read-only
    assert isinstance(values[1], ReadOnlyDict) and values[1] == {"a": [2]}
    assert isinstance(values[1]["a"], ReadOnlyList)
    assert size_of(values) > size_of([1, {}])
    assert read_only(None) is None
    with pytest.raises(NotShareableError, match="set"):
        read_only({1, 2})
    with pytest.raises(NotShareableError, match="not frozen"):
        read_only(parts.CreatePartParams(part_number="P-1", part_name="p", part_type=PartType.PCB))
    shared = ReadOnlyList([1, 2])
    with pytest.raises(TypeError, match="shares with every caller"):
        shared += [3]
    assert shared == [1, 2] and copy.copy(shared) == [1, 2]


async def test_entries_and_bytes_are_bounded_least_recently_used_first(db_url: str) -> None:
    pool = await create_pool(
        load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1, DB_CACHE_MAX_ENTRIES=2)
    )
    cache = await enable_cache(pool)
    try:
        for n in range(3):
            await new_part(pool, f"P-LRU-{n}")
        for n in range(3):
            await parts.get_part_by_number(pool, part_number=f"P-LRU-{n}")
        assert cache.stats().entries == 2
        assert cache.evictions == 1
        await parts.get_part_by_number(pool, part_number="P-LRU-2")  # still there
        assert cache.hits == 1
        await parts.get_part_by_number(pool, part_number="P-LRU-0")  # evicted first
        assert cache.misses == 4
        stats = cache.stats()
        entry_bytes = stats.bytes // stats.entries  # the parts' sizes differ by a byte or two
    finally:
        await cache.close()
        await pool.close()
    room = int(entry_bytes * 2.5)  # two entries fit, not three
    pool = await create_pool(
        load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1, DB_CACHE_MAX_BYTES=room)
    )
    cache = await enable_cache(pool)
    try:
        for n in range(3):
            await parts.get_part_by_number(pool, part_number=f"P-LRU-{n}")
        stats = cache.stats()
        assert stats.bytes <= room
        assert stats.entries == 2 and cache.evictions == 1
    finally:
        await cache.close()
        await pool.close()


async def test_nothing_is_served_while_the_listener_is_away_and_the_cache_empties_on_return(
    cached_pool: tuple[Pool, QueryCache], db_url: str
) -> None:
    pool, cache = cached_pool
    await new_part(pool)
    await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    pid = cache.listener_pid()
    assert pid is not None
    other = await asyncpg.connect(db_url)
    try:
        await other.execute("SELECT pg_terminate_backend($1)", pid)
        await eventually(lambda: not cache.listening, within=2.0)
        assert cache.stats().entries == 0
        await other.execute(
            "UPDATE parts SET part_name = 'while away' WHERE part_number = 'P-CACHE-1'"
        )
        bypasses = cache.bypasses
        during = await parts.get_part_by_number(pool, part_number="P-CACHE-1")
        if not cache.listening:  # it may be back already
            assert cache.bypasses == bypasses + 1
        assert during is not None and during.part_name == "while away"
        await eventually(lambda: cache.listening, within=10.0)
        assert cache.reconnects == 1 and cache.listener_pid() != pid
        after = await parts.get_part_by_number(pool, part_number="P-CACHE-1")
        assert after is not None and after.part_name == "while away"
    finally:
        await other.close()


async def test_health_check_reports_the_counters(cached_pool: tuple[Pool, QueryCache]) -> None:
    pool, _ = cached_pool
    await new_part(pool)
    await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    health = await health_check(pool)
    assert health.cache is not None
    assert health.cache.listening
    assert (health.cache.hits, health.cache.misses, health.cache.entries) == (1, 1, 1)


async def test_a_pool_without_a_cache_reports_none(pool: Pool) -> None:
    assert (await health_check(pool)).cache is None


async def test_the_query_span_says_hit_or_miss(
    cached_pool: tuple[Pool, QueryCache], spans: InMemorySpanExporter
) -> None:
    pool, _ = cached_pool
    await new_part(pool)
    spans.clear()
    await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    await parts.get_part_by_number(pool, part_number="P-CACHE-1")
    results = [
        s.attributes.get("db.cache.result")
        for s in spans.get_finished_spans()
        if s.attributes and "db.cache.result" in s.attributes
    ]
    assert results == ["miss", "hit"]


async def test_an_analytics_refresh_invalidates_the_views_reads(
    cached_pool: tuple[Pool, QueryCache],
) -> None:
    pool, cache = cached_pool
    first = await analytics.analytics_refreshes(pool)
    await analytics.analytics_refreshes(pool)
    assert cache.hits == 1
    before = heard_count(cache, "analytics_refreshes")
    other = await pool.acquire()
    try:
        await analytics.refresh_analytics_view(other, view_name="analytics_lot_yield")
    finally:
        await pool.release(other)
    await heard(cache, "analytics_refreshes", before)
    again = await analytics.analytics_refreshes(pool)
    assert cache.misses == 2
    assert again != first


async def test_the_trigger_announces_each_table_once_per_committed_transaction(
    conn: asyncpg.Connection, db_url: str
) -> None:
    got: list[str] = []
    await conn.add_listener("chip_quality_cache", lambda *args: got.append(args[3]))
    writer = await asyncpg.connect(db_url)
    try:
        async with writer.transaction():
            for n in range(3):
                await writer.execute(
                    "INSERT INTO parts (part_number, part_name, part_type) VALUES ($1, 'x', 'pcb')",
                    f"P-T-{n}",
                )
            assert got == []  # nothing before the commit
        try:
            async with writer.transaction():
                await writer.execute("DELETE FROM parts")
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    finally:
        await writer.close()
    await eventually(lambda: "parts" in got)
    await asyncio.sleep(0.1)
    assert sorted(got) == ["audit_log", "parts"]


async def test_the_cluster_handle_takes_a_cache_as_the_pool_does(db_url: str) -> None:
    """Without replicas here (tests/cluster has them): a hit, its own write seen at
    once, and the handle's plain methods back after close."""
    db = await create_database(load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1))
    plain_fetchrow = db.fetchrow
    cache = await enable_cache(db)
    try:
        part = await new_part(db)  # type: ignore[arg-type]
        await parts.get_part_by_number(db, part_number="P-CACHE-1")
        await parts.get_part_by_number(db, part_number="P-CACHE-1")
        assert (cache.misses, cache.hits) == (1, 1)
        await parts.update_part(db, parts.UpdatePartParams(part_id=part.id, part_name="cluster"))
        seen = await parts.get_part_by_number(db, part_number="P-CACHE-1")
        assert seen is not None and seen.part_name == "cluster"
    finally:
        await cache.close()
        await db.close()
    assert db.fetchrow == plain_fetchrow
    assert getattr(db, "result_cache", None) is None
