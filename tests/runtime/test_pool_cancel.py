"""A statement run on the pool itself (no `acquire`) that is cancelled or fails gives
its connection back in a state fit for the next caller.

A service cancels work all the time (a client disconnects, a timeout fires): the
statement must end on the server, not run on for its 30 s, and the connection must
come back to the pool (not leak, not be lent with a statement still running).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from chip_quality_db import DatabaseError, Pool

SLEEP = "SELECT pg_sleep(30) -- test_pool_cancel"

STATEMENTS: dict[str, Callable[[Pool], Awaitable[Any]]] = {
    "execute": lambda pool: pool.execute(SLEEP),
    "fetch": lambda pool: pool.fetch(SLEEP),
    "fetchrow": lambda pool: pool.fetchrow(SLEEP),
    "fetchval": lambda pool: pool.fetchval(SLEEP),
    "executemany": lambda pool: pool.executemany(
        "SELECT pg_sleep($1) -- test_pool_cancel", [(30,)]
    ),
}
RUNNING = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(%) -- test_pool_cancel'"
)


async def _until(pool: Pool, wanted: int) -> None:
    """Wait (at most 10 s) until `wanted` sleeps run on the server."""
    for _ in range(200):
        if await pool.fetchval(RUNNING) == wanted:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the server did not come to {wanted} running sleeps")


@pytest.mark.parametrize("method", STATEMENTS)
async def test_a_cancelled_statement_ends_and_its_connection_comes_back(
    pool: Pool, method: str
) -> None:
    task = asyncio.ensure_future(STATEMENTS[method](pool))
    await _until(pool, 1)  # on another connection of the pool: it may grow to 4
    size = pool.get_size()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _until(pool, 0)
    for _ in range(200):  # tidied in the background, then idle again
        if pool.get_idle_size() == pool.get_size():
            break
        await asyncio.sleep(0.05)
    # Back and idle, or closed where it could not be reset in time (seen under
    # coverage on a loaded machine): never lent with the statement running, never
    # leaked.
    assert pool.get_idle_size() == pool.get_size()
    assert 1 <= pool.get_size() <= size
    assert await pool.fetchval("SELECT 1") == 1


async def test_a_failed_executemany_arrives_as_the_projects_error(pool: Pool) -> None:
    with pytest.raises(DatabaseError) as caught:
        await pool.executemany("SELECT 1 / $1::int", [(1,), (0,)])
    assert caught.value.sqlstate == "22012"  # division_by_zero
    assert await pool.fetchval("SELECT 1") == 1
