"""Fixtures of the schema tests, on top of tests/conftest.py.

Most schema tests take `conn` (a fresh migrated database each). The many small
constraint cases share one migrated database per module instead (`shared_conn`),
each case inside a transaction that is rolled back (`tx`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest


@pytest.fixture
async def tx(shared_conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """`shared_conn` inside a transaction that is rolled back after the test."""
    transaction = shared_conn.transaction()
    await transaction.start()
    try:
        yield shared_conn
    finally:
        await transaction.rollback()
