"""The local cluster is what it claims: a streaming standby and PgBouncer in transaction mode.

Also the evidence for the runtime's settings behind PgBouncer: what asyncpg's
statement cache does there, and which startup parameters reach the server.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter

import asyncpg
import pytest

from chip_quality_dev import cluster
from chip_quality_dev.cluster import ClusterUrls, LocalCluster
from tests.conftest import ROOT

from .conftest import record
from .hammer import RIGHT, hammer


async def _insert_part(primary: asyncpg.Connection, number: str) -> None:
    async with primary.transaction():
        await primary.execute("SELECT set_config('app.actor', 'cluster-test', true)")
        await primary.execute(
            "INSERT INTO parts (part_number, part_name, part_type) VALUES ($1, 'Probe', 'pcb')",
            number,
        )


async def _has_part(conn: asyncpg.Connection, number: str) -> bool:
    found = await conn.fetchval("SELECT count(*) FROM parts WHERE part_number = $1", number)
    return bool(found)


def _part_number() -> str:
    return f"CL-{uuid.uuid4().hex[:12].upper()}"


async def test_standby_is_in_recovery_and_primary_is_not(cluster_urls: ClusterUrls) -> None:
    primary = await asyncpg.connect(cluster_urls.primary)
    replica = await asyncpg.connect(cluster_urls.replica)
    try:
        assert await primary.fetchval("SELECT pg_is_in_recovery()") is False
        assert await replica.fetchval("SELECT pg_is_in_recovery()") is True
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await replica.execute("CREATE TABLE refused (id int)")
        streaming = await primary.fetchval(
            "SELECT state FROM pg_stat_replication WHERE application_name = $1",
            cluster.STANDBY_NAME,
        )
        assert streaming == "streaming"
    finally:
        await primary.close()
        await replica.close()


async def test_a_row_written_on_the_primary_is_on_the_standby_after_replay(
    cluster_urls: ClusterUrls,
) -> None:
    primary = await asyncpg.connect(cluster_urls.primary)
    replica = await asyncpg.connect(cluster_urls.replica)
    try:
        number = _part_number()
        await _insert_part(primary, number)
        lsn = await cluster.current_lsn(primary)
        waited = await cluster.wait_for_replay(replica, lsn)
        assert await _has_part(replica, number)
        record("replay of one committed insert, waited (ms)", round(waited * 1000, 1))
    finally:
        await primary.close()
        await replica.close()


async def test_paused_replay_hides_a_write_until_resumed(cluster_urls: ClusterUrls) -> None:
    primary = await asyncpg.connect(cluster_urls.primary)
    replica = await asyncpg.connect(cluster_urls.replica)
    try:
        number = _part_number()
        async with cluster.replay_paused(cluster_urls.replica):
            await _insert_part(primary, number)
            lsn = await cluster.current_lsn(primary)
            # Received but not applied: still invisible after a while.
            await asyncio.sleep(0.3)
            assert not await _has_part(replica, number)
            with pytest.raises(cluster.ClusterError, match="replayed only"):
                await cluster.wait_for_replay(replica, lsn, timeout=0.2)
        await cluster.wait_for_replay(replica, lsn)
        assert await _has_part(replica, number)
    finally:
        await primary.close()
        await replica.close()


async def test_the_standby_stopped_alone_comes_back_on_its_url_and_catches_up(
    local_cluster: LocalCluster, cluster_urls: ClusterUrls
) -> None:
    primary = await asyncpg.connect(cluster_urls.primary)
    try:
        number = _part_number()
        began = time.monotonic()
        with cluster.standby_stopped(local_cluster):
            stopped = time.monotonic()
            with pytest.raises(OSError):
                await asyncpg.connect(cluster_urls.replica, timeout=2)
            await _insert_part(primary, number)  # the slot keeps the WAL for it
            restarting = time.monotonic()
        restarted = time.monotonic()
        lsn = await cluster.current_lsn(primary)
        await cluster.wait_for_replay(cluster_urls.replica, lsn)
        replica = await asyncpg.connect(cluster_urls.replica)
        try:
            assert await _has_part(replica, number)
        finally:
            await replica.close()
        record("standby stop (fast shutdown), s", round(stopped - began, 2))
        record("standby start until streaming again, s", round(restarted - restarting, 2))
    finally:
        await primary.close()


async def test_pgbouncer_runs_in_transaction_mode_in_front_of_the_primary(
    local_cluster: LocalCluster, cluster_urls: ClusterUrls
) -> None:
    assert cluster.pgbouncer_setting(local_cluster, "pool_mode") == "transaction"
    conn = await asyncpg.connect(cluster_urls.pgbouncer, statement_cache_size=0)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        assert await conn.fetchval("SELECT inet_server_port()") == local_cluster.primary.port
        assert await conn.fetchval("SELECT pg_is_in_recovery()") is False
        assert await conn.fetchval("SELECT current_database()") == cluster_urls.database
    finally:
        await conn.close()
    record("PgBouncer", cluster.pgbouncer_version())


TASKS = 20
CALLS_PER_TASK = 50
CALLS = TASKS * CALLS_PER_TASK


async def _hammer(url: str, processes: int, statement_cache_size: int) -> Counter[str]:
    """TASKS clients in all, split over `processes` (1: this one; more: Python processes
    of their own, as several services behind one PgBouncer), CALLS_PER_TASK calls each."""
    if processes == 1:
        return await hammer(
            url,
            first_task=0,
            tasks=TASKS,
            calls=CALLS_PER_TASK,
            statement_cache_size=statement_cache_size,
        )
    share = TASKS // processes
    runs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.cluster.hammer",
            url,
            str(n * share),
            str(share),
            str(CALLS_PER_TASK),
            str(statement_cache_size),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        for n in range(processes)
    ]
    outcomes: Counter[str] = Counter()
    for run in runs:
        out, _ = await asyncio.wait_for(run.communicate(), 120)
        assert run.returncode == 0
        outcomes.update(json.loads(out))
    return outcomes


def _summary(outcomes: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in outcomes.most_common())


@pytest.mark.parametrize("processes", [1, 2])
async def test_asyncpgs_statement_cache_breaks_behind_pgbouncer(
    fresh_cluster_urls: ClusterUrls, processes: int
) -> None:
    """Named prepared statements live on one server connection; in transaction mode the
    next call may run on another. In one process asyncpg's statement names are unique
    (a process-wide counter): the statement is missing there. Across processes the
    names repeat: another client's statement of that name may run instead, silently."""
    outcomes = await _hammer(fresh_cluster_urls.pgbouncer, processes, statement_cache_size=100)
    record(
        f"default statement cache, {TASKS} tasks in {processes} process(es), "
        f"{CALLS} calls via PgBouncer",
        _summary(outcomes),
    )
    assert sum(outcomes.values()) == CALLS
    assert outcomes[RIGHT] < CALLS, _summary(outcomes)


