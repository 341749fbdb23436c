"""A primary and its streaming replicas behind one handle that is used like a pool.

    db = await create_database()   # DATABASE_URL, DB_REPLICA_URLS
    lot = await lots.get_lot(db, lot_id=lot_id)            # read-only: a replica
    async with transaction(db, actor="alice") as conn:      # always the primary
        await lots.update_lot_status(conn, ...)
    lot = await lots.get_lot(db, lot_id=lot_id)            # sees the update (below)

Routing. A statement goes to a replica only when the generator classed its query
read-only (`chip_quality_queries.READ_ONLY_QUERIES`) and it is run on the handle
itself, outside `transaction()`. Writing queries, every transaction and
everything inside one, and SQL the generator did not compile go to the primary.

Read-your-writes. After a write commits through the handle, the runtime notes the
primary's WAL insert position (`pg_current_wal_insert_lsn()`, at or past the
commit record) in a context variable: every later read in the same asyncio
context (a FastAPI request, a task and the tasks it starts) goes to a replica only
if that replica has replayed up to it, else to the primary. `consistency_token()`
and `reading_after(token)` carry the position across contexts (a client can send
it back with its next request).

Bounded staleness. A monitor measures each replica every DB_REPLICA_CHECK_INTERVAL
seconds: its replay position against the primary's positions sampled before.
A replica's staleness is the time since the primary was at a position the replica
has not replayed yet; past DB_REPLICA_MAX_LAG, or down, or not a standby, it is
out of rotation until a later check finds it well. A replica read that fails
because the replica went away is run again on the primary (reads are safe to
repeat); the caller sees no error when the primary can answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import chip_quality_queries

from ._errors import DatabaseError, UnavailableError
from ._pool import Pool, acquire, open_pool
from ._redact import redact_url
from ._settings import DatabaseSettings, SettingsError, load_settings

# SQL of the generated queries that only read (the generator decides; see its README).
READ_ONLY_QUERIES: frozenset[str] = chip_quality_queries.READ_ONLY_QUERIES

# The WAL position a read in this context must see (0: none).
_floor: ContextVar[int] = ContextVar("chip_quality_db_read_floor", default=0)

_READ_METHODS = frozenset({"fetch", "fetchrow", "fetchval", "fetchmany"})
_STANDBY_STATE = "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text"
PRIMARY_POSITION = "SELECT pg_current_wal_insert_lsn()::text"


def lsn(text: str | None) -> int:
    """A WAL position such as `0/3000148` as a number (0 for None)."""
    if not text:
        return 0
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def consistency_token() -> str:
    """The WAL position this context's reads must see, to hand to another context."""
    return str(_floor.get())


@contextlib.contextmanager
def reading_after(token: str | None) -> Iterator[None]:
    """Reads inside see at least what `token` (from `consistency_token()`) saw."""
    try:
        position = int(token) if token else 0
    except ValueError:
        raise ValueError(f"not a consistency token: {token!r}") from None
    reset = _floor.set(max(_floor.get(), position))
    try:
        yield
    finally:
        _floor.reset(reset)


def note_write(position: int) -> None:
    """Later reads in this context must see `position` (a write's commit)."""
    if position > _floor.get():
        _floor.set(position)


@dataclass
class Replica:
    """One standby as the monitor last found it."""

    pool: Pool
    url: str  # for display: the password masked
    up: bool = False
    replayed: int = 0  # WAL position replayed
    staleness: float = float("inf")  # seconds behind the primary, as measured
    error: str | None = "not checked yet"
    checked_at: float = 0.0


@dataclass
class _PrimaryHistory:
    """The primary's WAL positions at recent checks: (monotonic time, position)."""

    samples: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=512))

    def staleness(self, replayed: int, now: float) -> float:
        """Seconds since the primary was first at a position the replica lacks."""
        for at, position in self.samples:
            if position > replayed:
                return now - at
        return 0.0


