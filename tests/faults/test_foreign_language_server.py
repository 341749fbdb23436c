"""The German-speaking server of `german_server_url` really answers in German: the
fixture the error-classification tests rely on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from .conftest import GERMAN_LOCALE


@pytest.fixture
async def german(german_server_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(german_server_url)
    yield conn
    await conn.close()


async def test_the_server_speaks_german(german: asyncpg.Connection) -> None:
    assert await german.fetchval("SHOW lc_messages") == GERMAN_LOCALE
    assert int(await german.fetchval("SHOW server_version_num")) // 10000 == 15
    with pytest.raises(asyncpg.DivisionByZeroError) as caught:
        await german.fetchval("SELECT 1/0")
    assert caught.value.message == "Division durch Null"
    assert caught.value.sqlstate == "22012"  # the SQLSTATE stays what it is in English


async def test_constraint_errors_come_in_german_too(german: asyncpg.Connection) -> None:
    async with german.transaction():
        await german.execute("CREATE TEMP TABLE t (id int CONSTRAINT t_pkey PRIMARY KEY)")
        await german.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(asyncpg.UniqueViolationError) as caught:
            await german.execute("INSERT INTO t VALUES (1)")
    error = caught.value
    assert "doppelter Schlüsselwert verletzt Unique-Constraint" in error.message
    assert "existiert bereits" in (error.detail or "")
    assert error.constraint_name == "t_pkey"  # the fields that need no words stay usable
