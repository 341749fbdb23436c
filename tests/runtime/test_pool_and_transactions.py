"""The pool's cheap reset leaks nothing; pre-ping and recycle replace connections; transactions
nest as savepoints and carry the actor into the audit trail."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest

from chip_quality_db import (
    AlreadyExistsError,
    Pool,
    UnavailableError,
    acquire,
    create_pool,
    health_check,
    load_settings,
    transaction,
    transaction_dependency,
)
from chip_quality_db._connections import connect
from chip_quality_db._pool import PING
from chip_quality_queries import audit_log, parts
from chip_quality_queries.models import PartType

ACTOR = "SELECT current_setting('app.actor', true)"


@pytest.fixture
async def one_connection_pool(db_url: str) -> AsyncIterator[Pool]:
    pool = await create_pool(load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0))
    yield pool
    await pool.close()


async def test_no_state_leaks_between_users_of_a_connection(one_connection_pool: Pool) -> None:
    """One connection, many users: actor, session id and open transactions never carry over."""
    pool = one_connection_pool
    seen_pids = set()
    for round_ in range(20):
        actor = f"user-{round_}"
        async with transaction(pool, actor=actor, session_id=f"s{round_}") as conn:
            seen_pids.add(conn.get_server_pid())
            assert await conn.fetchval(ACTOR) == actor
        async with acquire(pool) as conn:
            seen_pids.add(conn.get_server_pid())
            assert await conn.fetchval(ACTOR) in (None, "")
            assert await conn.fetchval("SELECT current_setting('app.session_id', true)") in (
                None,
                "",
            )
            assert not conn.is_in_transaction()
            # A transaction left open by careless code is rolled back on release.
            await conn.execute("BEGIN")
            await conn.execute("SELECT set_config('app.actor', 'leaked', true)")
    async with acquire(pool) as conn:
        assert not conn.is_in_transaction()
        assert await conn.fetchval(ACTOR) in (None, "")
    assert len(seen_pids) == 1, "every user must have had the same connection"


async def test_the_default_reset_query_is_not_run(pool: Pool) -> None:
    statements: list[str] = []
    async with acquire(pool) as conn:
        conn.add_query_logger(lambda record: statements.append(record.query))
        await conn.fetchval("SELECT 1")
    async with acquire(pool) as conn:
        await conn.fetchval("SELECT 2")
    assert not any("RESET ALL" in s or "UNLISTEN" in s for s in statements)


async def test_pre_ping_replaces_a_dead_connection(pool: Pool, conn: asyncpg.Connection) -> None:
    async with acquire(pool) as pooled:
        dead_pid = pooled.get_server_pid()
    await conn.execute("SELECT pg_terminate_backend($1)", dead_pid)
    await asyncio.sleep(0.05)
    async with acquire(pool) as pooled:
        assert await pooled.fetchval("SELECT 1") == 1
        assert pooled.get_server_pid() != dead_pid


async def test_generated_functions_on_the_bare_pool_are_pinged_and_mapped(
    one_connection_pool: Pool, conn: asyncpg.Connection
) -> None:
    """Handed the pool itself, a generated function still gets a checked connection
    and the project's errors, as inside transaction()."""
    pool = one_connection_pool
    async with acquire(pool) as pooled:
        dead_pid = pooled.get_server_pid()
    pinged: list[str] = []
    await conn.execute("SELECT pg_terminate_backend($1)", dead_pid)
    assert await parts.get_part(pool, part_id=uuid4()) is None
    async with acquire(pool) as pooled:
        assert pooled.get_server_pid() != dead_pid
        pooled.add_query_logger(lambda record: pinged.append(record.query))
    await parts.get_part(pool, part_id=uuid4())
    assert "SELECT 1" in pinged, "the bare-pool path must pre-ping its connection"

    params = parts.CreatePartParams(
        part_number="PCB-POOL-001", part_name="Bare pool", part_type=PartType.PCB
    )
    async with transaction(pool, actor="alice") as tx:
        await parts.create_part(tx, params)
    with pytest.raises(AlreadyExistsError) as caught:
        await parts.create_part(pool, params)
    assert caught.value.constraint == "parts_part_number_key"


async def test_recycle_replaces_old_connections(db_url: str) -> None:
    pool = await create_pool(
        load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0, DB_POOL_RECYCLE=0.05)
    )
    try:
        async with acquire(pool) as conn:
            first = conn.get_server_pid()
        await asyncio.sleep(0.1)
        async with acquire(pool) as conn:
            assert conn.get_server_pid() != first
    finally:
        await pool.close()


