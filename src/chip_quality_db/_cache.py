"""The query result cache: results of the queries the SQL marks `-- @cache <ttl>`,
never served after a committed write to a table they read, whoever wrote it.

    db = await create_database()          # or create_pool()
    cache = await enable_cache(db)        # opens the listening connection
    part = await parts.get_part_by_number(db, part_number="P-1")   # cached
    ...
    await cache.close()

How a generated function reaches it. A function whose query is marked asks
`result_cache(db)` (generated `_runtime.py`) for the executor's `result_cache`
attribute: the pool or cluster handle this module was enabled on has one; a
connection, a transaction's connection or a `ReadOnly` has none, and runs the
query as always. Queries that are not marked never ask.

The rule (issue 27). The migration 20261207000300 puts a statement-level trigger
on every business table that sends `pg_notify('chip_quality_cache', <table>)`;
PostgreSQL delivers it when the writing transaction commits. One listening
connection per process advances the table's version for each. A result is stored
with the versions of the tables its query reads (the generator's `reads`), taken
before the query ran, and is served only while all are still current and its
time to live (the `@cache` line) has not passed: a write that committed before the
read began either advanced a version already (the entry is not served) or its
notification is still on its way (the window docs/caching.md measures).

Own writes, without the window. A generated query that writes, run on the handle
(one statement, committed when it returns), advances the versions of the tables
the generator says it writes as it returns. `transaction()` on the handle waits,
after its COMMIT, until this process's listener has heard its own notifications:
it sends one more notification of its own and waits for it (notifications arrive
in commit order), which covers whatever the transaction wrote, plain SQL, cascades
and triggers' writes included.

Listener down. While the listening connection is away, nothing is served nor
stored (each call a bypass); when it is back (LISTEN done first), every entry is
dropped and the epoch advances, so a notification missed meanwhile can never be
served as fresh data. It is pinged every DB_CACHE_LISTENER_PING seconds.

Replicas. A miss goes where the query would have gone (the handle's routing). On
a cluster handle with replicas, a replica may not have replayed a write that a
notification already announced: a miss then reads at or past the primary's WAL
position read after the last notification (`reading_after`), and a result read
while that position is being read is returned but not stored.

Rows served are shared: an entry holds the result the miss returned, and every hit
hands out that same row (a list result: a new list of the same rows). Nobody can
change it: row models are frozen, and `_shared_rows.read_only` makes their JSON
values and lists read-only before the miss returns (docs/caching.md measures this
against the copies a hit could make instead). The miss's row is stored after the
call returned, while the loop waits on I/O (`_store_later`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import itertools
import logging
import operator
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from asyncpg import Record
from pydantic import BaseModel

from chip_quality_queries import ReadExecutor, ReadOnly
from chip_quality_queries._catalog import QUERIES

from . import _telemetry
from ._connections import Connection, connect
from ._read_floor import lsn, reading_after
from ._replicas import PRIMARY_POSITION
from ._settings import DatabaseSettings, SettingsError
from ._shared_rows import NotShareableError, read_only, size_of

logger = logging.getLogger(__name__)

T = TypeVar("T")

CHANNEL = "chip_quality_cache"
NOTIFY = "SELECT pg_notify($1, $2)"
PING = "SELECT 1"
# A notification this process sends to itself: `sync <process> <n>` (no table is named so).
_SYNC = "sync "


@dataclass(frozen=True, slots=True)
class CachedQuery:
    """A query marked cached: its name, the tables it reads, its time to live."""

    name: str
    reads: tuple[str, ...]
    ttl: float
    # The versions of `reads` from a versions dict that holds every table read:
    # an itemgetter, one C call where a loop over `reads` costs a frame per miss.
    tag: Callable[[dict[str, int]], object]


def _tag_of(reads: tuple[str, ...]) -> Callable[[dict[str, int]], object]:
    if not reads:
        return lambda versions: ()
    return operator.itemgetter(*reads)


def _query_sql(module: str, function: str, name: str) -> str:
    sql = getattr(importlib.import_module(f"chip_quality_queries.{module}"), function.upper())
    if not isinstance(sql, str) or not sql.startswith(f"-- name: {name} "):
        raise RuntimeError(f"chip_quality_queries.{module}.{function.upper()} is not {name}'s SQL")
    return sql


def _catalog() -> tuple[dict[str, CachedQuery], dict[str, tuple[str, ...]]]:
    """By SQL: the queries marked cached, and the tables each writing query writes
    (from the generator's catalog, `chip_quality_queries._catalog.QUERIES`)."""
    cached: dict[str, CachedQuery] = {}
    writes: dict[str, tuple[str, ...]] = {}
    for info in QUERIES:
        if info.cache_seconds is None and not info.writes:
            continue
        module, function = info.function.split(".")
        sql = _query_sql(module, function, info.name)
        if info.cache_seconds is not None:
            cached[sql] = CachedQuery(
                info.name, info.reads, info.cache_seconds, _tag_of(info.reads)
            )
        if info.writes:
            writes[sql] = info.writes
    return cached, writes


CACHED_QUERIES, WRITES = _catalog()
# Every table a cached query reads: a versions dict starts with each at 0.
_READ_TABLES = sorted({table for info in CACHED_QUERIES.values() for table in info.reads})


class CacheStats(BaseModel):
    """What health_check reports of the cache."""

    listening: bool  # False: the listener is away, nothing is served
    entries: int
    bytes: int
    max_entries: int
    max_bytes: int
    hits: int
    misses: int
    evictions: int  # entries pushed out by the bounds (stale ones dropped are not counted)
    bypasses: int  # calls that could not use the cache: listener away, key not storable
    invalidations: int  # notifications heard (one per table per committed transaction)
    reconnects: int  # times the listener came back (each empties the cache)


def _hashable(value: object) -> Hashable:
    """`value` with its lists as tuples and its dicts as sorted pairs (a key to store under)."""
    if isinstance(value, list | tuple):
        items: list[object] | tuple[object, ...] = value  # pyright: ignore[reportUnknownVariableType]
        return (type(value).__name__, *[_hashable(item) for item in items])
    if isinstance(value, dict):
        pairs: dict[object, object] = value  # pyright: ignore[reportUnknownVariableType]
        return ("dict", *sorted((repr(k), _hashable(v)) for k, v in pairs.items()))
    if isinstance(value, BaseModel):
        return (type(value).__name__, value.model_dump_json())
    return value


# -- the cache -------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    epoch: int
    versions: object  # what the query's `tag` read before the query ran
    expires: float  # time.monotonic()
    value: object  # the shared result; a list result as a tuple of its rows
    many: bool  # a list result: each hit gets a new list of the rows
    size: int


class _Reader(ReadOnly):
    """What a miss runs the query on: the handle's own routing, through its read
    methods as they were before `attach` wrapped them (a read has no table to
    advance). They are the handle's bound methods themselves, not methods of this
    class: a miss pays no frame of the cache's between the query and the pool."""

    __slots__ = ("fetch", "fetchrow", "fetchval")

    def __init__(self, handle: Any) -> None:
        super().__init__(handle)
        self.fetch = handle.fetch  # type: ignore[method-assign]
        self.fetchrow = handle.fetchrow  # type: ignore[method-assign]
        self.fetchval = handle.fetchval  # type: ignore[method-assign]


class _AroundReader(ReadOnly):
    """A reader whose reads run inside a context: a replica floor a miss reads at or
    past, or the span of a traced miss or bypass."""

    __slots__ = ("around",)

    def __init__(
        self, reader: ReadExecutor, around: Callable[[], contextlib.AbstractContextManager[Any]]
    ) -> None:
        super().__init__(reader)  # type: ignore[arg-type]
        self.around = around

    async def fetch(self, query: str, *args: Any, timeout: float | None = None) -> list[Record]:
        with self.around():
            return await super().fetch(query, *args, timeout=timeout)

    async def fetchrow(self, query: str, *args: Any, timeout: float | None = None) -> Record | None:
        with self.around():
            return await super().fetchrow(query, *args, timeout=timeout)

    async def fetchval(
        self, query: str, *args: Any, column: int = 0, timeout: float | None = None
    ) -> Any:
        with self.around():
            return await super().fetchval(query, *args, column=column, timeout=timeout)


class _Lookup:
    """What `QueryCache.lookup` answers (the generated functions' `CacheLookup`):
    here a bypass, run on `reader` and kept nowhere; `_Hit` and `_Miss` below."""

    __slots__ = ("reader",)
    hit = False
    value: Any = None

    def __init__(self, reader: ReadExecutor) -> None:
        self.reader = reader

    def keep(self, result: T) -> T:
        return result


class _Hit(_Lookup):
    """A current result: the generated function returns `value`."""

    __slots__ = ("value",)
    hit = True

    def __init__(self, reader: ReadExecutor, value: object) -> None:
        self.reader = reader
        self.value = value


class _Miss(_Lookup):
    """No current result: run on `reader`, then `keep` what the query returned."""

    __slots__ = ("cache", "epoch", "info", "kept", "slot", "versions")

    def __init__(
        self,
        cache: QueryCache,
        reader: ReadExecutor,
        info: CachedQuery,
        slot: tuple[str, Hashable],
        epoch: int,
        versions: object,
    ) -> None:
        self.reader = reader
        self.cache = cache
        self.info = info
        self.slot = slot
        self.epoch = epoch  # the cache's epoch and the versions of the tables the
        self.versions = versions  # query reads, before it ran
        self.kept: object = None  # what keep made read-only, to store

    def keep(self, result: T) -> T:
        """`result` made read-only (the caller gets what every hit will get) and
        returned; stored once the caller has it, if no write to a table it read
        committed (nor the listener came back) since the lookup."""
        try:
            kept = read_only(result)
        except NotShareableError:  # a kind of value no caller could be kept from changing
            return result
        self.kept = kept
        self.cache._store_later(self)
        return kept


# What an entry costs beyond its row: the entry, its key, the OrderedDict's links
# (against tracemalloc in `make bench`, docs/caching.md).
ENTRY_OVERHEAD = 400


class QueryCache:
    """The cache of one pool or cluster handle (see the module docstring)."""

    def __init__(self, handle: Any, settings: DatabaseSettings) -> None:
        self.handle = handle
        self.settings = settings
        self.max_entries = settings.cache_max_entries
        self.max_bytes = settings.cache_max_bytes
        self.reader: ReadExecutor = _Reader(handle)
        self._replicas = bool(getattr(handle, "replicas", None))
        self._entries: OrderedDict[tuple[str, Hashable], _Entry] = OrderedDict()
        self._bytes = 0
        self._versions = dict.fromkeys(_READ_TABLES, 0)
        self._unstored: list[_Miss] = []  # see _store_later
        self._epoch = 0
        self.listening = False
        self.listening_since = 0.0  # monotonic time it last started serving
        self._floor = "0"  # replicas: the primary's WAL position after the last notification
        self._floor_pending = 0  # replicas: notifications whose position is being read
        self._process = secrets.token_hex(4)
        self._syncs = itertools.count()
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._listener: Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self.hits = self.misses = self.evictions = self.bypasses = 0
        self.invalidations = self.reconnects = 0
        # (monotonic time, table) of the last notifications heard: what tests measure
        # the notification window with.
        self.heard: deque[tuple[float, str]] = deque(maxlen=10_000)

    # -- what the generated functions call ---------------------------------------------

    async def lookup(self, query: str, key: Hashable) -> _Lookup:
        """The stored result of `query` with parameters `key`, or where to run it and
        what to keep (a coroutine as the Redis backend's is, so the generated code
        awaits either)."""
        if self._unstored:
            self._store_unstored()  # a result this task just returned is found
        info = CACHED_QUERIES.get(query)
        if info is None or not self.listening:
            self.bypasses += 1
            return _Lookup(self._miss_reader(info, "bypass"))
        slot = (query, key)
        try:
            entry = self._entries.get(slot)
        except TypeError:  # a list or a dict among the parameters
            slot = (query, _hashable(key))
            entry = self._entries.get(slot)
        if entry is not None:
            if (
                entry.epoch == self._epoch
                and entry.versions == info.tag(self._versions)
                and entry.expires > time.monotonic()
            ):
                self._entries.move_to_end(slot)
                self.hits += 1
                if _telemetry.tracing():
                    _telemetry.cache_event(info.name, "hit")
                value = entry.value
                return _Hit(self.reader, list(value) if entry.many else value)  # type: ignore[call-overload]
            self._drop(slot, entry)
        self.misses += 1
        reader = self._miss_reader(info, "miss")
        if self._replicas and self._floor_pending:
            return _Lookup(reader)  # a result read while the floor is read is not kept
        # The versions before the query runs: a write that commits while it runs
        # advances one of them and the result is not kept.
        return _Miss(self, reader, info, slot, self._epoch, info.tag(self._versions))

    def _miss_reader(self, info: CachedQuery | None, outcome: str) -> ReadExecutor:
        """Where a miss or a bypass runs: the handle's routing, on replicas at or past
        the floor, in the query's span when a tracer records."""
        reader = self.reader
        if self._replicas and outcome == "miss":
            floor = self._floor
            reader = _AroundReader(reader, lambda: reading_after(floor))
        if info is not None and _telemetry.tracing():
            name = info.name
            reader = _AroundReader(reader, lambda: _telemetry.cache_span(name, outcome))
        return reader

    def _store_later(self, lookup: _Miss) -> None:
        """Store what a miss returned once its caller has it: the loop runs this
        while it waits for the next answer from the server, not before the call
        returns (sizing and storing cost a miss some 6 us with cold CPU caches;
        docs/caching.md). Nothing is lost meanwhile: `kept` is read-only already,
        the lookup's versions and epoch are checked when it is stored, and the
        next lookup, `stats()` and `settled()` store whatever is still pending."""
        if not self._unstored:
            asyncio.get_running_loop().call_soon(self._store_unstored)
        self._unstored.append(lookup)

    def _store_unstored(self) -> None:
        pending, self._unstored = self._unstored, []
        versions = self._versions
        for lookup in pending:
            if lookup.epoch == self._epoch and lookup.versions == lookup.info.tag(versions):
                self._store(lookup)

    def _store(self, lookup: _Miss) -> None:
        """Keep what `lookup` kept (read-only) under its slot, unless it is too big."""
        kept, slot = lookup.kept, lookup.slot
        size = size_of(kept) + ENTRY_OVERHEAD
        if size > self.max_bytes:
            return
        many = type(kept) is list
        if many:
            kept = tuple(kept)  # type: ignore[arg-type]  # pyright: ignore[reportUnknownArgumentType]
        old = self._entries.pop(slot, None)
        if old is not None:
            self._bytes -= old.size
        expires = time.monotonic() + lookup.info.ttl
        self._entries[slot] = _Entry(lookup.epoch, lookup.versions, expires, kept, many, size)
        self._bytes += size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size
            self.evictions += 1

    async def settled(self) -> None:
        """Return once what misses returned is stored (in the background here as in
        the Redis backend)."""
        self._store_unstored()

    def _drop(self, slot: tuple[str, Hashable], entry: _Entry) -> None:
        del self._entries[slot]
        self._bytes -= entry.size

    def clear(self) -> None:
        """Drop every entry, and serve none stored before (the epoch advances)."""
        self._entries.clear()
        self._bytes = 0
        self._epoch += 1

    # -- invalidation --------------------------------------------------------------------

    def advance(self, tables: tuple[str, ...]) -> None:
        """A write to `tables` committed: results that read one are not served again."""
        versions = self._versions
        for table in tables:
            versions[table] = versions.get(table, 0) + 1

    async def advance_written(self, tables: tuple[str, ...]) -> None:
        """A statement on the handle that writes `tables` returned (committed)."""
        self.advance(tables)

    async def _reset(self) -> None:
        """The listener (re)started: nothing stored before may be served (the epoch
        advances; the versions go on counting)."""
        self.clear()

    def _heard(self, conn: object, pid: int, channel: str, payload: str) -> None:
        if payload.startswith(_SYNC):
            waiter = self._waiting.pop(payload, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        self.heard.append((time.monotonic(), payload))
        self.invalidations += 1
        self.advance((payload,))
        if self._replicas and self._listener is not None:
            self._floor_pending += 1
            self._start(self._read_floor(self._listener))

    async def _read_floor(self, conn: Connection) -> None:
        try:
            position = await conn.fetchval(PRIMARY_POSITION, timeout=self.settings.pool_timeout)
            if lsn(position) > int(self._floor):
                self._floor = str(lsn(position))
        except Exception as exc:  # the listener's own failure is handled by its task
            logger.debug("the primary's position after a notification: %r", exc)
            self.clear()  # what the position would have protected is dropped instead
        finally:
            self._floor_pending -= 1

    async def heard_own_writes(self, conn: Connection) -> None:
        """After a COMMIT on `conn`: return once this process's listener has heard every
        notification of that transaction (see the module docstring). Called by
        `transaction()`. When the listener does not answer within DB_POOL_TIMEOUT,
        the cache stops serving until it is back."""
        if not self.listening:
            return  # nothing is served; the cache is emptied when the listener returns
        token = f"{_SYNC}{self._process} {next(self._syncs)}"
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[token] = waiter
        try:
            await conn.execute(NOTIFY, CHANNEL, token)
            async with asyncio.timeout(self.settings.pool_timeout):
                await waiter
        except TimeoutError:
            logger.warning("the cache's listener did not hear a notification in time")
            self._stop_serving()
            self._lost.set()
        finally:
            self._waiting.pop(token, None)

    # -- the listening connection ----------------------------------------------------------

    async def start(self) -> None:
        """Open the listening connection (its first failure is raised), then keep it."""
        await self._connect()
        self._task = asyncio.get_running_loop().create_task(self._keep_listening())

    async def _connect(self) -> None:
        conn = await connect(self.settings)
        try:
            conn.add_termination_listener(self._terminated)
            await conn.add_listener(CHANNEL, self._heard)
        except BaseException:
            conn.terminate()
            raise
        self._listener = conn
        self._lost.clear()
        # LISTEN is in place: whatever commits from now on is heard. What committed
        # before, while nobody listened, may be in any entry: they all go.
        await self._reset()
        self._floor = "0"
        if self._replicas:
            self._floor = str(lsn(await conn.fetchval(PRIMARY_POSITION)))
        self.listening_since = time.monotonic()
        self.listening = True

    def _terminated(self, conn: object) -> None:
        if conn is self._listener:
            self._stop_serving()
            self._lost.set()

    def _stop_serving(self) -> None:
        self.listening = False
        self.clear()
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_result(None)  # nothing is served now: no need to wait
        self._waiting.clear()

    async def _keep_listening(self) -> None:
        every = self.settings.cache_listener_ping
        while not self._closed:
            conn = self._listener
            if conn is not None and not conn.is_closed() and self.listening:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(every):
                        await self._lost.wait()
                if not self._lost.is_set():
                    try:
                        await conn.fetchval(PING, timeout=every)
                        continue
                    except Exception as exc:
                        logger.warning("the cache's listening connection failed: %r", exc)
            self._stop_serving()
            old, self._listener = self._listener, None
            if old is not None:
                old.terminate()
            try:
                await self._connect()
                self.reconnects += 1
            except Exception as exc:
                logger.warning("the cache's listening connection cannot reopen yet: %r", exc)
                await asyncio.sleep(min(every, 1.0))

    def _start(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop listening and serving; the handle runs every query on the database again."""
        self._closed = True
        self._stop_serving()
        self.detach()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._tasks):
            task.cancel()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close(timeout=self.settings.pool_timeout)
            self._listener = None

    # -- attaching to a handle ---------------------------------------------------------------

    _METHODS = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "copy_records_to_table")

    def attach(self) -> None:
        """Become the handle's `result_cache`, and advance the written tables' versions
        after each statement run on the handle (its query methods are wrapped, on this
        instance only: a handle without a cache keeps the plain ones)."""
        handle = self.handle
        own = vars(handle)
        # What the handle held as its own attributes before (the cluster handle sets its
        # query methods per instance), to put back on close; None: the class's.
        self._originals: dict[str, Any] = {name: own.get(name) for name in self._METHODS}
        for method in self._METHODS[:-1]:
            setattr(handle, method, self._advancing(getattr(handle, method)))
        copy = handle.copy_records_to_table

        async def copy_records_to_table(table_name: str, **kwargs: Any) -> Any:
            try:
                return await copy(table_name, **kwargs)
            finally:
                await self.advance_written((table_name,))

        handle.copy_records_to_table = copy_records_to_table
        handle.result_cache = self

    def detach(self) -> None:
        handle = self.handle
        if getattr(handle, "result_cache", None) is not self:
            return
        del handle.result_cache
        for method, original in self._originals.items():
            if original is None:
                delattr(handle, method)
            else:
                setattr(handle, method, original)

    def _advancing(self, statement: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        async def call(query: str, *args: Any, **kwargs: Any) -> Any:
            tables = WRITES.get(query)
            if tables is None:
                return await statement(query, *args, **kwargs)
            try:
                return await statement(query, *args, **kwargs)
            finally:
                # Committed when it returns; when it raised it may have committed all the
                # same (the connection lost after COMMIT): advancing costs only a miss.
                await self.advance_written(tables)

        return call

    def listener_pid(self) -> int | None:
        """The server process of the listening connection (None while it is away)."""
        conn = self._listener
        return conn.get_server_pid() if conn is not None and not conn.is_closed() else None

    def stats(self) -> CacheStats:
        self._store_unstored()
        return CacheStats(
            listening=self.listening,
            entries=len(self._entries),
            bytes=self._bytes,
            max_entries=self.max_entries,
            max_bytes=self.max_bytes,
            hits=self.hits,
            misses=self.misses,
            evictions=self.evictions,
            bypasses=self.bypasses,
            invalidations=self.invalidations,
            reconnects=self.reconnects,
        )


async def enable_cache(
    handle: Any, settings: DatabaseSettings | None = None, *, redis_url: str | None = None
) -> QueryCache:
    """Cache the marked queries run on `handle` (a pool or the cluster handle) from now
    on; `await cache.close()` stops. Opens one listening connection with the handle's
    settings (or `settings`), and fails if it cannot. With `redis_url` (or
    DB_CACHE_REDIS_URL) the entries and versions are kept in Redis, shared by every
    process that uses the same Redis and database (_cache_redis.py; the `redis` extra)."""
    if getattr(handle, "result_cache", None) is not None:
        raise ValueError("this handle already has a cache (enable_cache was called twice)")
    settings = settings or handle.settings
    if settings.pgbouncer == "transaction":
        raise SettingsError(
            "enable_cache: DB_PGBOUNCER=transaction: the cache's LISTEN needs a session of its "
            "own on the server; pass enable_cache(db, settings) with a DATABASE_URL that "
            "reaches PostgreSQL directly"
        )
    redis_url = redis_url or settings.cache_redis_url
    if redis_url:
        from ._cache_redis import RedisQueryCache

        cache: QueryCache = RedisQueryCache(handle, settings, redis_url)
    else:
        cache = QueryCache(handle, settings)
    await cache.start()
    cache.attach()
    return cache
