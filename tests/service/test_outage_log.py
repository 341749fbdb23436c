"""A database outage in the service's log: one line when the database becomes
unreachable, one when it is back with the count of requests that failed, no line
per request and no traceback for what is an expected failure."""

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from examples.fab_service.app import create_app

from chip_quality_db import Pool, create_pool, load_settings
from tests.service.conftest import ALICE, PEOPLE, bearer
from tests.service.cuttable_proxy import CuttableProxy


@pytest.fixture
async def proxy(db_url: str) -> AsyncIterator[CuttableProxy]:
    proxy = CuttableProxy(db_url)
    await proxy.start()
    yield proxy
    await proxy.cut()


async def test_an_outage_is_one_line_when_it_starts_and_one_when_it_ends(
    proxy: CuttableProxy, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(
        DATABASE_URL=proxy.url, DB_POOL_SIZE=2, DB_MAX_OVERFLOW=2, DB_POOL_TIMEOUT=2
    )

    async def open_database() -> Pool:
        return await create_pool(settings)

    app = create_app(open_database, tokens=PEOPLE)
    caplog.set_level(logging.DEBUG)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://fab.test",
            headers=bearer(ALICE),
        ) as client,
    ):
        assert (await client.get("/parts")).status_code == 200
        caplog.clear()
        await proxy.cut()
        failed = [
            await client.get("/parts"),
            *[await client.get("/lots") for _ in range(10)],
            await client.post(
                "/parts",
                json={"part_number": "PCB-OUT-1", "part_name": "Board", "part_type": "pcb"},
            ),
            await client.get("/health"),
        ]
        assert [r.status_code for r in failed] == [503] * len(failed)
        assert all(r.headers["retry-after"] == "5" for r in failed[:-1])
        await proxy.start()
        assert (await client.get("/parts")).status_code == 200
        assert (await client.get("/lots")).status_code == 200
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    messages = [r.getMessage() for r in lines]
    assert len(lines) == 2, messages
    assert messages[0].startswith("database unreachable: ")
    assert messages[1].startswith("database reachable again after ")
    assert f"; {len(failed)} requests failed meanwhile" in messages[1]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
