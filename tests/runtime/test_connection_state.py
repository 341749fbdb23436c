"""What one user of a pooled connection leaves on it never reaches the next, and a
server-side RAISE arrives as a rule the data broke."""

from __future__ import annotations

from typing import Any

import pytest

from chip_quality_db import Pool, RuleViolationError, create_pool, load_settings

NOTICE = "DO $$ BEGIN RAISE NOTICE 'heard'; END $$"


async def test_a_log_listener_does_not_outlive_its_checkout(db_url: str) -> None:
    heard: list[str] = []
    # One connection in all: the second checkout waits for the first one's reset.
    pool = await create_pool(load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0))

    def listener(_conn: Any, message: Any) -> None:
        heard.append(message.message)

    try:
        async with pool.acquire() as conn:
            conn.add_log_listener(listener)
            await conn.execute(NOTICE)
            first = conn
        assert heard == ["heard"]
        async with pool.acquire() as conn:
            assert conn is first
            await conn.execute(NOTICE)
    finally:
        await pool.close()
    assert heard == ["heard"]  # reset on return: the listener went with its user


async def test_a_raise_in_sql_is_a_rule_violation(pool: Pool) -> None:
    with pytest.raises(RuleViolationError) as caught:
        await pool.execute("DO $$ BEGIN RAISE EXCEPTION 'lot % is closed', 'L-1'; END $$")
    assert caught.value.sqlstate == "P0001"
    assert "lot L-1 is closed" in str(caught.value)
