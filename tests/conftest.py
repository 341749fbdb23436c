"""Databases for the tests: real PostgreSQL, never a mock.

The server is DATABASE_URL's when set, else the project's local one. Once per
session the migrations are applied to a template database; each test that asks
for `db_url` or `conn` gets a fresh database cloned from it (CREATE DATABASE ...
TEMPLATE is a file copy: far cheaper than migrating again), cloned ahead of need
(tests/databases.py); `shared_db_url` / `shared_conn` is one per module.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from chip_quality_db import _telemetry
from chip_quality_dev import localdb
from chip_quality_dev.localdb import with_database
from tests.databases import DatabaseSupply
from tests.parity import REPORT

ROOT = Path(__file__).resolve().parent.parent
_counter = itertools.count()


def run_dbmate(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """dbmate against `url`, never touching the committed schema.sql."""
    return subprocess.run(
        [
            "dbmate",
            "--url",
            url,
            "--migrations-dir",
            str(ROOT / "schema/migrations"),
            "--no-dump-schema",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )


@pytest.fixture(scope="session")
def server_url() -> str:
    """A URL of the server the tests run on (its own database is left alone)."""
    server = localdb.LocalServer((ROOT / ".localdb").resolve())
    return localdb.database_url(server)


async def _admin(server_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(server_url)


@pytest.fixture(scope="session")
def template_database(server_url: str) -> Iterator[str]:
    """A database migrated to the latest version, the template of every test database."""
    name = f"chipq_template_{os.getpid()}"
    url = with_database(server_url, name)
    run_dbmate(url, "drop")
    run_dbmate(url, "up")
    yield name
    run_dbmate(url, "drop")


async def _create_database(server_url: str, name: str, template: str) -> None:
    admin = await _admin(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()


async def _drop_database(server_url: str, name: str) -> None:
    admin = await _admin(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def database_supply(server_url: str, template_database: str) -> AsyncIterator[DatabaseSupply]:
    supply = DatabaseSupply(server_url, template_database)
    supply.start()
    yield supply
    await supply.close()


@pytest.fixture
async def db_url(server_url: str, database_supply: DatabaseSupply) -> AsyncIterator[str]:
    """A fresh, migrated database for one test: every test database comes from here."""
    name = await database_supply.take()
    yield with_database(server_url, name)
    await database_supply.drop(name)


@pytest.fixture(scope="module")
async def shared_db_url(server_url: str, database_supply: DatabaseSupply) -> AsyncIterator[str]:
    """One migrated database for a whole module, for the many small cases that roll
    back what they do (constraint and role checks)."""
    name = await database_supply.take()
    yield with_database(server_url, name)
    await database_supply.drop(name)


@pytest.fixture(scope="module")
async def shared_conn(shared_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(shared_db_url)
    yield connection
    await connection.close()


@pytest.fixture
async def empty_db_url(server_url: str) -> AsyncIterator[str]:
    """A fresh database with no migrations applied."""
    name = f"chipq_empty_{os.getpid()}_{next(_counter)}"
    await _create_database(server_url, name, "template0")
    yield with_database(server_url, name)
    await _drop_database(server_url, name)


@pytest.fixture
async def conn(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(db_url)
    yield connection
    await connection.close()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """A global tracer provider recording into memory, for this test only (the API
    allows setting it once per process; its own tests reset it the same way)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _reset_provider()
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()
    _reset_provider()


def _reset_provider() -> None:
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]
    _telemetry.provider_changed()  # the runtime asks the API again at the next query


# The folder decides the tier: everything under tests/faults is a fault test (`make
# test-faults`, which restarts servers and records figures), everything under
# tests/cluster needs the local cluster (`make test-cluster`), tests/rollout measures
# migrations under a workload on the plans dataset (`make test-rollout`), tests/ha
# fails the primary over on a pg_auto_failover formation (`make test-ha`), tests/contract
# calls the running example service from its OpenAPI document (`make test-contract`);
# `make test` runs none of them.
_FOLDER_MARKERS = {
    "contract": pytest.mark.contract,
    "faults": pytest.mark.faults,
    "cluster": pytest.mark.cluster,
    "rollout": pytest.mark.rollout,
    "ha": pytest.mark.ha,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        relative = item.path.relative_to(tests) if item.path.is_relative_to(tests) else None
        if relative is not None and relative.parts[0] in _FOLDER_MARKERS:
            item.add_marker(_FOLDER_MARKERS[relative.parts[0]])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The figures of the rule parity tests (tests/parity.py), when they ran."""
    for title, lines in REPORT.items():
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
