"""Idempotency keys: a retried write whose first attempt committed is not written twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from chip_quality_db import Pool, RuleViolationError, run_once, transaction
from chip_quality_queries import idempotency_keys, parts
from chip_quality_queries.models import PartType


def creator(number: str, *, validated: bool = True):  # type: ignore[no-untyped-def]
    """A write of a part; `validated=False` leaves a bad number to the database's CHECK."""
    build = parts.CreatePartParams if validated else parts.CreatePartParams.model_construct

    async def create(conn: asyncpg.Connection) -> object:
        return await parts.create_part(
            conn, build(part_number=number, part_name="Once", part_type=PartType.PCB)
        )

    return create


async def test_the_same_key_writes_once_and_replays_the_result(pool: Pool) -> None:
    first = await run_once(pool, "req-0001-abcd", creator("PCB-ONCE-1"), actor="alice")
    again = await run_once(pool, "req-0001-abcd", creator("PCB-ONCE-1"), actor="alice")
    assert not first.replayed and again.replayed
    assert again.result == first.result and first.result["part_number"] == "PCB-ONCE-1"
    assert await parts.count_parts(pool) == 1
    stored = await idempotency_keys.get_idempotency_key(pool, key="req-0001-abcd")
    assert stored is not None and stored.actor == "alice"


async def test_concurrent_attempts_with_one_key_write_once(pool: Pool) -> None:
    outcomes = await asyncio.gather(
        *(run_once(pool, "req-0002-race", creator("PCB-RACE-1"), actor="bob") for _ in range(5))
    )
    assert sum(not o.replayed for o in outcomes) == 1
    assert await parts.count_parts(pool) == 1


async def test_a_failed_write_leaves_no_key(pool: Pool) -> None:
    with pytest.raises(RuleViolationError):
        await run_once(pool, "req-0003-fail", creator("bad number", validated=False), actor="carol")
    assert await idempotency_keys.get_idempotency_key(pool, key="req-0003-fail") is None
    done = await run_once(pool, "req-0003-fail", creator("PCB-OK-3"), actor="carol")
    assert not done.replayed


async def test_old_keys_are_deleted_by_age(pool: Pool) -> None:
    async with transaction(pool, actor="t") as conn:
        assert await idempotency_keys.claim_idempotency_key(conn, key="old-key-01", actor="t")
        await idempotency_keys.store_idempotent_result(conn, key="old-key-01", result={"a": 1})
    future = datetime.now(UTC) + timedelta(seconds=5)
    assert await idempotency_keys.delete_idempotency_keys_before(pool, before=future) == 1
    assert await idempotency_keys.delete_idempotency_keys_before(pool, before=future) == 0