@pytest.mark.parametrize("processes", [1, 2])
async def test_no_statement_cache_works_behind_pgbouncer(
    fresh_cluster_urls: ClusterUrls, processes: int
) -> None:
    """statement_cache_size=0: asyncpg sends Parse (unnamed) with every Bind, so each
    call is whole on whichever server connection it gets."""
    outcomes = await _hammer(fresh_cluster_urls.pgbouncer, processes, statement_cache_size=0)
    record(
        f"statement_cache_size=0, {TASKS} tasks in {processes} process(es), "
        f"{CALLS} calls via PgBouncer",
        _summary(outcomes),
    )
    assert outcomes == Counter({RIGHT: CALLS}), _summary(outcomes)


async def test_which_startup_parameters_reach_the_server_through_pgbouncer(
    cluster_urls: ClusterUrls,
) -> None:
    """PgBouncer 1.18 accepts the pool's statement_timeout and
    idle_in_transaction_session_timeout only because it is told to ignore them: they
    are dropped, the server keeps its defaults. application_name it passes on."""
    sent = {
        "application_name": "cluster-probe",
        "statement_timeout": "1234",
        "idle_in_transaction_session_timeout": "5678",
    }
    direct = await asyncpg.connect(cluster_urls.primary, server_settings=sent)
    bounced = await asyncpg.connect(
        cluster_urls.pgbouncer, server_settings=sent, statement_cache_size=0
    )
    query = (
        "SELECT current_setting('application_name'), current_setting('statement_timeout'), "
        "current_setting('idle_in_transaction_session_timeout')"
    )
    try:
        assert tuple(await direct.fetchrow(query)) == ("cluster-probe", "1234ms", "5678ms")
        assert tuple(await bounced.fetchrow(query)) == ("cluster-probe", "0", "0")
    finally:
        await direct.close()
        await bounced.close()
