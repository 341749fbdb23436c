"""The connection pool: our own, on asyncpg's public API (as SQLAlchemy and psycopg_pool
own theirs), with the settings of _settings.py.

    idle connections   a deque, last in first out: the busiest few stay warm and the
                       rest age out after DB_POOL_IDLE_LIFETIME, down to DB_POOL_SIZE
    checkout           an idle connection at once (no timer, nothing awaited), else a
                       new one while under DB_POOL_SIZE + DB_MAX_OVERFLOW, else a place
                       in the waiting line (_waiting_line.py: first come, first served,
                       one timer for DB_POOL_TIMEOUT); then DB_POOL_RECYCLE and
                       DB_POOL_PRE_PING, a failing connection closed and replaced
    give back          a connection with nothing to undo goes straight to the oldest
                       waiter, else to the idle deque, without a round trip or a task;
                       any other is tidied in a task of its own (below), off the
                       caller's path; a closed one is dropped and replaced if needed
    housekeeping       one task: idle connections past DB_POOL_IDLE_LIFETIME closed
                       (down to DB_POOL_SIZE), the pool topped up to DB_POOL_SIZE

Reset policy. asyncpg's pool resets every connection it takes back with
`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`: one round trip
per release, about 40% of pool throughput under load here. This layer keeps all
session state transaction-local (`set_config(..., true)` for the actor; no
session-level SET, LISTEN, advisory locks or WITH HOLD cursors), so under the
default "transaction-local" policy a connection that comes back open, out of any
transaction, without listeners and from a block that did not fail is simply
available again. One that comes back in a transaction, with a listener added, or
from a block that raised or was cancelled (a transaction of asyncpg's may be half
open) is tidied with `Connection.reset()`, which rolls back and, under this
policy, sends nothing else (`Connection.get_reset_query`, _connections.py).
`reset_policy="full"` tidies every connection with asyncpg's full reset query, for
services that keep session state. tests/runtime/test_pool_and_transactions.py
proves that no state leaks between users of a connection, under either policy.

A connection handed out is the driver's connection itself, not a proxy: code that
keeps it after giving it back uses a connection that is someone else's by then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Iterable,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any, Protocol

from ._connections import Connection, Opener, ResetPolicy
from ._errors import UnavailableError, load_constraint_columns, raise_mapped, translate
from ._settings import DatabaseSettings, load_settings
from ._waiting_line import WaitingLine

logger = logging.getLogger(__name__)

PING = "SELECT 1"


class Pool:
    """Connections to one server, lent one at a time. Use it like asyncpg's pool:
    hand it to generated functions (each takes a checked connection for its one
    statement), `async with pool.acquire() as conn`, `await pool.close()`."""

    def __init__(
        self,
        settings: DatabaseSettings,
        opener: Callable[[], Awaitable[Connection]],
        reset_policy: ResetPolicy = "transaction-local",
    ) -> None:
        self.settings = settings
        self.reset_policy = reset_policy
        self._open_connection = opener
        self._min_size = settings.pool_size
        self._max_size = settings.max_size
        self._timeout = settings.pool_timeout
        self._pre_ping = settings.pool_pre_ping
        self._recycle = settings.pool_recycle
        self._keeps_sessions = reset_policy == "transaction-local"
        self._idle: deque[Connection] = deque()
        self._all: set[Connection] = set()  # open, idle or lent (not those opening)
        self._size = 0  # open or opening: what DB_MAX_OVERFLOW bounds
        self._line: WaitingLine[Connection] = WaitingLine(
            self._timeout, self._timed_out, self._make_available
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._housekeeper: asyncio.Task[None] | None = None
        self._closing = False
        self._everyone_back = asyncio.Event()

    async def open(self, *, required: bool = True) -> None:
        """Open DB_POOL_SIZE connections and learn the schema's constraints. Not
        `required`: when the server is unavailable, start empty (housekeeping and
        checkouts open connections once it answers); other errors still raise."""
        self._size += self._min_size
        opened = await asyncio.gather(
            *(self._open_connection() for _ in range(self._min_size)), return_exceptions=True
        )
        for result in opened:
            if isinstance(result, Connection):
                self._all.add(result)
                self._idle.append(result)
                result.idle_since = time.monotonic()
            else:
                self._size -= 1
        failed = [r for r in opened if isinstance(r, BaseException)]
        unavailable = all(isinstance(r, UnavailableError) for r in failed)
        if failed and (required or not unavailable):
            await self.close()
            raise failed[0]
        self._housekeeper = asyncio.get_running_loop().create_task(self._keep_house())
        if failed:
            logger.warning("a pool starts without connections: %s", failed[0])
            return
        async with self.acquire() as conn:
            await load_constraint_columns(conn)

    # -- the statements generated functions run on the pool ----------------------
    # Each is written out rather than passed through one helper by method name: this
    # is the hot path of every generated function handed the pool, and the shape
    # lends an idle connection without awaiting anything, then gives it back without
    # a task. A failed statement's connection goes back as it is (the server ended
    # the statement, nothing is left open); a cancelled one is tidied first.

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        conn = self._lend_now() or await self._check_out()
        try:
            result = await conn.execute(query, *args, **kwargs)
        except Exception as exc:
            self._failed(conn, exc)
            raise_mapped(exc)
        except BaseException:
            self._give_back(conn, disturbed=True)
            raise
        self._give_back(conn)
        return result

    async def executemany(self, command: str, args: Iterable[Sequence[Any]], **kwargs: Any) -> None:
        conn = self._lend_now() or await self._check_out()
        try:
            await conn.executemany(command, args, **kwargs)
        except Exception as exc:
            self._failed(conn, exc)
            raise_mapped(exc)
        except BaseException:
            self._give_back(conn, disturbed=True)
            raise
        self._give_back(conn)

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        conn = self._lend_now() or await self._check_out()
        try:
            result = await conn.fetch(query, *args, **kwargs)
        except Exception as exc:
            self._failed(conn, exc)
            raise_mapped(exc)
        except BaseException:
            self._give_back(conn, disturbed=True)
            raise
        self._give_back(conn)
        return result

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        conn = self._lend_now() or await self._check_out()
        try:
            result = await conn.fetchrow(query, *args, **kwargs)
        except Exception as exc:
            self._failed(conn, exc)
            raise_mapped(exc)
        except BaseException:
            self._give_back(conn, disturbed=True)
            raise
        self._give_back(conn)
        return result

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        conn = self._lend_now() or await self._check_out()
        try:
            result = await conn.fetchval(query, *args, **kwargs)
        except Exception as exc:
            self._failed(conn, exc)
            raise_mapped(exc)
        except BaseException:
            self._give_back(conn, disturbed=True)
            raise
        self._give_back(conn)
        return result

    async def copy_records_to_table(self, table_name: str, **kwargs: Any) -> Any:
        conn = self._lend_now() or await self._check_out()
        try:
            result = await conn.copy_records_to_table(table_name, **kwargs)
        except Exception as exc:
            self._failed(conn, exc)
            raise_mapped(exc)
        except BaseException:
            self._give_back(conn, disturbed=True)
            raise
        self._give_back(conn)
        return result

    # -- lending -------------------------------------------------------------------

    def acquire(self) -> Checkout:
        """`async with pool.acquire() as conn:` a connection checked as
        DB_POOL_PRE_PING and DB_POOL_RECYCLE promise, given back when the block ends
        (errors inside arrive as the project's); or `conn = await pool.acquire()`,
        then `await pool.release(conn)`."""
        return Checkout(self)

    async def release(self, conn: Connection) -> None:
        """Give back a connection taken with `await pool.acquire()`."""
        self._give_back(conn)

    def _lend_now(self) -> Connection | None:
        """An idle connection that needs no ping, if there is one: lent without awaiting
        anything (the hot path of a generated function handed the pool)."""
        if self._idle and not self._pre_ping:
            conn = self._idle[-1]
            if self._recycle < 0 or time.monotonic() - conn.opened_at <= self._recycle:
                return self._idle.pop()
        return None

    async def _check_out(self) -> Connection:
        for _ in range(self._max_size + 1):
            if self._idle:
                conn = self._idle.pop()
                fresh = False
            else:
                conn, fresh = await self._open_or_wait()
            if self._recycle >= 0 and time.monotonic() - conn.opened_at > self._recycle:
                self._drop(conn)
                continue
            if fresh or not self._pre_ping:
                return conn
            try:
                answered = await _answers_ping(conn, self._timeout)
            except BaseException:  # cancelled during the ping: the connection goes back
                self._give_back(conn, disturbed=True)
                raise
            if answered:
                return conn
            self._drop(conn)
        raise UnavailableError("no working database connection could be opened")

    async def _open_or_wait(self) -> tuple[Connection, bool]:
        """A new connection (True) while the pool may grow, else the first one given back."""
        if self._closing:
            raise UnavailableError("the pool is closed")
        if self._size < self._max_size:
            self._size += 1
            try:
                conn = await self._open_connection()
            except BaseException:
                self._size -= 1
                raise
            self._all.add(conn)
            return conn, True
        return await self._line.wait(), False

    def _give_back(self, conn: Connection, disturbed: bool = False) -> None:
        if self._closing or conn.is_closed():
            self._drop(conn)
        elif disturbed or not self._keeps_sessions or conn.needs_reset or conn.is_in_transaction():
            self._start(self._tidy(conn))
        else:
            self._make_available(conn)

    def _failed(self, conn: Connection, error: BaseException, disturbed: bool = False) -> None:
        """Give back a connection whose statement or block failed with `error`. A
        server that refuses a write as read-only (25006) is a standby now: the primary
        moved (docs/ha.md). Every connection to it is useless for writing, so all are
        retired: this one and the idle ones closed now, the lent ones when they come
        back; new ones go wherever the URL's target_session_attrs finds the primary."""
        # A primary reports in_hot_standby "off" (PostgreSQL 14+): then the 25006 came
        # from a transaction the caller made READ ONLY, and the connections are fine.
        if _read_only_server(error) and conn.get_settings_value("in_hot_standby") != "off":
            self._retire_all()
        self._give_back(conn, disturbed)

    def _retire_all(self) -> None:
        for conn in self._all:
            conn.retired = True
            conn.needs_reset = True  # so that its return goes through _tidy, which closes it
        while self._idle:
            self._drop(self._idle.pop())

    def _make_available(self, conn: Connection) -> None:
        if self._closing:
            self._drop(conn)
        elif not self._line.serve(conn):
            conn.idle_since = time.monotonic()
            self._idle.append(conn)

    async def _tidy(self, conn: Connection) -> None:
        """Roll back what the last user left open (and, under the full policy, reset
        the session), then lend it again; a connection that cannot be is closed."""
        if conn.retired:
            self._drop(conn)
            return
        try:
            await conn.reset(timeout=self._timeout)
        except Exception as exc:
            logger.debug("closing a connection that could not be reset: %r", exc)
            self._drop(conn)
            return
        conn.needs_reset = False
        self._make_available(conn)

    # -- closing, replacing, housekeeping ------------------------------------------

    def _drop(self, conn: Connection) -> None:
        """Close `conn` (in the background) and open a replacement if anyone needs one."""
        if conn in self._all:
            self._all.discard(conn)
            self._size -= 1
        if not conn.is_closed():
            self._start(_close(conn, self._timeout))
        if self._closing:
            if not self._all:
                self._everyone_back.set()
            return
        if self._size < self._max_size and (self._line or self._size < self._min_size):
            self._size += 1
            self._start(self._open_for_pool())

    async def _open_for_pool(self) -> None:
        """A connection for the line, or the idle deque; a failure ends the oldest wait
        (the server is away: it should know now, not at its timeout)."""
        try:
            conn = await self._open_connection()
        except Exception as exc:
            self._size -= 1
            self._line.fail_oldest(exc)
            return
        except BaseException:
            self._size -= 1
            raise
        self._all.add(conn)
        self._make_available(conn)

    async def _keep_house(self) -> None:
        lifetime = self.settings.pool_idle_lifetime
        every = min(max(lifetime / 2, 0.05), 30.0) if lifetime > 0 else 30.0
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            idle = self._idle
            for conn in [conn for conn in idle if conn.is_closed()]:  # the server ended it
                idle.remove(conn)
                self._drop(conn)
            # The left end has been idle longest (connections go back on the right).
            while (
                lifetime > 0
                and idle
                and self._size > self._min_size
                and now - idle[0].idle_since > lifetime
            ):
                self._drop(idle.popleft())
            while self._size < self._min_size and not self._closing:
                self._size += 1
                self._start(self._open_for_pool())

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _timed_out(self) -> BaseException:
        return UnavailableError(
            "no database connection became free in time "
            f"(pool timeout: DB_POOL_TIMEOUT, {self._timeout:g} s)"
        )

    async def close(self, timeout: float | None = None) -> None:
        """Close every connection: idle ones now, lent ones as they come back (within
        `timeout` seconds, DB_POOL_TIMEOUT by default; then they are terminated).
        Waiting checkouts fail with UnavailableError. No server session is left."""
        if not self._closing:
            self._closing = True
            self._line.fail_all(lambda: UnavailableError("the pool is closed"))
            if self._housekeeper is not None:
                self._housekeeper.cancel()
            while self._idle:
                self._drop(self._idle.pop())
        if self._all:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._timeout if timeout is None else timeout):
                    await self._everyone_back.wait()
        for conn in list(self._all):  # still lent after the timeout
            self._all.discard(conn)
            conn.terminate()
        self._size = 0
        if self._housekeeper is not None:
            await asyncio.gather(self._housekeeper, return_exceptions=True)
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def terminate(self) -> None:
        """Close every connection at once, lent or not, without waiting for anyone."""
        self._closing = True
        self._line.fail_all(lambda: UnavailableError("the pool is closed"))
        for task in [*self._tasks, *([self._housekeeper] if self._housekeeper else [])]:
            task.cancel()
        for conn in [*self._all, *self._idle]:
            conn.terminate()
        self._all.clear()
        self._idle.clear()
        self._size = 0

    # -- what health checks and tests read -----------------------------------------

    def get_size(self) -> int:
        """Connections open or being opened."""
        return self._size

    def get_idle_size(self) -> int:
        return len(self._idle)

    def get_min_size(self) -> int:
        return self._min_size

    def get_max_size(self) -> int:
        return self._max_size

    def is_closing(self) -> bool:
        return self._closing


