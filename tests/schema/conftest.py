"""Fixtures of the schema tests, on top of tests/conftest.py.

Most schema tests take `conn` (a fresh migrated database each). The many small
constraint cases share one migrated database per module instead (`shared_conn`),
each case inside a transaction that is rolled back (`tx`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.conftest import with_database


@pytest.fixture(scope="module")
async def shared_db_url(server_url: str, template_database: str) -> AsyncIterator[str]:
    """One migrated database for a whole module."""
    name = f"chipq_schema_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    finally:
        await admin.close()
    yield with_database(server_url, name)
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="module")
async def shared_conn(shared_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(shared_db_url)
    yield connection
    await connection.close()


@pytest.fixture
async def tx(shared_conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """`shared_conn` inside a transaction that is rolled back after the test."""
    transaction = shared_conn.transaction()
    await transaction.start()
    try:
        yield shared_conn
    finally:
        await transaction.rollback()
