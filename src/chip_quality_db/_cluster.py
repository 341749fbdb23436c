"""A primary and its streaming replicas behind one handle that is used like a pool.

    db = await create_database()   # DATABASE_URL, DB_REPLICA_URLS
    lot = await lots.get_lot(db, lot_id=lot_id)            # read-only: a replica
    async with transaction(db, actor="alice") as conn:      # always the primary
        await lots.update_lot_status(conn, ...)
    lot = await lots.get_lot(db, lot_id=lot_id)            # sees the update (below)

The handle is made of parts, not derived from a pool: the primary's pool, the
replicas' pools and a router (_replicas.py). It has the query methods of the
generated code's `Executor`, so generated functions take it as they take a pool.

Routing. A statement goes to a replica only when the generator classed its query
read-only (`chip_quality_queries.READ_ONLY_QUERIES`) and it is run on the handle
itself, outside `transaction()`. Writing queries, every transaction and
everything inside one, and SQL the generator did not compile go to the primary.
Without replicas there is nothing to route: the handle's query methods are the
primary pool's own (no layer in between).

Read-your-writes (_read_floor.py). After a write commits through the handle, on
the statement path or at the end of `transaction()`, `advance_read_floor` notes
the primary's WAL position: later reads in the same asyncio context go to a
replica only once it has replayed that far. Reading the position can fail (the
connection dropped right after COMMIT); the write committed all the same, so the
caller gets its result, never an error, and the context's reads go to the primary
for the lag cap instead.

Failure. A replica read that fails because the replica went away is run again on
another replica in rotation, else on the primary (reads are safe to repeat); the
caller sees no error while one of them can answer.

Failover (docs/ha.md). DATABASE_URL may list every node with
target_session_attrs=read-write: the primary's pool connects to whichever node is
the primary now, and drops its connections when that node dies or refuses a write
as read-only (_pool.py). The replicas' roles are measured, not configured: a node in
DB_REPLICA_URLS serves reads while it is a standby, so a promoted standby leaves the
rotation and a demoted primary that rejoins as a standby enters it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeAlias

import chip_quality_queries

from ._connections import Connection, ResetPolicy
from ._errors import UnavailableError
from ._pool import Checkout, Pool, open_pool
from ._read_floor import (
    consistency_token,
    current,
    lsn,
    note_unknown_write,
    note_write,
    reading_after,
)
from ._redact import redact_url
from ._replicas import PRIMARY_POSITION, Replica, Router
from ._settings import DatabaseSettings, SettingsError, load_settings

logger = logging.getLogger(__name__)

# SQL of the generated queries that only read (the generator decides; see its README).
READ_ONLY_QUERIES: frozenset[str] = chip_quality_queries.READ_ONLY_QUERIES

IS_STANDBY = "SELECT pg_is_in_recovery()"

__all__ = [
    "Database",
    "Handle",
    "consistency_token",
    "create_database",
    "lsn",
    "reading_after",
]

Statement = Callable[..., Coroutine[Any, Any, Any]]


class Database:
    """The primary's pool, its replicas' pools and the router between them."""

    # The query methods the generated code calls (its `Executor`): the primary's own
    # without replicas, the routing ones below with replicas (set in __init__).
    execute: Statement
    executemany: Statement
    fetch: Statement
    fetchrow: Statement
    fetchval: Statement
    copy_records_to_table: Statement

    def __init__(self, settings: DatabaseSettings, primary: Pool, replicas: list[Replica]) -> None:
        self.settings = settings
        self.primary = primary
        self.replicas = replicas
        self.router = Router(replicas, settings)
        self._monitor: asyncio.Task[None] | None = None
        if replicas:
            self.execute = self._write_execute
            self.executemany = self._write_executemany
            self.copy_records_to_table = self._write_copy_records_to_table
            self.fetch = self._read_fetch
            self.fetchrow = self._read_fetchrow
            self.fetchval = self._read_fetchval
        else:
            self.execute = primary.execute
            self.executemany = primary.executemany
            self.copy_records_to_table = primary.copy_records_to_table
            self.fetch = primary.fetch
            self.fetchrow = primary.fetchrow
            self.fetchval = primary.fetchval

    # -- routing -------------------------------------------------------------------

    async def _read(self, method: str, query: str, *args: Any, **kwargs: Any) -> Any:
        if query not in READ_ONLY_QUERIES:
            return await self._write(method, query, *args, **kwargs)
        replica = self.router.pick(current())
        while replica is not None:
            try:
                return await getattr(replica.pool, method)(query, *args, **kwargs)
            except UnavailableError as exc:
                # Out of rotation: another replica answers instead, else the primary
                # (during a failover there is no primary: the standbys carry the reads).
                self.router.went_away(replica, exc)
            replica = self.router.pick(current())
        return await getattr(self.primary, method)(query, *args, **kwargs)

    async def _write(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run on the primary, then advance the read floor past the commit."""
        async with self.primary.acquire() as conn:
            result = await getattr(conn, method)(*args, **kwargs)
            if conn.is_closed() or not conn.is_in_transaction():  # autocommit: committed
                await self.advance_read_floor(conn)
        return result

    async def _read_fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._read("fetch", query, *args, **kwargs)

    async def _read_fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._read("fetchrow", query, *args, **kwargs)

    async def _read_fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._read("fetchval", query, *args, **kwargs)

    async def _write_execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._write("execute", query, *args, **kwargs)

    async def _write_executemany(self, command: str, args: Any, **kwargs: Any) -> Any:
        return await self._write("executemany", command, args, **kwargs)

    async def _write_copy_records_to_table(self, table_name: str, **kwargs: Any) -> Any:
        return await self._write("copy_records_to_table", table_name, **kwargs)

    async def advance_read_floor(self, conn: Connection) -> None:
        """After a commit on `conn` (a primary connection): later reads in this context
        must see it. Never turns the committed write into an error: when the primary's
        position cannot be read, this context's reads go to the primary until every
        replica in rotation must have replayed the write (DB_REPLICA_MAX_LAG plus one
        check interval). Called by the statement path and by `transaction()`."""
        if not self.replicas:
            return  # every read goes to the primary anyway
        primary_for = self.settings.replica_max_lag + self.settings.replica_check_interval
        try:
            answer = await conn.fetchval(PRIMARY_POSITION, timeout=self.settings.pool_timeout)
        except Exception as exc:
            logger.warning(
                "the WAL position after a commit could not be read (%s): this context "
                "reads from the primary for %.1f s",
                type(exc).__name__,
                primary_for,
            )
            note_unknown_write(primary_for)
            return
        except BaseException:  # cancelled after the commit: still, reads must see it
            note_unknown_write(primary_for)
            raise
        note_write(lsn(answer))

    # -- lending, as a pool does: the primary's connections --------------------------

    def acquire(self) -> Checkout:
        """A connection of the primary (see Pool.acquire)."""
        return self.primary.acquire()

    async def release(self, conn: Connection) -> None:
        await self.primary.release(conn)

    def get_size(self) -> int:
        return self.primary.get_size()

    def get_idle_size(self) -> int:
        return self.primary.get_idle_size()

    def get_min_size(self) -> int:
        return self.primary.get_min_size()

    def get_max_size(self) -> int:
        return self.primary.get_max_size()

    # -- monitoring ------------------------------------------------------------------

    async def check_replicas(self) -> None:
        """Measure the primary's position and each replica's replay and staleness."""
        await self.router.check(self.primary)

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
        await self.primary.close()

    def terminate(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            self._monitor = None
        for replica in self.replicas:
            replica.pool.terminate()
        self.primary.terminate()


async def create_database(
    settings: DatabaseSettings | None = None,
    *,
    reset_policy: ResetPolicy = "transaction-local",
) -> Database:
    """The primary (DATABASE_URL) and its replicas (DB_REPLICA_URLS). It starts
    whenever the primary answers and is writable: a replica that cannot be reached
    starts outside the rotation and joins when a check finds it answering as a
    standby; a replica that is a primary (the same host list as DATABASE_URL, or a
    promoted standby) stays out of it while it is one. Takes what `create_pool` takes."""
    settings = settings or load_settings()
    primary = await open_pool(settings, settings.dsn(), reset_policy)
    replicas: list[Replica] = []
    try:
        if await primary.fetchval(IS_STANDBY):
            raise SettingsError(
                f"DATABASE_URL: {settings.display_url} is a standby (pg_is_in_recovery() is "
                "true): the primary must be writable"
            )
        dsns = settings.replica_dsns()
        opened = await asyncio.gather(
            *(open_pool(settings, dsn, reset_policy, required=False) for dsn in dsns),
            return_exceptions=True,
        )
        for pool, dsn in zip(opened, dsns, strict=True):
            if isinstance(pool, Pool):
                replicas.append(Replica(pool, redact_url(dsn)))
        failed = [error for error in opened if isinstance(error, BaseException)]
        if failed:  # not an outage (those start empty): a wrong setting, say
            raise failed[0]
        db = Database(settings, primary, replicas)
        if replicas:
            await db.check_replicas()
            for replica in replicas:
                if not replica.up:
                    logger.warning(
                        "replica %s starts out of rotation: %s", replica.url, replica.error
                    )
    except BaseException:
        for replica in replicas:
            await replica.pool.close()
        await primary.close()
        raise
    db.start_monitor()
    return db


Handle: TypeAlias = Pool | Database
"""What services hold: a pool (`create_pool`) or the cluster handle (`create_database`)."""
