"""The result cache shared by several processes through Redis (the `redis` extra).

    cache = await enable_cache(db, redis_url="redis://cache:6379/0")

The rule is the in-process cache's (_cache.py): an entry carries the versions of the
tables its query read, taken before it ran, and is served only while they are
current. Here the versions live in Redis (a hash per database), and every process's
listener advances them for each notification it hears (each process adds one: a
version only has to change); an epoch in Redis that any process advances when its
listener comes back drops every entry of every process. A process serves only while
its own listener hears: its writes advance the versions as in-process (a generated
write on the handle as it returns; `transaction()` once the listener has handled its
own notification, which it does after the versions of everything before it).

A hit is one round trip to Redis (the entry, the epoch and the versions of its
tables, pipelined); the bound is Redis's own (`maxmemory` with an LRU policy), and
each entry also expires with its query's time to live.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, TypeAdapter

from chip_quality_queries import ReadExecutor

from ._cache import CACHED_QUERIES, CachedQuery, QueryCache, _hashable, _Hit, _Lookup
from ._settings import DatabaseSettings
from ._shared_rows import IMMUTABLE, NotShareableError, read_only

logger = logging.getLogger(__name__)

T = TypeVar("T")

_MODELS: dict[str, type[BaseModel]] = {}


def _model_name(model: type[BaseModel]) -> str:
    return f"{model.__module__}:{model.__qualname__}"


def _model(name: str) -> type[BaseModel]:
    """A row model of the generated package, by the name an entry gives."""
    found = _MODELS.get(name)
    if found is None:
        module, _, qualname = name.partition(":")
        if module != "chip_quality_queries" and not module.startswith("chip_quality_queries."):
            raise ValueError(f"not a model of the generated package: {name}")
        found = getattr(importlib.import_module(module), qualname)
        if not (isinstance(found, type) and issubclass(found, BaseModel)):
            raise ValueError(f"not a model: {name}")
        _MODELS[name] = found
    return found


# -- the stored form: the result as JSON, validated again on every hit -----------------


@dataclass(frozen=True, slots=True)
class _Stored:
    model: type[BaseModel] | None  # the row model; None: a value that needs no model
    many: bool  # a list of rows
    data: bytes | object  # JSON of the rows; or the immutable value itself


_LIST_ADAPTERS: dict[type[BaseModel], TypeAdapter[list[Any]]] = {}


def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    adapter = _LIST_ADAPTERS.get(model)
    if adapter is None:
        adapter = _LIST_ADAPTERS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return adapter


def freeze(value: object) -> _Stored | None:
    """The JSON form of a result; None for a result of a kind this cache cannot copy
    (it is then returned, not stored)."""
    if isinstance(value, BaseModel):
        return _Stored(type(value), False, value.__pydantic_serializer__.to_json(value))
    if isinstance(value, list):
        items: list[object] = value  # pyright: ignore[reportUnknownVariableType]
        if not items:
            return _Stored(None, True, b"[]")
        model = type(items[0])
        if issubclass(model, BaseModel) and all(type(item) is model for item in items):
            return _Stored(model, True, _list_adapter(model).dump_json(items))
        return None
    if isinstance(value, IMMUTABLE):
        return _Stored(None, False, value)
    return None


def thaw(stored: _Stored) -> Any:
    """A new copy of a result in its JSON form: nothing shared with other callers."""
    model = stored.model
    if model is None:
        return [] if stored.many else stored.data
    if stored.many:
        return _list_adapter(model).validate_json(stored.data)  # type: ignore[arg-type]
    return model.__pydantic_validator__.validate_json(stored.data)  # type: ignore[arg-type]


def _read_only(value: T) -> T:
    """`value` as the in-process cache hands it out: rows and their JSON read-only."""
    try:
        return read_only(value)
    except NotShareableError:
        return value


class _RedisMiss(_Lookup):
    """A miss in Redis: what the query returned is written back in the background."""

    __slots__ = ("cache", "info", "slot", "tag")

    def __init__(
        self,
        cache: RedisQueryCache,
        reader: ReadExecutor,
        info: CachedQuery,
        slot: str,
        tag: list[Any],
    ) -> None:
        self.reader = reader
        self.cache = cache
        self.info = info
        self.slot = slot
        self.tag = tag  # the epoch and versions read with the entry, before the query ran

    def keep(self, result: T) -> T:
        kept = _read_only(result)
        if self.cache.listening:
            self.cache._write_later(self.slot, self.tag, self.info.ttl, kept)
        return kept


class RedisQueryCache(QueryCache):
    """A QueryCache whose entries and versions are in Redis (see the module docstring)."""

    def __init__(self, handle: Any, settings: DatabaseSettings, redis_url: str) -> None:
        super().__init__(handle, settings)
        import redis.asyncio as redis  # the optional extra: `pip install chip-quality-db[redis]`

        self.redis = redis.Redis.from_url(redis_url)
        # One namespace per database: several databases may share a Redis.
        where = hashlib.sha1(settings.dsn().encode(), usedforsecurity=False).hexdigest()[:12]
        self.prefix = f"chip_quality_cache:{where}:"
        self._versions_key = self.prefix + "versions"
        self._epoch_key = self.prefix + "epoch"
        self._heard_queue: asyncio.Queue[str] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.redis.ping()
        self._worker = asyncio.get_running_loop().create_task(self._apply_notifications())
        await super().start()

    def _slot(self, query: str, key: Hashable) -> str:
        try:
            text = repr(_hashable(key))
        except TypeError:
            text = repr(key)
        digest = hashlib.sha256(f"{query}\0{text}".encode()).hexdigest()
        return self.prefix + "entry:" + digest

    async def lookup(self, query: str, key: Hashable) -> _Lookup:
        info = CACHED_QUERIES.get(query)
        if info is None or not self.listening:
            self.bypasses += 1
            return _Lookup(self._miss_reader(info, "bypass"))
        slot = self._slot(query, key)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(slot)
            pipe.get(self._epoch_key)
            pipe.hmget(self._versions_key, list(info.reads))
            raw, epoch, versions = await pipe.execute()
        tag = [int(epoch or 0), [int(v or 0) for v in versions]]
        if raw is not None:
            header, _, data = bytes(raw).partition(b"\n")
            meta = orjson.loads(header)
            if meta["tag"] == tag and self.listening:
                self.hits += 1
                model = _model(meta["model"]) if meta["model"] else None
                stored = _Stored(model, meta["many"], data if model else meta["value"])
                return _Hit(self.reader, _read_only(thaw(stored)))
        self.misses += 1
        return _RedisMiss(self, self._miss_reader(info, "miss"), info, slot, tag)

    def _write_later(self, slot: str, tag: list[Any], ttl: float, result: object) -> None:
        """Store `result` (read-only already: nobody can change it meanwhile) under
        `slot`, in the background: the generated function returns without waiting
        for Redis. `settled()` waits for the writes under way."""
        stored = freeze(result)
        if stored is None:
            return
        meta = {
            "tag": tag,
            "model": _model_name(stored.model) if stored.model else None,
            "many": stored.many,
            "value": None if stored.model else stored.data,
        }
        body = orjson.dumps(meta) + b"\n" + (bytes(stored.data) if stored.model else b"")  # type: ignore[arg-type]
        self._start(self._write(slot, body, ttl))

    async def _write(self, slot: str, body: bytes, ttl: float) -> None:
        try:
            await self.redis.set(slot, body, px=int(ttl * 1000))
        except Exception:  # a result not stored is a later miss, never a wrong answer
            logger.warning("result cache: storing an entry in Redis failed", exc_info=True)

    async def settled(self) -> None:
        """Wait for the entries being written to Redis (tests: what one process
        stored, another serves)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- versions in Redis -------------------------------------------------------------

    async def advance_written(self, tables: tuple[str, ...]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for table in tables:
                pipe.hincrby(self._versions_key, table, 1)
            await pipe.execute()

    def _heard(self, conn: object, pid: int, channel: str, payload: str) -> None:
        if not payload.startswith("sync "):
            self.heard.append((time.monotonic(), payload))
            self.invalidations += 1
        # In order, after the versions of everything heard before (a sync waits for it).
        self._heard_queue.put_nowait(payload)

    async def _apply_notifications(self) -> None:
        while True:
            payload = await self._heard_queue.get()
            if payload.startswith("sync "):
                waiter = self._waiting.pop(payload, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
                continue
            try:
                await self.redis.hincrby(self._versions_key, payload, 1)
            except Exception as exc:
                # A version not advanced would leave entries served: stop serving
                # until the listener starts again (which advances the epoch).
                logger.warning("could not advance %s in Redis: %r", payload, exc)
                self._stop_serving()
                self._lost.set()

    async def _reset(self) -> None:
        """The listener (re)started: every entry of every process is dropped."""
        await self.redis.incr(self._epoch_key)

    async def close(self) -> None:
        await super().close()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        await self.redis.aclose()
