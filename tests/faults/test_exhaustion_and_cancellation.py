"""Pool exhaustion and task cancellation: no deadlock, no leak, nothing half-written."""

from __future__ import annotations

import asyncio
import random
import time

import asyncpg

from chip_quality_db import (
    DatabaseError,
    Pool,
    UnavailableError,
    acquire,
    create_pool,
    load_settings,
    transaction,
)

from .conftest import ERRORS_SURFACED, record


async def test_ten_times_max_size_acquirers_succeed_or_time_out_in_time(db_url: str) -> None:
    timeout = 0.5
    pool = await create_pool(
        load_settings(
            DATABASE_URL=db_url,
            DB_POOL_SIZE=2,
            DB_MAX_OVERFLOW=2,
            DB_POOL_TIMEOUT=timeout,
            DB_POOL_IDLE_LIFETIME=0.3,
        )
    )
    try:
        outcomes: list[tuple[str, float]] = []

        async def acquirer() -> None:
            started = time.perf_counter()
            try:
                async with acquire(pool) as conn:
                    await conn.execute("SELECT pg_sleep(0.2)")
                outcomes.append(("ok", time.perf_counter() - started))
            except UnavailableError:
                outcomes.append(("timeout", time.perf_counter() - started))

        await asyncio.wait_for(
            asyncio.gather(*(acquirer() for _ in range(10 * pool.get_max_size()))), timeout=30
        )
        late = [t for kind, t in outcomes if kind == "timeout" and t > timeout + 0.1]
        assert len(outcomes) == 40 and not late
        assert {kind for kind, _ in outcomes} == {"ok", "timeout"}
        record(
            "exhaustion: acquirers ok / timed out",
            f"{sum(k == 'ok' for k, _ in outcomes)} / "
            f"{sum(k == 'timeout' for k, _ in outcomes)} (40 on max_size 4)",
        )
        await asyncio.sleep(0.1)
        assert pool.get_idle_size() == pool.get_size()  # everything came back
        for _ in range(40):  # the idle overflow closes: back to DB_POOL_SIZE
            if pool.get_size() == 2:
                break
            await asyncio.sleep(0.05)
        assert pool.get_size() == 2 == pool.get_idle_size()
    finally:
        await pool.close()


async def _leaks(conn: asyncpg.Connection, database: str) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in%'",
            database,
        )
    )


async def test_a_thousand_cancellations_leak_nothing_and_write_nothing_half(
    pool: Pool, conn: asyncpg.Connection, db_url: str
) -> None:
    """Each transaction writes a pair of rows; cancelled ones must leave both or neither."""
    rng = random.Random(5)
    completed = cancelled = 0

    async def write_pair(index: int) -> None:
        async with transaction(pool, actor=f"canceller-{index % 7}") as tx:
            await tx.execute(
                "INSERT INTO parts (part_number, part_name, part_type) VALUES ($1, 'pair', 'pcb')",
                f"PCB-A-{index}",
            )
            await tx.execute("SELECT pg_sleep($1)", rng.uniform(0, 0.004))
            await tx.execute(
                "INSERT INTO parts (part_number, part_name, part_type) VALUES ($1, 'pair', 'pcb')",
                f"PCB-B-{index}",
            )

    for start in range(0, 1000, 50):
        tasks = [asyncio.create_task(write_pair(i)) for i in range(start, start + 50)]
        await asyncio.sleep(rng.uniform(0, 0.006))
        for task in tasks:
            if rng.random() < 0.7:
                task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, asyncio.CancelledError):
                cancelled += 1
            elif isinstance(result, BaseException):
                assert isinstance(result, DatabaseError), repr(result)
                ERRORS_SURFACED[type(result).__name__] += 1
            else:
                completed += 1
    await asyncio.sleep(0.2)
    halves = await conn.fetchval(
        "SELECT count(*) FROM parts a WHERE a.part_number LIKE 'PCB-A-%' AND NOT EXISTS "
        "(SELECT 1 FROM parts b WHERE b.part_number = 'PCB-B-' || substr(a.part_number, 7))"
    )
    orphans = await conn.fetchval(
        "SELECT count(*) FROM parts b WHERE b.part_number LIKE 'PCB-B-%' AND NOT EXISTS "
        "(SELECT 1 FROM parts a WHERE a.part_number = 'PCB-A-' || substr(b.part_number, 7))"
    )
    pairs = await conn.fetchval("SELECT count(*) FROM parts WHERE part_number LIKE 'PCB-A-%'")
    database = db_url.rsplit("/", 1)[1].split("?")[0]
    leaked = await _leaks(conn, database)
    record("cancellation: tasks cancelled / completed", f"{cancelled} / {completed} of 1000")
    record("cancellation: half-written pairs", halves + orphans)
    record("cancellation: sessions idle in transaction", leaked)
    record("cancellation: pool connections leaked", pool.get_size() - pool.get_idle_size())
    assert halves == 0 and orphans == 0 and leaked == 0
    assert pairs >= completed and cancelled > 100
    assert pool.get_idle_size() == pool.get_size()
