"""What the runtime does when nodes come and go (issue #25), on the real primary and
standby: a handle that starts while its replica is down and takes it into rotation
when it returns, and a write that reaches a standby (a demoted primary) reported as
an outage that sends the pool looking for the primary again. (The failover itself,
on pg_auto_failover: tests/ha.)"""

from __future__ import annotations

import asyncio
import time

import pytest

from chip_quality_db import (
    RuleViolationError,
    UnavailableError,
    create_database,
    create_pool,
    health_check,
    load_settings,
    transaction,
)
from chip_quality_dev import cluster
from chip_quality_dev.cluster import ClusterUrls, LocalCluster
from chip_quality_queries import parts
from chip_quality_queries.models import PartType

from .conftest import record


async def test_a_handle_starts_with_its_replica_down_and_takes_it_in_later(
    local_cluster: LocalCluster, fresh_cluster_urls: ClusterUrls
) -> None:
    with cluster.standby_stopped(local_cluster):
        began = time.monotonic()
        db = await create_database(
            load_settings(
                DATABASE_URL=fresh_cluster_urls.primary,
                DB_REPLICA_URLS=fresh_cluster_urls.replica,
                DB_POOL_SIZE=2,
                DB_REPLICA_CHECK_INTERVAL=0.05,
            )
        )
        record("start with the replica down (s)", round(time.monotonic() - began, 2))
        [replica] = db.replicas
        assert not replica.up and replica.role == "unknown"
        health = await health_check(db)
        assert health.ok and not health.replicas[0].in_rotation
    try:
        # standby_stopped started it again on its port: the monitor takes it in.
        deadline = time.monotonic() + 15
        while not replica.up and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        record(
            "replica in rotation after it started (s)", round(time.monotonic() - deadline + 15, 2)
        )
        assert replica.up and replica.role == "replica", replica.error
        part = await parts.create_part(
            db,
            parts.CreatePartParams(part_number="BACK-1", part_name="b", part_type=PartType.PCB),
        )
        assert part is not None and await parts.get_part(db, part_id=part.id) == part
    finally:
        await db.close()


async def test_a_write_on_a_standby_is_an_outage_and_the_pool_lets_go_of_it(
    fresh_cluster_urls: ClusterUrls,
) -> None:
    # The pool as it stands when its server has been demoted under it: connected to a
    # standby. The write is refused with 25006: an outage, never a rule violation.
    pool = await create_pool(load_settings(DATABASE_URL=fresh_cluster_urls.replica, DB_POOL_SIZE=3))
    try:
        assert pool.get_size() == 3
        first = list(pool._idle)  # the connections opened to the (now read-only) server
        with pytest.raises(UnavailableError, match="read-only") as caught:
            async with transaction(pool, actor="alice") as conn:
                await parts.create_part(
                    conn,
                    parts.CreatePartParams(
                        part_number="DEMOTED-1", part_name="d", part_type=PartType.PCB
                    ),
                )
        assert not isinstance(caught.value, RuleViolationError)
        assert caught.value.sqlstate == "25006"
        with pytest.raises(UnavailableError, match="read-only"):
            await parts.create_part(
                pool,
                parts.CreatePartParams(
                    part_number="DEMOTED-2", part_name="d", part_type=PartType.PCB
                ),
            )
        # Every connection to the read-only server was retired (the idle ones at once);
        # the pool tops itself up with new ones, which the URL would send to the primary.
        await asyncio.sleep(0.2)
        assert all(conn.is_closed() for conn in first)
    finally:
        await pool.close()
