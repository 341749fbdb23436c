"""Starting with part of the cluster down (issue #25): the handle starts whenever the
primary answers, a replica that is away starts out of rotation and joins when it
answers, and a server that accepts TCP but never answers is a connect timeout that
names it, within DB_CONNECT_TIMEOUT. On the one local server: a port nobody listens
on, and a listener that accepts and stays silent, stand in for the missing nodes.
(A real standby that comes back: tests/cluster/test_failover_handling.py.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from chip_quality_db import (
    UnavailableError,
    create_database,
    create_pool,
    health_check,
    load_settings,
    transaction,
)
from chip_quality_dev.localdb import _free_port
from chip_quality_queries import parts
from chip_quality_queries.models import PartType


def with_port(url: str, port: int) -> str:
    parts_ = urlsplit(url)
    return parts_._replace(netloc=f"{parts_.username}@127.0.0.1:{port}").geturl()


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts TCP connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_silent_server_is_a_connect_timeout_naming_it(silent_port: int) -> None:
    url = f"postgresql://app@127.0.0.1:{silent_port}/chip_quality"
    began = time.monotonic()
    with pytest.raises(UnavailableError) as caught:
        await create_pool(load_settings(DATABASE_URL=url, DB_CONNECT_TIMEOUT=0.5, DB_POOL_SIZE=1))
    took = time.monotonic() - began
    assert f"127.0.0.1:{silent_port}" in str(caught.value)
    assert "timed out after 0.5 s (DB_CONNECT_TIMEOUT)" in str(caught.value)
    assert "pool timeout" not in str(caught.value)
    assert took < 3, f"took {took:.1f} s, the limit was 0.5 s"


async def test_the_handle_starts_with_a_replica_down_and_it_joins_when_it_answers(
    db_url: str,
) -> None:
    port = _free_port()  # nobody listens there yet
    server_port = urlsplit(db_url).port
    assert server_port is not None
    settings = load_settings(
        DATABASE_URL=db_url,
        DB_REPLICA_URLS=with_port(db_url, port),
        DB_POOL_SIZE=1,
        DB_REPLICA_CHECK_INTERVAL=0.05,
    )
    db = await create_database(settings)
    forwarder: asyncio.Server | None = None
    try:
        [replica] = db.replicas
        assert not replica.up and replica.role == "unknown"
        assert "Connect call failed" in (replica.error or "") or "refused" in (replica.error or "")
        async with transaction(db, actor="alice") as conn:
            made = await parts.create_part(
                conn,
                parts.CreatePartParams(part_number="DOWN-1", part_name="d", part_type=PartType.PCB),
            )
        assert made is not None and await parts.get_part(db, part_id=made.id) == made
        health = await health_check(db)
        assert health.ok and health.replicas[0].in_rotation is False

        # The node answers now (this server, forwarded): the monitor reaches it and
        # finds its role. It is no standby, so it stays out of rotation, as a primary.
        forwarder = await forward(port, server_port)
        deadline = time.monotonic() + 10
        while replica.role != "primary" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert replica.role == "primary" and not replica.up
        assert "not a standby" in (replica.error or "")
        assert (await health_check(db)).replicas[0].role == "primary"
    finally:
        await db.close()
        if forwarder is not None:
            forwarder.close()


async def test_a_silent_replica_does_not_stop_the_start(db_url: str, silent_port: int) -> None:
    settings = load_settings(
        DATABASE_URL=db_url,
        DB_REPLICA_URLS=with_port(db_url, silent_port),
        DB_POOL_SIZE=1,
        DB_CONNECT_TIMEOUT=0.5,
    )
    began = time.monotonic()
    db = await create_database(settings)
    try:
        assert time.monotonic() - began < 5
        [replica] = db.replicas
        assert not replica.up
        health = await health_check(db)
        assert health.ok and health.primary == f"127.0.0.1:{urlsplit(db_url).port}"
    finally:
        await db.close()


async def test_a_write_in_a_read_only_transaction_keeps_the_connections(db_url: str) -> None:
    # 25006 is an outage when the server is a standby (the primary moved); on a primary
    # it comes from the caller's own READ ONLY transaction: the pool keeps its connections.
    pool = await create_pool(load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=2))
    try:
        with pytest.raises(UnavailableError, match="read-only") as caught:
            async with transaction(pool, actor="alice", readonly=True) as conn:
                await parts.create_part(
                    conn,
                    parts.CreatePartParams(
                        part_number="RO-1", part_name="r", part_type=PartType.PCB
                    ),
                )
        assert caught.value.sqlstate == "25006"
        await asyncio.sleep(0.1)  # the tidy task
        assert pool.get_size() == 2 and pool.get_idle_size() == 2
    finally:
        await pool.close()


async def forward(listen_port: int, target_port: int) -> asyncio.Server:
    """A TCP forwarder from `listen_port` to the local server's port."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    return await asyncio.start_server(accept, "127.0.0.1", listen_port)