class Checkout:
    """What `Pool.acquire()` returns: awaited, a connection; entered, a connection
    given back when the block ends, errors inside mapped to the project's."""

    __slots__ = ("_conn", "_pool")

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._conn: Connection | None = None

    def __await__(self) -> Generator[Any, None, Connection]:
        return self._checked_out().__await__()

    async def _checked_out(self) -> Connection:
        try:
            return await self._pool._check_out()
        except Exception as exc:
            raise_mapped(exc)

    async def __aenter__(self) -> Connection:
        try:
            self._conn = await self._pool._check_out()
        except Exception as exc:
            raise_mapped(exc)
        return self._conn

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # A block that raised may have left a transaction of asyncpg's half open
            # (a BEGIN cancelled mid-way): such a connection is tidied first.
            if error is None:
                self._pool._give_back(conn)
            else:
                self._pool._failed(conn, error, disturbed=True)
        if isinstance(error, Exception):
            mapped = translate(error)
            if mapped is not None and mapped is not error:
                raise mapped from error


def _read_only_server(error: BaseException) -> bool:
    """Whether `error`, or an error it was mapped from, is SQLSTATE 25006."""
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 5:
        if getattr(current, "sqlstate", None) == "25006":
            return True
        current, seen = current.__cause__, seen + 1
    return False


