"""Fixtures of the audit-trail tests, on top of tests/conftest.py.

Tests that change the chain take `conn` (a fresh migrated database each). The
many small role checks, which roll back whatever they do, share one migrated
database per module instead (`shared_conn`).
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
    name = f"chipq_audit_{os.getpid()}_{uuid.uuid4().hex[:8]}"
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
