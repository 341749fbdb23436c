"""The cluster handle on a real primary and streaming standby: the reads the
generator classed read-only run on the standby, everything else on the primary;
reads see their context's own writes; a standby that goes away costs callers
nothing; PgBouncer in transaction mode carries the whole library."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

import chip_quality_queries
from chip_quality_db import (
    Database,
    DatabaseError,
    consistency_token,
    create_database,
    health_check,
    load_settings,
    transaction,
)
from chip_quality_db._read_floor import ReadFloor
from chip_quality_db.audit import verify_chain
from chip_quality_dev import cluster
from chip_quality_dev.cluster import ClusterUrls, LocalCluster
from chip_quality_queries import parts
from chip_quality_queries._catalog import QUERIES
from chip_quality_queries.models import PartType

from .conftest import record

QUERY_MODULES = [
    module
    for module in vars(chip_quality_queries).values()
    if getattr(module, "__name__", "").startswith("chip_quality_queries.")
    and module.__name__.rsplit(".", 1)[1] not in ("models", "_runtime")
]
ALL_QUERIES = sorted(
    {
        value
        for module in QUERY_MODULES
        for value in vars(module).values()
        if isinstance(value, str) and value.startswith("-- name: ")
    }
)


def new_part(number: str) -> parts.CreatePartParams:
    return parts.CreatePartParams(part_number=number, part_name="routed", part_type=PartType.PCB)


async def open_handle(urls: ClusterUrls, **settings: Any) -> Database:
    defaults: dict[str, Any] = {
        "DB_REPLICA_CHECK_INTERVAL": 0.05,
        "DB_POOL_SIZE": 2,
        "DB_POOL_TIMEOUT": 5,
    }
    return await create_database(
        load_settings(
            DATABASE_URL=urls.primary, DB_REPLICA_URLS=urls.replica, **(defaults | settings)
        )
    )


@pytest.fixture
async def db(fresh_cluster_urls: ClusterUrls) -> AsyncIterator[Database]:
    handle = await open_handle(fresh_cluster_urls)
    yield handle
    await handle.close()


class CountingPool:
    """A replica's pool that counts the SQL of every statement the handle sends it."""

    def __init__(self, pool: Any, calls: Counter[str]) -> None:
        self.pool, self.calls = pool, calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self.calls[query] += 1
        return await self.pool.fetch(query, *args, **kwargs)

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self.calls[query] += 1
        return await self.pool.fetchrow(query, *args, **kwargs)

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self.calls[query] += 1
        return await self.pool.fetchval(query, *args, **kwargs)


def count_standby_calls(db: Database) -> Counter[str]:
    """The SQL of every statement the handle sends to its standby from now on."""
    calls: Counter[str] = Counter()
    replica = db.replicas[0]
    replica.pool = CountingPool(replica.pool, calls)  # type: ignore[assignment]
    return calls


async def parameter_count(conn: asyncpg.Connection, sql: str) -> int:
    return len((await conn.prepare(sql)).get_parameters())


