"""A health check that answers within its timeout, whatever the database does."""

from __future__ import annotations

import asyncio
import time

from pydantic import BaseModel

from chip_quality_queries import server_info

from ._cache import CacheStats
from ._cluster import Handle
from ._errors import translate


class NodeHealth(BaseModel):
    """A replica as the cluster handle's monitor last measured it."""

    url: str  # the password masked
    role: str  # "replica" (a standby), "primary" (promoted, out of rotation), "unknown"
    in_rotation: bool
    staleness_s: float | None  # seconds behind the primary; None when unknown
    error: str | None = None


class Health(BaseModel):
    ok: bool
    latency_ms: float
    server_version: str | None
    primary: str | None = None  # host:port of the server the pool's connection reached
    pool_size: int
    pool_idle: int
    error: str | None = None
    replicas: list[NodeHealth] = []
    cache: CacheStats | None = None  # with a result cache (enable_cache): its counters


async def health_check(pool: Handle, *, timeout: float = 2.0) -> Health:
    """Read the server's version (ServerVersion, what `SHOW server_version` says) on a
    pooled connection, bounded by `timeout` seconds.

    `primary` is the address of the server that answered (with a multi-host
    DATABASE_URL, the node that is the primary now). On a cluster handle
    (`create_database`) the result also lists each replica, its role,
    whether it is in rotation, how far behind it was at the last check and why
    not; the primary's answer alone decides `ok` (reads fall back to it)."""
    started = time.perf_counter()
    version: str | None = None
    primary: str | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(timeout):
            async with pool.acquire() as conn:
                version = await server_info.server_version(conn)
                # With a multi-host DATABASE_URL: which node is the primary now.
                address = await server_info.server_address(conn)
                if address.host is not None:
                    primary = f"{address.host}:{address.port}"
    except TimeoutError:
        error = f"no answer within {timeout} s"
    except Exception as exc:  # health reports failures, it does not raise them
        mapped = translate(exc)
        error = str(mapped) if mapped is not None else f"{type(exc).__name__}: {exc}"
    replicas = [
        NodeHealth(
            url=r.url,
            role=r.role,
            in_rotation=r.up,
            staleness_s=None if r.staleness == float("inf") else round(r.staleness, 3),
            error=r.error,
        )
        for r in getattr(pool, "replicas", ())
    ]
    cache = getattr(pool, "result_cache", None)
    return Health(
        cache=cache.stats() if cache is not None else None,
        replicas=replicas,
        ok=error is None,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        server_version=version,
        primary=primary,
        pool_size=pool.get_size(),
        pool_idle=pool.get_idle_size(),
        error=error,
    )
