"""Fault tests: what reaches callers when things go wrong, and what is lost (nothing).

Each test adds what it measured to FIGURES; `make test-faults` prints them at the end.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from chip_quality_db import Pool, create_pool, load_settings
from chip_quality_db.dev import localdb

FIGURES: dict[str, Any] = {}
ERRORS_SURFACED: Counter[str] = Counter()


def record(name: str, value: Any) -> None:
    FIGURES[name] = value


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES and not ERRORS_SURFACED:
        return
    terminalreporter.section("fault figures")
    for name, value in FIGURES.items():
        terminalreporter.write_line(f"{name:<48} {value}")
    if ERRORS_SURFACED:
        surfaced = ", ".join(f"{k} {v}" for k, v in sorted(ERRORS_SURFACED.items()))
        terminalreporter.write_line(f"{'errors surfaced to callers, by type':<48} {surfaced}")


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[Pool]:
    pool = await create_pool(
        load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=2, DB_MAX_OVERFLOW=3, DB_POOL_TIMEOUT=2)
    )
    yield pool
    # A leak would make close() wait for ever: bound it, the assertion is in the test.
    try:
        await asyncio.wait_for(pool.close(), timeout=10)
    except TimeoutError:
        pool.terminate()
        raise


@pytest.fixture
def local_server(server_url: str) -> localdb.LocalServer:
    """The project's own server, which these tests may restart; refused on any other."""
    server = localdb.default_server()
    if not localdb.is_running(server) or server.url().split("/")[2] != server_url.split("/")[2]:
        pytest.fail("restart tests need the project's local server: run `make test-faults`")
    return server