async def test_nested_transaction_is_a_savepoint(pool: Pool) -> None:
    async with transaction(pool, actor="alice") as conn:
        outer = await parts.create_part(
            conn,
            parts.CreatePartParams(
                part_number="PCB-OUT-1", part_name="Outer", part_type=PartType.PCB
            ),
        )
        with pytest.raises(RuntimeError):
            async with transaction(conn):
                await parts.create_part(
                    conn,
                    parts.CreatePartParams(
                        part_number="PCB-IN-1", part_name="Inner", part_type=PartType.PCB
                    ),
                )
                raise RuntimeError("undo the inner block only")
    assert outer is not None
    assert await parts.get_part_by_number(pool, part_number="PCB-OUT-1") is not None
    assert await parts.get_part_by_number(pool, part_number="PCB-IN-1") is None
    history = await audit_log.audit_history_of_record(pool, table_name="parts", record_id=outer.id)
    assert [(h.action.value, h.actor) for h in history] == [("insert", "alice")]


async def test_dependency_yields_a_connection_in_a_transaction(pool: Pool) -> None:
    dependency = transaction_dependency(lambda: pool, lambda: "api-user")
    generator = dependency()
    conn = await generator.__anext__()
    assert conn.is_in_transaction()
    assert await conn.fetchval(ACTOR) == "api-user"
    with pytest.raises(StopAsyncIteration):
        await generator.__anext__()


async def test_health_reports_ok_and_stays_within_its_timeout(pool: Pool) -> None:
    health = await health_check(pool)
    assert health.ok and health.server_version and health.pool_size >= 1
    held = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        started = asyncio.get_running_loop().time()
        stuck = await health_check(pool, timeout=0.2)
        assert not stuck.ok and "0.2" in (stuck.error or "")
        assert asyncio.get_running_loop().time() - started < 1.0
    finally:
        for conn in held:
            await pool.release(conn)


async def test_tls_settings_reach_the_server_for_pools_and_single_connections(
    db_url: str, conn: asyncpg.Connection
) -> None:
    """DB_SSLMODE=require: TLS or no connection, for the pool and for connect() (the CLI)."""
    settings = load_settings(DATABASE_URL=db_url.split("?")[0], DB_SSLMODE="require")
    if await conn.fetchval("SHOW ssl") == "on":
        single = await connect(settings)
        try:
            ssl_query = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
            assert await single.fetchval(ssl_query) is True
        finally:
            await single.close()
    else:
        with pytest.raises(UnavailableError):
            await connect(settings)
        with pytest.raises(UnavailableError):
            await create_pool(settings)


async def test_a_clean_connection_goes_back_without_a_round_trip_a_dirty_one_is_rolled_back(
    one_connection_pool: Pool,
) -> None:
    """Transaction-local policy: nothing is sent when a connection comes back idle and
    out of any transaction; one left in a transaction is rolled back before anyone
    else gets it, off the caller's path."""
    pool = one_connection_pool
    sent: list[str] = []
    async with acquire(pool) as conn:
        conn.add_query_logger(lambda record: sent.append(record.query))
        await conn.fetchval("SELECT 2")
    assert pool.get_idle_size() == 1  # back at once: no task, no round trip
    await asyncio.sleep(0)  # asyncpg calls query loggers soon after, not at once
    assert sent == ["SELECT 2"]
    conn = await pool.acquire()
    await conn.execute("BEGIN")
    await pool.release(conn)
    assert pool.get_idle_size() == 0  # being rolled back
    async with acquire(pool) as again:
        assert again is conn and not again.is_in_transaction()
    await asyncio.sleep(0)
    # asyncpg 0.30+ sends the ROLLBACK alone (Connection.get_reset_query is ours, and
    # empty); 0.29's reset() does not ask it and adds its reset query to the same message.
    sent = [query for query in sent if query != PING]
    assert [query.split(";")[0] for query in sent] == ["SELECT 2", "BEGIN", "ROLLBACK"]
    assert sent[-1] == "ROLLBACK" or asyncpg.__version__.startswith("0.29.")


async def test_the_full_reset_policy_resets_session_state(db_url: str) -> None:
    """What the default policy leaves (a session-level SET: the module docstring says
    not to use one) the full policy undoes, with asyncpg's reset query."""
    name = "SELECT current_setting('application_name')"
    for policy, leaks in (("transaction-local", True), ("full", False)):
        pool = await create_pool(
            load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0),
            reset_policy=policy,  # type: ignore[arg-type]
        )
        try:
            async with acquire(pool) as conn:
                await conn.execute("SET application_name = 'session-state'")
                await conn.execute("SELECT set_config('app.actor', 'x', false)")
            async with acquire(pool) as conn:
                assert (await conn.fetchval(name) == "session-state") is leaks, policy
                actor = await conn.fetchval("SELECT current_setting('app.actor', true)")
                assert (actor == "x") is leaks, policy
                assert not conn.is_in_transaction()
        finally:
            await pool.close()


