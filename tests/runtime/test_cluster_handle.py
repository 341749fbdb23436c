"""The cluster handle on a single server: with no replicas it is the pool, and
settings that point at the wrong kind of server are refused, naming the setting.
(Routing to a real standby is tested by `make test-cluster`.)"""

from __future__ import annotations

import pytest

from chip_quality_db import (
    consistency_token,
    create_database,
    health_check,
    load_settings,
    reading_after,
    transaction,
)
from chip_quality_db._cluster import lsn
from chip_quality_db._read_floor import current
from chip_quality_queries import parts
from chip_quality_queries.models import PartType


async def test_without_replicas_it_is_the_pool(db_url: str) -> None:
    db = await create_database(load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1))
    try:
        assert db.replicas == []
        async with transaction(db, actor="alice") as conn:
            made = await parts.create_part(
                conn,
                parts.CreatePartParams(
                    part_number="PCB-C-1", part_name="c", part_type=PartType.PCB
                ),
            )
        assert made is not None
        assert await parts.get_part(db, part_id=made.id) == made
        health = await health_check(db)
        assert health.ok and health.replicas == []
    finally:
        await db.close()


async def test_a_replica_that_is_a_primary_stays_out_of_rotation(db_url: str) -> None:
    # Roles are measured, not configured (issue #25): DB_REPLICA_URLS may list every
    # node of a formation, the primary among them; it serves no reads while primary.
    db = await create_database(
        load_settings(DATABASE_URL=db_url, DB_REPLICA_URLS=db_url, DB_POOL_SIZE=1)
    )
    try:
        [replica] = db.replicas
        assert replica.role == "primary" and not replica.up
        assert "not a standby" in (replica.error or "")
        assert db.router.pick(current()) is None  # reads go to the primary
    finally:
        await db.close()


def test_wal_positions_and_tokens() -> None:
    assert lsn("0/3000148") == 0x3000148
    assert lsn("1/0") == 1 << 32
    assert lsn(None) == 0
    assert consistency_token() == "0"
    with reading_after("12345"):
        assert consistency_token() == "12345"
    assert consistency_token() == "0"
    with pytest.raises(ValueError, match="not a consistency token"), reading_after("x"):
        pass


async def test_hand_written_writes_and_sizes_are_the_primarys(db_url: str) -> None:
    """SQL written by hand through the handle (no transaction) runs on the primary, as
    a generated write does; its sizes are the primary pool's."""
    db = await create_database(load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1))
    try:
        await db.execute("CREATE TABLE hand_written (n int NOT NULL)")
        await db.executemany("INSERT INTO hand_written (n) VALUES ($1)", [(1,), (2,)])
        await db.copy_records_to_table("hand_written", records=[(3,)])
        assert await db.primary.fetchval("SELECT sum(n) FROM hand_written") == 6
        assert (db.get_min_size(), db.get_max_size()) == (
            db.primary.get_min_size(),
            db.primary.get_max_size(),
        )
        assert db.get_min_size() == 1
    finally:
        await db.close()