async def until(what: str, check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_every_read_only_query_runs_on_the_standby(
    db: Database, fresh_cluster_urls: ClusterUrls
) -> None:
    """Each of READ_ONLY_QUERIES sent through the handle executes on the standby,
    which refuses any write: the classification holds and the routing is real."""
    assert await db.replicas[0].pool.fetchval("SELECT pg_is_in_recovery()") is True
    calls = count_standby_calls(db)
    primary = await asyncpg.connect(fresh_cluster_urls.primary)
    try:
        for sql in sorted(chip_quality_queries.READ_ONLY_QUERIES):
            await db.fetch(sql, *([None] * await parameter_count(primary, sql)))
    finally:
        await primary.close()
    missed = [
        sql.splitlines()[0] for sql in chip_quality_queries.READ_ONLY_QUERIES if not calls[sql]
    ]
    assert not missed
    record("read-only queries run on the standby", len(chip_quality_queries.READ_ONLY_QUERIES))


async def test_every_writing_query_is_refused_by_the_standby(
    fresh_cluster_urls: ClusterUrls,
) -> None:
    """Each query not classed read-only, run on the standby, is refused as a write
    (SQLSTATE 25006): none is a read the classification missed. Reads marked
    `@primary` (they must see the primary, or a temporary table of its session) are
    no writes: left out. A call of a schema function that checks its arguments may
    refuse the NULLs sent here before it writes: counted apart, never a pass."""
    why = {info.name: info.why for info in QUERIES}
    writing = [
        sql
        for sql in ALL_QUERIES
        if sql not in chip_quality_queries.READ_ONLY_QUERIES
        and not why[sql.split()[2]].startswith("marked")  # "-- name: <Name> :command"
    ]
    refused_as_writes = 0
    refused_by_the_function: list[str] = []
    standby = await asyncpg.connect(fresh_cluster_urls.replica)
    try:
        for sql in writing:
            name = sql.split()[2]
            count = await parameter_count(standby, sql)
            try:
                await standby.fetch(sql, *([None] * count))
            except asyncpg.ReadOnlySQLTransactionError:
                refused_as_writes += 1
            except asyncpg.PostgresError:
                if not why[name].startswith("calls"):
                    raise
                refused_by_the_function.append(name)
            else:
                raise AssertionError(f"{name} ran on the standby: a read classed as writing")
    finally:
        await standby.close()
    assert refused_as_writes > 20
    record("writing queries refused by the standby (25006)", refused_as_writes)
    record("schema functions that refused NULL arguments first", len(refused_by_the_function))


async def test_generated_functions_read_from_the_standby_and_write_to_the_primary(
    db: Database,
) -> None:
    calls = count_standby_calls(db)
    async with transaction(db, actor="router") as conn:
        part = await parts.create_part(conn, new_part("PCB-R-1"))
    await parts.create_part(db, new_part("PCB-R-2"))  # a write on the handle itself
    floor = int(consistency_token())  # this context wrote: its reads must see that
    await until(
        "the monitor to see the standby replay it", lambda: db.replicas[0].replayed >= floor
    )
    assert await parts.get_part(db, part_id=part.id) == part
    assert await parts.count_parts(db) == 2
    assert calls[parts.GET_PART] == 1 and calls[parts.COUNT_PARTS] == 1
    assert calls[parts.CREATE_PART] == 0
    health = await health_check(db)
    assert health.ok and health.replicas[0].in_rotation and health.replicas[0].role == "replica"


async def test_reads_see_their_own_writes_while_replay_is_paused(
    db: Database, fresh_cluster_urls: ClusterUrls
) -> None:
    calls = count_standby_calls(db)
    async with cluster.replay_paused(fresh_cluster_urls.replica):
        async with transaction(db, actor="ryw") as conn:
            part = await parts.create_part(conn, new_part("PCB-RYW-1"))
        seen = await parts.get_part(db, part_id=part.id)
        assert seen == part  # from the primary: the standby has not replayed it
        assert calls[parts.GET_PART] == 0

        async def elsewhere() -> Any:  # another request: no write of its own
            return await parts.get_part(db, part_id=part.id)

        other = asyncio.get_running_loop().create_task(
            elsewhere(), context=__import__("contextvars").Context()
        )
        assert await other is None  # the standby's stale view is within the lag cap
        assert calls[parts.GET_PART] == 1
    await cluster.wait_for_replica(fresh_cluster_urls.primary, fresh_cluster_urls.replica)
    await until(
        "the monitor to see the replay",
        lambda: (
            db.router.pick(ReadFloor(1 << 62)) is None and db.router.pick(ReadFloor()) is not None
        ),
    )
    floor_reached = db.replicas[0].replayed
    await until("the standby to pass the write", lambda: db.replicas[0].replayed >= floor_reached)
    await asyncio.sleep(0.2)
    assert await parts.get_part(db, part_id=part.id) == part
    assert calls[parts.GET_PART] == 2  # back on the standby once it replayed the write


async def test_a_lagging_standby_leaves_the_rotation(fresh_cluster_urls: ClusterUrls) -> None:
    db = await open_handle(fresh_cluster_urls, DB_REPLICA_MAX_LAG=0.3)
    try:
        await lagging_standby_leaves(db, fresh_cluster_urls)
    finally:
        await db.close()


async def lagging_standby_leaves(db: Database, fresh_cluster_urls: ClusterUrls) -> None:
    calls = count_standby_calls(db)
    async with cluster.replay_paused(fresh_cluster_urls.replica):
        await parts.create_part(db, new_part("PCB-LAG-1"))  # the primary moves on
        await asyncio.sleep(0.6)
        await db.check_replicas()
        assert not db.replicas[0].up and "DB_REPLICA_MAX_LAG" in (db.replicas[0].error or "")
        await parts.count_parts(db)  # answered by the primary
        assert calls[parts.COUNT_PARTS] == 0
    await cluster.wait_for_replica(fresh_cluster_urls.primary, fresh_cluster_urls.replica)
    await until("the standby to return", lambda: db.replicas[0].up)


async def test_a_stopped_standby_costs_readers_nothing(
    db: Database, local_cluster: LocalCluster
) -> None:
    errors: list[BaseException] = []
    served = Counter[str]()
    calls = count_standby_calls(db)
    stop = asyncio.Event()

    async def reader() -> None:
        while not stop.is_set():
            try:
                await parts.count_parts(db)
                served["reads"] += 1
            except DatabaseError as exc:  # must never happen
                errors.append(exc)
            await asyncio.sleep(0.005)

    readers = [asyncio.create_task(reader()) for _ in range(6)]
    try:
        await asyncio.sleep(0.3)
        before = calls[parts.COUNT_PARTS]
        assert before > 0
        await asyncio.to_thread(cluster.stop_standby, local_cluster)
        await until("the standby to leave the rotation", lambda: not db.replicas[0].up)
        on_standby_while_down = calls[parts.COUNT_PARTS]
        await asyncio.sleep(0.3)
        assert calls[parts.COUNT_PARTS] == on_standby_while_down  # all on the primary
        await asyncio.to_thread(cluster.start_standby, local_cluster)
        await until("the standby to return", lambda: db.replicas[0].up, timeout=15)
        await until(
            "reads to return to the standby",
            lambda: calls[parts.COUNT_PARTS] > on_standby_while_down,
        )
    finally:
        stop.set()
        await asyncio.gather(*readers)
    assert errors == []
    record("standby stopped under 6 readers: reads served / errors", f"{served['reads']} / 0")


async def test_the_library_through_pgbouncer_in_transaction_mode(
    fresh_cluster_urls: ClusterUrls,
) -> None:
    """10,000 calls from 20 tasks, writes and reads, through PgBouncer: no
    prepared-statement error, every write attributed, the chain verifies."""
    db = await create_database(
        load_settings(
            DATABASE_URL=fresh_cluster_urls.pgbouncer,
            DB_PGBOUNCER="transaction",
            DB_POOL_SIZE=5,
            DB_POOL_PRE_PING=False,
        )
    )
    failures: Counter[str] = Counter()
    try:

        async def worker(number: int) -> None:
            for call in range(250):  # 2 calls each: 20 x 250 x 2 = 10,000
                try:
                    async with transaction(db, actor=f"worker-{number}") as conn:
                        made = await parts.create_part(conn, new_part(f"PCB-B{number}-{call}"))
                    assert await parts.get_part(db, part_id=made.id) == made
                except Exception as exc:
                    failures[type(exc).__name__] += 1

        await asyncio.gather(*(worker(n) for n in range(20)))
    finally:
        await db.close()
    assert not failures, failures
    direct = await asyncpg.connect(fresh_cluster_urls.primary)
    try:
        actors = await direct.fetch(
            "SELECT actor, count(*) FROM audit_log WHERE table_name = 'parts' GROUP BY actor"
        )
        assert {r["actor"] for r in actors} == {f"worker-{n}" for n in range(20)}
        assert all(r["count"] == 250 for r in actors)
        report = await verify_chain(direct)
        assert report.ok, report
    finally:
        await direct.close()
    record("PgBouncer transaction mode: calls / prepared-statement errors", "10000 / 0")
