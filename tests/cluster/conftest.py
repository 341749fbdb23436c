"""Fixtures of the scale-out tests: a real local cluster, never a mock.

A primary, a streaming standby made by `pg_basebackup -R`, and PgBouncer in
transaction mode in front of the primary (chip_quality_dev.cluster). Run by
`make test-cluster` (`pytest tests/cluster`), never by `make test`; the folder is
the `cluster` tier (tests/conftest.py gives its tests the marker).

The session starts the cluster when it is not running and stops what it started
at the end (unless another test session still uses it); a cluster started by
`make cluster` is reused and left running. A part that is missing or does not
start (PgBouncer not installable, a standby that does not stream) FAILS every
test that needs it, with the reason, always and not only under CI: these tests
run only when asked for, and a skip would hide that the claim went unproven.

Fixtures:
- `local_cluster` (session): the running `LocalCluster` (its `.primary`,
  `.standby`, `.pgbouncer`; `stop_standby(local_cluster)` and friends take it);
- `cluster_urls` (session): `ClusterUrls(primary, replica, pgbouncer, database)`
  of one migrated database shared by the session, already on the standby;
- `fresh_cluster_urls` (per test): the same for a database of the test's own,
  cloned from the migrated template, already on the standby, dropped after.

The replica helpers (`current_lsn`, `wait_for_replay`, `wait_for_replica`,
`pause_replay`, `resume_replay`, `replay_paused`, `standby_stopped`) are in
chip_quality_dev.cluster. `record(name, value)` adds a figure to the summary
printed at the end.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from chip_quality_dev import cluster
from chip_quality_dev.cluster import ClusterUrls, LocalCluster
from chip_quality_dev.localdb import LocalDbError
from tests.conftest import ROOT, run_dbmate

_counter = itertools.count()
FIGURES: dict[str, Any] = {}


def record(name: str, value: Any) -> None:
    FIGURES[name] = value


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("cluster figures")
    for name, value in FIGURES.items():
        terminalreporter.write_line(f"{name:<56} {value}")


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalCluster]:
    """The project's local cluster, running: started here when it was not."""
    the_cluster = cluster.default_cluster(ROOT)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(cluster.session(the_cluster))
        except LocalDbError as exc:
            pytest.fail(f"the local cluster (primary, standby, PgBouncer) did not start: {exc}")
        yield the_cluster


async def _primary_admin(the_cluster: LocalCluster) -> asyncpg.Connection:
    return await asyncpg.connect(the_cluster.primary.url("postgres"))


async def _on_standby(the_cluster: LocalCluster, database: str) -> ClusterUrls:
    """Wait until the standby has replayed the database's creation; its URLs."""
    await cluster.wait_for_replica(
        the_cluster.primary.url("postgres"), the_cluster.standby.url("postgres")
    )
    urls = the_cluster.urls(database)
    replica = await asyncpg.connect(urls.replica)  # fails unless it exists there
    await replica.close()
    return urls


@pytest.fixture(scope="session")
def cluster_template(local_cluster: LocalCluster) -> Iterator[str]:
    """A database on the primary migrated by dbmate, the template of the others
    (nobody connects to it, so CREATE DATABASE ... TEMPLATE never finds it busy)."""
    name = f"chipq_cluster_template_{os.getpid()}"
    url = local_cluster.primary.url(name)
    try:
        run_dbmate(url, "drop")
        run_dbmate(url, "up")
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"dbmate could not migrate the cluster's primary: {exc.stderr}")
    yield name
    run_dbmate(url, "drop")


async def _clone(the_cluster: LocalCluster, name: str, template: str) -> ClusterUrls:
    admin = await _primary_admin(the_cluster)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    return await _on_standby(the_cluster, name)


async def _drop(the_cluster: LocalCluster, name: str) -> None:
    # FORCE: PgBouncer keeps idle server connections to it; the standby's sessions
    # on it are ended when it replays the drop.
    admin = await _primary_admin(the_cluster)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def cluster_urls(
    local_cluster: LocalCluster, cluster_template: str
) -> AsyncIterator[ClusterUrls]:
    """One migrated database for the session, on the primary, the standby and PgBouncer."""
    name = f"chipq_cluster_{os.getpid()}"
    urls = await _clone(local_cluster, name, cluster_template)
    yield urls
    await _drop(local_cluster, name)


@pytest.fixture
async def fresh_cluster_urls(
    local_cluster: LocalCluster, cluster_template: str
) -> AsyncIterator[ClusterUrls]:
    """A migrated database of this test's own (PgBouncer gives it a pool of its own
    too: no server connection another test used, no prepared statement it left)."""
    name = f"chipq_cluster_{os.getpid()}_{next(_counter)}"
    urls = await _clone(local_cluster, name, cluster_template)
    yield urls
    await _drop(local_cluster, name)
