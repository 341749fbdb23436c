"""Verify the audit trail's hash chain, and export its head.

Each audit_log row carries `seq` (1, 2, 3, ... without gaps), `prev_hash` (the
row_hash before it; 32 zero bytes for the first) and `row_hash` =
audit_row_digest(prev_hash, the row's fields). `verify_chain` walks the rows in
seq order, recomputing every hash on the server, and reports the first broken
link. An edited, deleted, inserted or reordered row breaks the chain where it
stands; rewriting the whole chain from some row on (possible for the owner or
a superuser) is caught by checking it against a head exported earlier:

    head = await export_head(conn)          # keep it outside the database
    ...
    report = await verify_chain(conn, against=head)

Once old months are archived (audit_archive), the walk starts at the newest
checkpoint: its last seq and row_hash stand for the entries archived before
it, and the checkpoints' own hash chain is checked first. A restored month is
checked against its checkpoint. `from_genesis=True` walks from seq 1 instead
(every month must be in the database).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from chip_quality_queries import audit_maintenance
from chip_quality_queries._runtime import query_failed

from .audit_checkpoints import GENESIS, check_checkpoints, check_run, load_checkpoints
from .audit_partitions import partition_exists, partition_name

BATCH = 5_000


@dataclass(frozen=True)
class ChainHead:
    """Where the chain ended when it was exported: enough to detect a rewrite later."""

    seq: int
    hash: str  # hex

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChainHead:
        try:
            return cls(seq=int(data["seq"]), hash=str(data["hash"]).lower())
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError("an exported chain head is {'seq': int, 'hash': hex}") from exc


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows: int
    head: ChainHead
    broken_at: int | None = None  # seq of the first entry that does not verify
    reason: str | None = None
    from_seq: int = 0  # the walk started after this seq (a checkpoint's last), 0: genesis
    checkpoint: str | None = None  # the archived month it started from

    def __str__(self) -> str:
        if self.ok:
            start = f", from the checkpoint of {self.checkpoint}" if self.checkpoint else ""
            return f"audit chain OK: {self.rows} entries{start}, head seq {self.head.seq}"
        return f"audit chain BROKEN at seq {self.broken_at}: {self.reason}"


async def export_head(conn: asyncpg.Connection) -> ChainHead:
    row = await audit_maintenance.audit_chain_head(conn)
    if row is None:
        raise RuntimeError("audit_chain_head is empty: the audit migration has not run")
    return ChainHead(seq=row.seq, hash=row.last_hash.hex())


async def verify_chain(
    conn: asyncpg.Connection, *, against: ChainHead | None = None, from_genesis: bool = False
) -> ChainReport:
    """Walk the whole chain in one snapshot, so writers don't race it.

    On a connection already in a transaction the walk runs in that transaction
    (its snapshot is the caller's); else in a REPEATABLE READ one. An exported
    head vouches for the entries up to its own seq; later ones rest on the walk.
    """
    if conn.is_in_transaction():
        return await _walk(conn, against, from_genesis)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await _walk(conn, against, from_genesis)


async def _walk(
    conn: asyncpg.Connection, against: ChainHead | None, from_genesis: bool
) -> ChainReport:
    head = await export_head(conn)
    checkpoints = await load_checkpoints(conn)
    problem = check_checkpoints(checkpoints)
    if problem is not None:
        return _broken(0, head, problem.seq, str(problem))
    for checkpoint in checkpoints:
        if await partition_exists(conn, checkpoint.month):
            # A restored month: it must hold exactly what its checkpoint vouches for.
            run = await check_run(conn, partition_name(checkpoint.month))
            difference = run.differs_from(checkpoint)
            if difference is not None:
                seq, reason = difference
                return _broken(0, head, seq, f"restored month {checkpoint.label}: {reason}")
        elif from_genesis:
            raise ValueError(
                f"audit month {checkpoint.label} is archived: restore it to verify from "
                "genesis, or verify from the newest checkpoint"
            )
    start_seq, previous = 0, GENESIS
    start_label = None
    if checkpoints and not from_genesis:
        start_seq, previous = checkpoints[-1].last_seq, checkpoints[-1].last_row_hash
        start_label = checkpoints[-1].label
    expected_seq = start_seq
    while True:
        rows = await _batch(conn, expected_seq)
        for row in rows:
            seq = row["seq"]
            if seq != expected_seq + 1:
                missing = expected_seq + 1
                return _broken(
                    expected_seq, head, missing, f"entry {missing} is missing (next is {seq})"
                )
            if row["prev_hash"] != previous:
                return _broken(
                    expected_seq, head, seq, "prev_hash is not the row_hash of the entry before"
                )
            if row["recomputed"] != row["row_hash"]:
                return _broken(
                    expected_seq, head, seq, "row_hash does not match the entry's contents"
                )
            expected_seq, previous = seq, row["row_hash"]
        if len(rows) < BATCH:
            break
    if expected_seq != head.seq or previous.hex() != head.hash:
        # The head must name the last entry. Entries past it, or missing before it,
        # break the chain where the head stops vouching; a wrong hash, at the head.
        past_or_missing = min(expected_seq, head.seq) + 1
        broken_at = head.seq if expected_seq == head.seq else past_or_missing
        return _broken(
            expected_seq,
            head,
            broken_at,
            f"the chain ends at seq {expected_seq} (hash {previous.hex()[:12]}...) "
            f"but its head says seq {head.seq} (hash {head.hash[:12]}...)",
        )
    if against is not None and against.seq > 0:
        stored = await audit_maintenance.audit_row_hash_at(conn, seq=against.seq)
        boundary = next((c for c in checkpoints if c.last_seq == against.seq), None)
        if stored is None and boundary is not None:
            stored = boundary.last_row_hash  # archived: its checkpoint keeps the hash
        if stored is None and against.seq <= start_seq:
            return _broken(
                expected_seq,
                head,
                against.seq,
                "the exported head's entry is archived: compare it with its archive file "
                "(audit verify --archive DIR) or restore the month",
            )
        if stored is None or stored.hex() != against.hash:
            return _broken(
                expected_seq,
                head,
                against.seq,
                "differs from the exported head: the chain was rewritten",
            )
    return ChainReport(
        ok=True,
        rows=expected_seq - start_seq,
        head=head,
        from_seq=start_seq,
        checkpoint=start_label,
    )


async def _batch(conn: asyncpg.Connection, after_seq: int) -> list[asyncpg.Record]:
    """The walk's next BATCH entries: the named query AuditChainBatch, its SQL run by the
    driver directly rather than through its generated function, whose row models cost
    the walk 1 to 2 us per entry, a tenth of its time (about 11 us an entry from
    genesis). The SQL is the generated one (compiled, its types checked against the
    server by `make query-types`, its plan by `make plan-check`: seq int8, the hashes
    bytea, which asyncpg reads as int and bytes) and a failure is mapped as that
    function maps it."""
    try:
        return await conn.fetch(audit_maintenance.AUDIT_CHAIN_BATCH, after_seq, BATCH)
    except Exception as error:
        query_failed(error, "audit_chain_batch", ("after_seq", "batch_size"), "select", None)


def _broken(rows: int, head: ChainHead, seq: int, reason: str) -> ChainReport:
    return ChainReport(ok=False, rows=rows, head=head, broken_at=seq, reason=reason)