async def _answers_ping(conn: Connection, timeout: float) -> bool:
    try:
        await conn.fetchval(PING, timeout=timeout)
    except Exception:
        # Whatever the failure (a dead socket, a timeout, or asyncpg issue 784's
        # InternalClientError on a connection broken by a restart), this one is done.
        return False
    return True


async def _close(conn: Connection, timeout: float) -> None:
    """Close gracefully (the server ends the session at once), else cut the socket."""
    try:
        await conn.close(timeout=timeout)
    except Exception:
        conn.terminate()
    except BaseException:
        conn.terminate()
        raise


async def create_pool(
    settings: DatabaseSettings | None = None,
    *,
    reset_policy: ResetPolicy = "transaction-local",
) -> Pool:
    """A pool whose connections have the codecs the generated queries rely on."""
    settings = settings or load_settings()
    return await open_pool(settings, settings.dsn(), reset_policy)


async def open_pool(
    settings: DatabaseSettings,
    dsn: str,
    reset_policy: ResetPolicy = "transaction-local",
    *,
    required: bool = True,
) -> Pool:
    """An open pool on `dsn` with `settings`' sizes, TLS and codecs. Not `required`
    (a replica): a server that cannot be reached now leaves the pool empty, to be
    filled when it answers, instead of raising UnavailableError."""
    pool = Pool(settings, Opener(settings, dsn, reset_policy), reset_policy)
    await pool.open(required=required)
    return pool


class Lender(Protocol):
    """What lends connections: a pool, or the cluster handle (its primary's)."""

    def acquire(self) -> AbstractAsyncContextManager[Connection]: ...


@asynccontextmanager
async def acquire(db: Lender) -> AsyncIterator[Connection]:
    """A connection from `db` (a pool, or the cluster handle's primary), checked as
    DB_POOL_PRE_PING and DB_POOL_RECYCLE promise; errors arrive as the project's."""
    async with db.acquire() as conn:
        yield conn