class Database(Pool):
    """The primary's pool, routing read-only generated queries to healthy replicas."""

    replicas: list[Replica]
    _history: _PrimaryHistory
    _monitor: asyncio.Task[None] | None
    _turn: Iterator[int]

    def _setup_cluster(self, replicas: list[Replica]) -> None:
        self.replicas = replicas
        self._history = _PrimaryHistory()
        self._monitor = None
        self._turn = itertools.count()

    # -- routing -------------------------------------------------------------

    async def _run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if not self.replicas:
            return await super()._run(method, *args, **kwargs)
        if not (method in _READ_METHODS and args and args[0] in READ_ONLY_QUERIES):
            return await self._write(method, *args, **kwargs)
        replica = self._pick(_floor.get())
        if replica is not None:
            try:
                return await replica.pool._run(method, *args, **kwargs)
            except UnavailableError as exc:
                replica.up, replica.error = False, str(exc)  # the primary answers instead
        return await super()._run(method, *args, **kwargs)

    async def _write(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run on the primary, then note where its WAL stands for read-your-writes."""
        async with acquire(self) as conn:
            result = await getattr(conn, method)(*args, **kwargs)
            if not conn.is_in_transaction():  # committed: autocommit statement
                note_write(lsn(await conn.fetchval(PRIMARY_POSITION)))
        return result

    def _pick(self, floor: int) -> Replica | None:
        limit = self.settings.replica_max_lag
        usable = [r for r in self.replicas if r.up and r.staleness <= limit and r.replayed >= floor]
        if not usable:
            return None
        return usable[next(self._turn) % len(usable)]

    # -- monitoring ------------------------------------------------------------

    async def check_replicas(self) -> None:
        """Measure the primary's position and each replica's replay and staleness."""
        timeout = min(self.settings.pool_timeout, max(self.settings.replica_check_interval, 1.0))
        try:
            answer = await asyncio.wait_for(super()._run("fetchval", PRIMARY_POSITION), timeout)
            position = lsn(answer)
        except (DatabaseError, TimeoutError):
            return  # the primary itself is away: leave the replicas as they were
        now = time.monotonic()
        self._history.samples.append((now, position))
        await asyncio.gather(*(self._check(replica, timeout) for replica in self.replicas))

    async def _check(self, replica: Replica, timeout: float) -> None:
        try:
            row = await asyncio.wait_for(replica.pool._run("fetchrow", _STANDBY_STATE), timeout)
        except (DatabaseError, TimeoutError) as exc:
            replica.up, replica.error = False, str(exc) or "no answer in time"
        else:
            recovering, replayed = row[0], row[1]
            replica.checked_at = time.monotonic()
            if not recovering:
                replica.up, replica.error = False, "not a standby (pg_is_in_recovery() is false)"
                return
            replica.replayed = lsn(replayed)
            replica.staleness = self._history.staleness(replica.replayed, replica.checked_at)
            lagging = replica.staleness > self.settings.replica_max_lag
            replica.up = not lagging
            replica.error = (
                f"{replica.staleness:.1f} s behind, past DB_REPLICA_MAX_LAG" if lagging else None
            )

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.settings.replica_check_interval)
            with contextlib.suppress(Exception):  # a failed round is retried next time
                await self.check_replicas()

    def start_monitor(self) -> None:
        if self.replicas and self._monitor is None:
            self._monitor = asyncio.get_running_loop().create_task(self._watch())

    async def close(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
            self._monitor = None
        for replica in self.replicas:
            await replica.pool.close()
        await super().close()


async def create_database(settings: DatabaseSettings | None = None) -> Database:
    """The primary (DATABASE_URL) and its replicas (DB_REPLICA_URLS), checked: the
    primary must not be a standby and each replica must be one."""
    settings = settings or load_settings()
    primary = await open_pool(settings, settings.dsn(), Database)
    assert isinstance(primary, Database)
    replicas: list[Replica] = []
    primary._setup_cluster(replicas)
    try:
        if await primary.fetchval("SELECT pg_is_in_recovery()"):
            raise SettingsError(
                f"DATABASE_URL: {settings.display_url} is a standby (pg_is_in_recovery() is "
                "true): the primary must be writable"
            )
        for dsn in settings.replica_dsns():
            pool = await open_pool(settings, dsn, Pool)
            replicas.append(Replica(pool, redact_url(dsn)))
            if not await pool.fetchval("SELECT pg_is_in_recovery()"):
                raise SettingsError(
                    f"DB_REPLICA_URLS: {redact_url(dsn)} is not a standby "
                    "(pg_is_in_recovery() is false): writes there would not reach the primary"
                )
        await primary.check_replicas()
    except BaseException:
        await primary.close()
        raise
    primary.start_monitor()
    return primary
