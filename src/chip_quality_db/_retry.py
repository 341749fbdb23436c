"""Retrying what may be retried, and doing a write at most once.

An error does not mean "not committed": when the connection breaks after
COMMIT reached the server but before its answer came back, the caller sees
UnavailableError for a write that is in the database (the restart tests saw
this for 1 to 8 writes per run). So:

- `retry(operation)` runs an operation again after RetryableError or
  UnavailableError. Only for idempotent operations: reads, and writes made
  idempotent by
- `run_once(pool, key, work, actor=...)`, which inserts `key` into
  idempotency_keys in the same transaction as the write. A retry whose first
  attempt did commit finds the key and gets the stored result back instead of
  writing twice.

    result = await retry(lambda: run_once(pool, request_id, create, actor=user))
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic_core import to_jsonable_python

from chip_quality_queries import idempotency_keys
from chip_quality_queries._runtime import Connection

from ._errors import RetryableError, UnavailableError
from ._pool import Lender
from ._transaction import transaction

T = TypeVar("T")


async def retry(
    operation: Callable[[], Awaitable[T]],
    *,
    attempts: int = 5,
    first_delay: float = 0.05,
    max_delay: float = 2.0,
) -> T:
    """Run `operation` until it succeeds, at most `attempts` times, with jittered backoff.

    Retries RetryableError (serialization failure, deadlock) and UnavailableError
    (lost connection, restart, pool timeout); any other error is raised at once.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    delay = first_delay
    for _ in range(attempts - 1):
        try:
            return await operation()
        except (RetryableError, UnavailableError):
            pass
        await asyncio.sleep(random.uniform(0, delay))
        delay = min(delay * 2, max_delay)
    return await operation()  # the last attempt: what it raises is the caller's


@dataclass(frozen=True)
class Outcome:
    """What a `run_once` write returned (as JSON data), and whether this call replayed it."""

    result: Any
    replayed: bool


async def run_once(
    pool: Lender | Connection,
    key: str,
    work: Callable[[Connection], Awaitable[Any]],
    *,
    actor: str,
) -> Outcome:
    """Run `work(conn)` in a transaction unless a committed write already holds `key`.

    The key and the write commit together or not at all. `work`'s result is
    stored as JSON (pydantic models are dumped) and handed back to later calls
    with the same key.
    """
    async with transaction(pool, actor=actor) as conn:
        if await idempotency_keys.claim_idempotency_key(conn, key=key, actor=actor) is None:
            stored = await idempotency_keys.get_idempotency_key(conn, key=key)
            return Outcome(result=stored.result if stored else None, replayed=True)
        result = await work(conn)
        data = to_jsonable_python(result)  # pydantic models, UUIDs, datetimes: JSON data
        await idempotency_keys.store_idempotent_result(conn, key=key, result=data)
        return Outcome(result=data, replayed=False)
