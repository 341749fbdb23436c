"""Fixtures of the query tests, on top of tests/conftest.py (whose `db_url` is a
fresh migrated database per test): `qconn` is a plain asyncpg connection to it with
the codecs of the generated package installed; `pool` is the runtime's pool on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

import chip_quality_db
import chip_quality_queries
from chip_quality_db._errors import load_constraint_columns


@pytest.fixture
async def qconn(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection set up like the pool's: jsonb and json as Python data, and the
    constraints' columns read, which the project's errors name (a test run alone
    has no pool that read them before)."""
    connection = await asyncpg.connect(db_url)
    await chip_quality_queries.init_connection(connection)
    await load_constraint_columns(connection)
    yield connection
    await connection.close()


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    """The runtime's pool on the test database: at most 10 connections."""
    settings = chip_quality_db.load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=2, DB_MAX_OVERFLOW=8)
    created = await chip_quality_db.create_pool(settings)
    yield created
    await created.close()
