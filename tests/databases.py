"""Migrated test databases, cloned from the session's template ahead of need.

A clone (CREATE DATABASE ... TEMPLATE) takes 0.15-0.3 s, about ten times a typical
test, so two background tasks keep a few ready while the tests run (the server
works on two clones at once about twice as fast as on one).
"""

from __future__ import annotations

import asyncio
import itertools
import os

import asyncpg

AHEAD = 3  # databases cloned and not yet taken, at most
CLONERS = 2  # clones made at once
CLONE_ATTEMPTS = 100  # 10 s for a restarting server to accept connections again
# What a server that is restarting answers: no connection, a closed one, or "not now".
SERVER_GONE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
)


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
        try:
            while True:
                await self._room.acquire()
                if self._closing:
                    return
                name = next(self._names)
                self._unused.add(name)
                await self._clone(name)
                self._ready.put_nowait(name)
        except Exception as error:  # hand the failure to the test waiting for a database
            self._ready.put_nowait(error)

    async def _clone(self, name: str) -> None:
        """Clone the template as `name`, on a connection of its own: the fault tests
        restart the server, which ends every connection open at the time (a cloner
        that kept one died with it, and the next test waited for ever)."""
        for attempt in range(1, CLONE_ATTEMPTS + 1):
            try:
                admin = await asyncpg.connect(self.server_url)
                try:
                    if attempt > 1:  # a clone cut short by a restart
                        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                    return
                finally:
                    admin.terminate()
            except SERVER_GONE:
                if attempt == CLONE_ATTEMPTS:
                    raise
                await asyncio.sleep(0.1)

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
