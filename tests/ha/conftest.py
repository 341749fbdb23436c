"""Fixtures of the failover tests: the local pg_auto_failover formation, never a mock.

A monitor and three data nodes (chip_quality_dev.ha, `make ha`), synchronous
replication with number_sync_standbys 1. Run by `make test-ha` (`pytest -m ha
tests/ha`), never by `make test`: every test under tests/ha is marked `ha` here.
The session starts the formation when it does not run and stops it at the end; one
started by `make ha` is reused and left running. When a part is missing (the Debian
packages cannot be installed, a node does not join) every test FAILS with the reason,
always, not only under CI: these tests run only when asked for, and a skip would hide
that the claim went unproven.

Fixtures: `formation` (session: the running `Formation`), `ha_database` (per test: a
migrated database of the test's own, created on the current primary, replicated to
both standbys by the time the test starts; its name). `record(name, value)` adds a
figure to the summary printed at the end (and to .localdb/ha/figures.json).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from chip_quality_dev import ha
from chip_quality_dev.ha import Formation
from chip_quality_dev.localdb import LocalDbError
from tests.conftest import run_dbmate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
_counter = itertools.count()
FIGURES: dict[str, Any] = {}


def record(name: str, value: Any) -> None:
    FIGURES[name] = value


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("failover figures")
    for name, value in FIGURES.items():
        terminalreporter.write_line(f"{name:<60} {value}")
    with contextlib.suppress(OSError):
        out = ha.default_formation(ROOT).root / "figures.json"
        out.write_text(json.dumps(FIGURES, indent=2, default=str) + "\n")


@pytest.fixture(scope="session")
def formation() -> Iterator[Formation]:
    """The project's formation, running and settled (a primary, two secondaries)."""
    the_formation = ha.default_formation(ROOT)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(ha.session(the_formation))
        except LocalDbError as exc:
            pytest.fail(f"the pg_auto_failover formation did not start: {exc}")
        yield the_formation


async def _replicated(formation: Formation, name: str) -> None:
    """Wait until every standby has the database (and what was migrated into it)."""
    primary = ha.primary_node(formation)
    assert primary is not None
    admin = await asyncpg.connect(primary.url("postgres"))
    try:
        position = await admin.fetchval("SELECT pg_current_wal_lsn()::text")
    finally:
        await admin.close()
    for node in formation.nodes:
        if node == primary:
            continue
        conn = await asyncpg.connect(node.url("postgres"))
        try:
            for _ in range(600):
                if await conn.fetchval(
                    "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", position
                ):
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail(f"{node.name} did not replay the new database in 30 s")
        finally:
            await conn.close()


@pytest.fixture
async def ha_database(formation: Formation) -> AsyncIterator[str]:
    """A migrated database of this test's own on the formation; its name."""
    await ha.wait_for("the formation to settle", lambda: ha.settled(formation))
    primary = ha.primary_node(formation)
    assert primary is not None, ha.states(formation)
    name = f"chipq_ha_{os.getpid()}_{next(_counter)}"
    admin = await asyncpg.connect(primary.url("postgres"))
    try:  # UTF8 whatever template1 is (the audit trigger normalises Unicode)
        await admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    finally:
        await admin.close()
    try:
        run_dbmate(primary.url(name), "up")
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"dbmate could not migrate the formation's primary: {exc.stderr}")
    await _replicated(formation, name)
    yield name
    primary = ha.primary_node(formation)
    if primary is not None:
        admin = await asyncpg.connect(primary.url("postgres"))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
