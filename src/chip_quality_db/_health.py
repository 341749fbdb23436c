"""A health check that answers within its timeout, whatever the database does."""

from __future__ import annotations

import asyncio
import time

import asyncpg
from pydantic import BaseModel

from ._errors import translate


class Health(BaseModel):
    ok: bool
    latency_ms: float
    server_version: str | None
    pool_size: int
    pool_idle: int
    error: str | None = None


async def health_check(pool: asyncpg.Pool, *, timeout: float = 2.0) -> Health:
    """Run `SELECT version()` on a pooled connection, bounded by `timeout` seconds."""
    started = time.perf_counter()
    version: str | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(timeout):
            async with pool.acquire() as conn:
                version = await conn.fetchval("SHOW server_version")
    except TimeoutError:
        error = f"no answer within {timeout} s"
    except Exception as exc:  # health reports failures, it does not raise them
        mapped = translate(exc)
        error = str(mapped) if mapped is not None else f"{type(exc).__name__}: {exc}"
    return Health(
        ok=error is None,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        server_version=version,
        pool_size=pool.get_size(),
        pool_idle=pool.get_idle_size(),
        error=error,
    )
