"""Fixtures of the query tests, on top of tests/conftest.py.

`qdb_url` is a fresh migrated database per test, like tests/conftest.py's `db_url`,
but the databases are cloned ahead of need: a clone takes 0.15-0.3 s, about ten
times a typical test here, so two background tasks keep a few ready while the
tests run (the server works on two clones at once about twice as fast as on one).
`qconn` is a plain asyncpg connection to it with the codecs of the generated
package installed; `pool` is the runtime's pool on it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator

import asyncpg
import pytest

import chip_quality_db
import chip_quality_queries
from tests.conftest import with_database

AHEAD = 3  # databases cloned and not yet taken, at most
CLONERS = 2  # clones made at once


class DatabaseSupply:
    """Migrated test databases cloned from the template in the background."""

    def __init__(self, server_url: str, template: str) -> None:
        self.server_url = server_url
        self.template = template
        self._names = (f"chipq_queries_{os.getpid()}_{n}" for n in itertools.count())
        self._ready: asyncio.Queue[str | Exception] = asyncio.Queue()
        self._room = asyncio.Semaphore(AHEAD)
        self._unused: set[str] = set()  # cloned or being cloned, not handed out
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._clone_forever()) for _ in range(CLONERS)]

    async def _clone_forever(self) -> None:
        admin = await asyncpg.connect(self.server_url)
        try:
            while True:
                await self._room.acquire()
                if self._closing:
                    return
                name = next(self._names)
                self._unused.add(name)
                await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                self._ready.put_nowait(name)
        except Exception as error:  # hand the failure to the test waiting for a database
            self._ready.put_nowait(error)
        finally:
            await admin.close()

    async def take(self) -> str:
        """A fresh database's name; the caller drops it (`drop`)."""
        got = await self._ready.get()
        if isinstance(got, Exception):
            raise RuntimeError("cloning a test database failed") from got
        self._unused.discard(got)
        self._room.release()
        return got

    async def drop(self, *names: str) -> None:
        admin = await asyncpg.connect(self.server_url)
        try:
            for name in names:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    async def close(self) -> None:
        """Let each cloner finish the clone it is making (a clone cancelled half-way
        could outlive the DROP), then drop every database not handed out."""
        self._closing = True
        for _ in self._tasks:
            self._room.release()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.drop(*sorted(self._unused))


@pytest.fixture(scope="session")
async def database_supply(server_url: str, template_database: str) -> AsyncIterator[DatabaseSupply]:
    supply = DatabaseSupply(server_url, template_database)
    supply.start()
    yield supply
    await supply.close()


@pytest.fixture
async def qdb_url(server_url: str, database_supply: DatabaseSupply) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    name = await database_supply.take()
    yield with_database(server_url, name)
    await database_supply.drop(name)


@pytest.fixture
async def qconn(qdb_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection set up like the pool's (jsonb and json as Python data)."""
    connection = await asyncpg.connect(qdb_url)
    await chip_quality_queries.init_connection(connection)
    yield connection
    await connection.close()


@pytest.fixture
async def pool(qdb_url: str) -> AsyncIterator[asyncpg.Pool]:
    """The runtime's pool on the test database: at most 10 connections."""
    settings = chip_quality_db.load_settings(
        DATABASE_URL=qdb_url, DB_POOL_SIZE=2, DB_MAX_OVERFLOW=8
    )
    created = await chip_quality_db.create_pool(settings)
    yield created
    await created.close()
