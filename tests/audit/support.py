"""Helpers of the audit-trail tests: acting as a role, audited writes, the chain's
rows and head, checking the chain independently of the verifier, and tampering."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from chip_quality_db.audit import GENESIS, ChainHead, verify_chain

OWNER = "chipq_owner"
MIGRATOR = "chipq_migrator"
APP = "chipq_app_rw"
REPORTING = "chipq_reporting_ro"
AUDITOR = "chipq_auditor_ro"
ROLES = (OWNER, MIGRATOR, APP, REPORTING, AUDITOR)

# SQLSTATE of a write to an audited table that names no actor.
NO_ACTOR = "CQ001"

_serial = itertools.count(1)


def part_number(prefix: str = "AUD") -> str:
    """A part number no other call in this process returns."""
    return f"{prefix}-{next(_serial)}"


@asynccontextmanager
async def rolled_back(conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """A transaction that is always rolled back."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        yield conn
    finally:
        await transaction.rollback()


@asynccontextmanager
async def acting_as(conn: asyncpg.Connection, role: str) -> AsyncIterator[asyncpg.Connection]:
    """A transaction that runs as `role` (SET LOCAL ROLE) and is always rolled back."""
    async with rolled_back(conn):
        await conn.execute(f"SET LOCAL ROLE {role}")
        yield conn


async def set_actor(conn: asyncpg.Connection, actor: str, session_id: str | None = None) -> None:
    """What chip_quality_db.transaction(..., actor=...) does at the start of a transaction."""
    await conn.execute(
        "SELECT set_config('app.actor', $1, true), set_config('app.session_id', $2, true)",
        actor,
        session_id or "",
    )


async def insert_part(conn: asyncpg.Connection, number: str, name: str = "Audited board") -> UUID:
    """One audited write: a new part."""
    part_id: UUID = await conn.fetchval(
        "INSERT INTO parts (part_number, part_name, part_type) VALUES ($1, $2, 'pcb') RETURNING id",
        number,
        name,
    )
    return part_id


async def write_parts(conn: asyncpg.Connection, actor: str, count: int) -> list[UUID]:
    """`count` audited inserts in one committed transaction of `actor`."""
    async with conn.transaction():
        await set_actor(conn, actor)
        return [await insert_part(conn, part_number()) for _ in range(count)]


@dataclass(frozen=True)
class Link:
    seq: int
    prev_hash: bytes
    row_hash: bytes
    txid: int


async def chain_links(conn: asyncpg.Connection) -> list[Link]:
    rows = await conn.fetch("SELECT seq, prev_hash, row_hash, txid FROM audit_log ORDER BY seq")
    return [
        Link(row["seq"], bytes(row["prev_hash"]), bytes(row["row_hash"]), row["txid"])
        for row in rows
    ]


async def chain_head(conn: asyncpg.Connection) -> tuple[int, bytes]:
    row = await conn.fetchrow("SELECT seq, last_hash FROM audit_chain_head WHERE id = 1")
    assert row is not None
    return row["seq"], bytes(row["last_hash"])


async def audit_log_partitions(conn: asyncpg.Connection) -> list[str]:
    """Names of audit_log's partitions, sorted."""
    names: list[str] = await conn.fetchval(
        "SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM ("
        " SELECT inhrelid::regclass::text AS name FROM pg_inherits"
        " WHERE inhparent = 'public.audit_log'::regclass) AS partitions"
    )
    return names


async def audit_count(conn: asyncpg.Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM audit_log")
    return count


async def assert_chain_intact(conn: asyncpg.Connection, rows: int | None = None) -> list[Link]:
    """The chain checked two ways: by verify_chain, and link by link here: seq 1..N
    without gaps, each prev_hash the row_hash before it (so no two rows share a
    prev_hash: no fork), and the head at the last row."""
    report = await verify_chain(conn)
    assert report.ok, str(report)
    links = await chain_links(conn)
    assert [link.seq for link in links] == list(range(1, len(links) + 1))
    assert len({link.prev_hash for link in links}) == len(links), "the chain forked"
    previous = GENESIS
    for link in links:
        assert link.prev_hash == previous, f"seq {link.seq} does not follow seq {link.seq - 1}"
        previous = link.row_hash
    assert await chain_head(conn) == (len(links), previous)
    assert report.rows == len(links)
    assert report.head == ChainHead(seq=len(links), hash=previous.hex())
    if rows is not None:
        assert len(links) == rows
    return links


@asynccontextmanager
async def tampering(conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """A superuser's transaction with audit_log's append-only trigger switched off."""
    async with conn.transaction():
        # A forged INSERT queues audit_log_advance_chain, and ALTER TABLE refuses to run
        # with trigger events pending: fire them as they come.
        await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_refuse_change")
        yield conn
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_refuse_change")
    enabled = await conn.fetchval(
        "SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'audit_log_refuse_change'"
    )
    assert enabled == "O", "the append-only trigger was left disabled"


# Rehash every row from `start` on, chained to the row before it, and move the
# head to the new end: a rewrite that is consistent in itself.
REHASH_FROM = """
DO $rehash$
DECLARE
    entry record;
    previous bytea;
BEGIN
    SELECT row_hash INTO previous FROM audit_log WHERE seq = {start} - 1;
    previous := coalesce(previous, decode(repeat('00', 32), 'hex'));
    FOR entry IN SELECT * FROM audit_log WHERE seq >= {start} ORDER BY seq LOOP
        UPDATE audit_log
           SET prev_hash = previous,
               row_hash = audit_row_digest(
                   previous, entry.seq, entry.id, entry.table_name, entry.record_id,
                   entry.action, entry.old_values, entry.new_values, entry.changed_fields,
                   entry.actor, entry.session_id, entry.txid, entry.occurred_at,
                   entry.recorded_at)
         WHERE id = entry.id
        RETURNING row_hash INTO previous;
    END LOOP;
    UPDATE audit_chain_head
       SET seq = (SELECT coalesce(max(seq), 0) FROM audit_log), last_hash = previous
     WHERE id = 1;
END
$rehash$
"""


def rehash_from(start: int) -> str:
    return REHASH_FROM.format(start=int(start))


# A real change of one column per business table, as SQL assignments.
CHANGES = {
    "parts": "part_name = 'Renamed board'",
    "lots": "notes = 'moved to line B'",
    "inspections": "notes = 'rechecked'",
    "defects": "description = 'hairline'",
    "inference_jobs": "priority = 9",
    "artifacts": "size_bytes = 2048",
    "reports": "title = 'Renamed report'",
}
