"""The example service on a fresh migrated database, called through httpx's ASGI
transport: no server, no sockets, the real app and the real PostgreSQL."""

from collections.abc import AsyncIterator

import httpx
import pytest
from examples.fab_service.app import create_app
from fastapi import FastAPI

from chip_quality_db import Pool, create_pool, load_settings

ALICE = "token-of-alice"
BOB = "token-of-bob"
EVE = "token-of-eve"  # issued to a name the audit trail refuses (a zero-width space)
LONG = "token-of-a-long-name"  # issued to a name longer than the audit trail holds
PEOPLE = {ALICE: "alice@fab1", BOB: "bob@fab1", EVE: "eve\u200b@fab1", LONG: "l" * 205}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def service(db_url: str) -> AsyncIterator[FastAPI]:
    """The example app, started (its lifespan opened the pool) and stopped after the test."""
    settings = load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=3)

    async def open_database() -> Pool:
        return await create_pool(settings)

    app = create_app(open_database, tokens=PEOPLE)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(service: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the running service that sends Alice's token."""
    transport = httpx.ASGITransport(app=service)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://fab.test", headers=bearer(ALICE)
    ) as client:
        yield client
