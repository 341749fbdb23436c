"""Databases for the tests: real PostgreSQL, never a mock.

The server is DATABASE_URL's when set, else the project's local one. Once per
session the migrations are applied to a template database; each test that asks
for `db_url` or `conn` gets a fresh database cloned from it (CREATE DATABASE ...
TEMPLATE is a file copy: far cheaper than migrating again), cloned ahead of need
(tests/databases.py); `shared_db_url` / `shared_conn` is one per module.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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
def server_url(record_testsuite_property: Callable[[str, object], None]) -> str:
    """A URL of the server the tests run on (its own database is left alone).

    Its `SHOW server_version` goes into the JUnit report (`make test-matrix` prints it
    from there), and under MATRIX_MAJOR a server of another major fails every test
    that uses it: a matrix line that says "passed" comes from the major it names."""
    server = localdb.LocalServer((ROOT / ".localdb").resolve())
    url = localdb.database_url(server)
    with ThreadPoolExecutor(1) as thread:  # a loop of its own, beside pytest-asyncio's
        version = thread.submit(asyncio.run, _server_version(url)).result()
    record_testsuite_property("server_version", version)
    expected = os.environ.get("MATRIX_MAJOR")
    if expected and version.split(".")[0] != expected:
        pytest.fail(f"MATRIX_MAJOR={expected}, but the tests' server is PostgreSQL {version}")
    return url


async def _server_version(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version")).split()[0]
    finally:
        await conn.close()


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


# The tier is the folder: each folder of tests/ is one tier, and this hook gives its
# tests the tier's markers, never a test module by hand. So `pytest -m unit` (or
# `integration`, `database`, ...) selects exactly the tier, as `pytest tests/unit` does,
# and the make targets select by path (Makefile: test, test-unit, test-matrix, ...).
# `integration` is every folder run against PostgreSQL by `make test`; `database` the
# part of it that tests the schema itself. A folder missing here fails the collection:
# a new folder must be given a tier.
TIERS: dict[str, tuple[str, ...]] = {
    "unit": ("unit",),  # no database, no sqlc run
    "generator": ("golden",),  # the real sqlc binary and the type checkers, no database
    "packaging": ("build",),  # builds the services' wheel
    "schema": ("integration", "database"),
    "audit": ("integration", "database"),
    "queries": ("integration",),
    "runtime": ("integration",),
    "execution": ("integration",),  # the generator's output imported and run
    "service": ("integration",),
    "compat": ("integration",),
    "plans": ("integration",),
    "faults": ("faults",),  # make test-faults
    "cluster": ("cluster",),  # make test-cluster
    "rollout": ("rollout",),  # make test-rollout
    "ha": ("ha",),  # make test-ha: failover on the local pg_auto_failover formation
    "contract": ("contract",),  # make test-contract: the running example service's OpenAPI
}


def tier_folder(path: Path) -> str | None:
    """The tier folder (first folder under tests/) of a test file, None outside tests/."""
    tests = Path(__file__).parent
    if not path.is_relative_to(tests):
        return None
    relative = path.relative_to(tests)
    return relative.parts[0] if len(relative.parts) > 1 else ""


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unknown: set[str] = set()
    for item in items:
        folder = tier_folder(item.path)
        if folder is None:
            continue
        if folder not in TIERS:
            unknown.add(f"tests/{folder}" if folder else str(item.path))
            continue
        for marker in TIERS[folder]:
            item.add_marker(getattr(pytest.mark, marker))
    if unknown:
        raise pytest.UsageError(
            f"tests in {', '.join(sorted(unknown))} belong to no tier: add the folder to "
            "TIERS in tests/conftest.py (and to the make target that runs it)"
        )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The figures of the rule parity tests (tests/parity.py), when they ran."""
    for title, lines in REPORT.items():
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