async def test_checkouts_that_wait_are_served_first_come_first_served(
    one_connection_pool: Pool,
) -> None:
    pool = one_connection_pool
    served: list[int] = []

    async def checkout(number: int) -> None:
        async with acquire(pool) as conn:
            served.append(number)
            await conn.fetchval("SELECT 1")

    held = await pool.acquire()
    waits = []
    for number in range(5):
        waits.append(asyncio.create_task(checkout(number)))
        await asyncio.sleep(0.01)  # in line in this order
    await pool.release(held)
    await asyncio.gather(*waits)
    assert served == [0, 1, 2, 3, 4]


async def test_a_checkout_that_timed_out_is_never_handed_a_connection(db_url: str) -> None:
    pool = await create_pool(
        load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0, DB_POOL_TIMEOUT=0.1)
    )
    try:
        held = await pool.acquire()
        started = time.perf_counter()
        with pytest.raises(UnavailableError, match="DB_POOL_TIMEOUT"):
            await pool.acquire()
        assert 0.1 <= time.perf_counter() - started < 0.5
        await pool.release(held)
        assert pool.get_idle_size() == 1  # nobody took it: the wait had ended
        async with acquire(pool) as conn:
            assert conn is held
    finally:
        await pool.close()


async def sessions_of(conn: asyncpg.Connection, application: str) -> int:
    """Server sessions with this application_name, once the closed ones have gone."""
    count = -1
    for _ in range(50):
        count = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", application
        )
        if count == 0:
            break
        await asyncio.sleep(0.02)
    return int(count)


async def test_close_and_terminate_leave_no_server_session(
    db_url: str, conn: asyncpg.Connection
) -> None:
    application = f"pool-close-{uuid4().hex[:8]}"
    settings = load_settings(
        DATABASE_URL=db_url, DB_POOL_SIZE=2, DB_MAX_OVERFLOW=2, DB_APPLICATION_NAME=application
    )
    pool = await create_pool(settings)
    lent = await pool.acquire()
    async with acquire(pool), acquire(pool), acquire(pool):
        assert pool.get_size() == 4
        in_use = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
        assert await conn.fetchval(in_use, application) == 4
    closing = asyncio.create_task(pool.close())
    await asyncio.sleep(0.05)
    assert not closing.done()  # waits for the connection still lent
    await pool.release(lent)
    await closing
    assert await sessions_of(conn, application) == 0
    with pytest.raises(UnavailableError, match="closed"):
        await pool.fetchval("SELECT 1")

    pool = await create_pool(settings)
    lent = await pool.acquire()
    pool.terminate()
    assert lent.is_closed()
    assert await sessions_of(conn, application) == 0


async def test_min_size_is_kept_and_idle_overflow_ages_out(
    db_url: str, conn: asyncpg.Connection
) -> None:
    pool = await create_pool(
        load_settings(
            DATABASE_URL=db_url, DB_POOL_SIZE=2, DB_MAX_OVERFLOW=2, DB_POOL_IDLE_LIFETIME=0.2
        )
    )
    try:
        held = [await pool.acquire() for _ in range(4)]
        for lent in held:
            await pool.release(lent)
        assert pool.get_size() == 4
        await asyncio.sleep(0.6)
        assert pool.get_size() == 2 == pool.get_idle_size()  # back to DB_POOL_SIZE

        broken = [await pool.acquire(), await pool.acquire()]
        pids = [lent.get_server_pid() for lent in broken]
        await conn.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)
        await asyncio.sleep(0.1)
        for lent in broken:  # closed by the server: dropped, and the pool tops itself up
            await pool.release(lent)
        for _ in range(50):
            if pool.get_idle_size() == 2:
                break
            await asyncio.sleep(0.02)
        assert pool.get_size() == 2 == pool.get_idle_size()
        async with acquire(pool) as fresh:
            assert fresh.get_server_pid() not in pids
    finally:
        await pool.close()


async def test_a_waiting_checkout_is_served_while_another_task_checks_out_again_and_again(
    one_connection_pool: Pool,
) -> None:
    """A release that does not yield would let its task take the slot straight back,
    for ever: the waiting checkout must get its turn, well within DB_POOL_TIMEOUT."""
    pool = one_connection_pool
    stop = asyncio.Event()

    async def busy() -> None:
        while not stop.is_set():
            async with acquire(pool) as conn:
                await conn.fetchval("SELECT 1")

    task = asyncio.create_task(busy())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    try:
        async with acquire(pool) as conn:
            waited = time.perf_counter() - started
            assert await conn.fetchval("SELECT 2") == 2
    finally:
        stop.set()
        await task
    assert waited < 0.5
