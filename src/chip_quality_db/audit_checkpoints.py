"""Checkpoints of archived audit months, and the chain check of one run of entries.

A checkpoint (table audit_checkpoints, migration 20261201000200) records what
an archived month held: first and last seq, the prev_hash of its first entry,
the row_hash of its last, the row count, the archive file's name and SHA-256.
Checkpoints are hash-chained themselves; `check_checkpoints` recomputes that
chain and the links between consecutive months, so an edited checkpoint is
found even when the archive files are not at hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from chip_quality_queries import audit_maintenance

GENESIS = bytes(32)


@dataclass(frozen=True)
class Checkpoint:
    ordinal: int
    month: dt.date
    first_seq: int
    last_seq: int
    row_count: int
    first_prev_hash: bytes
    last_row_hash: bytes
    file_name: str
    file_sha256: bytes
    prev_hash: bytes
    checkpoint_hash: bytes
    recomputed: bytes

    @property
    def label(self) -> str:
        """'2026-01 (seq 1..4127)': how reports name an archived month."""
        return f"{self.month:%Y-%m} (seq {self.first_seq}..{self.last_seq})"


@dataclass(frozen=True)
class Run:
    """The chain of one run of entries: its extent, links and first broken entry."""

    row_count: int
    first_seq: int | None
    last_seq: int | None
    first_prev_hash: bytes | None
    last_row_hash: bytes | None
    broken_seq: int | None
    problem: str | None

    def differs_from(self, checkpoint: Checkpoint) -> tuple[int, str] | None:
        """The seq where these entries stop being the ones the checkpoint vouches for,
        and why; None when they are exactly those."""
        if self.broken_seq is not None:
            return self.broken_seq, f"entry {self.broken_seq}: {self.problem}"
        if (self.first_seq, self.last_seq, self.row_count) != (
            checkpoint.first_seq,
            checkpoint.last_seq,
            checkpoint.row_count,
        ):
            return checkpoint.first_seq, (
                f"holds seq {self.first_seq}..{self.last_seq} ({self.row_count} entries), "
                f"the checkpoint seq {checkpoint.first_seq}..{checkpoint.last_seq} "
                f"({checkpoint.row_count})"
            )
        if self.first_prev_hash != checkpoint.first_prev_hash:
            return checkpoint.first_seq, (
                f"entry {checkpoint.first_seq}: prev_hash differs from the checkpoint's"
            )
        if self.last_row_hash != checkpoint.last_row_hash:
            return checkpoint.last_seq, (
                f"entry {checkpoint.last_seq}: row_hash differs from the checkpoint's"
            )
        return None


@dataclass(frozen=True)
class CheckpointProblem:
    checkpoint: Checkpoint
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"checkpoint of {self.checkpoint.label}: {self.reason}"


async def load_checkpoints(conn: asyncpg.Connection) -> list[Checkpoint]:
    """The checkpoints in order; none on a database migrated to before archival."""
    if not await audit_maintenance.public_table_exists(conn, table_name="audit_checkpoints"):
        return []
    rows = await audit_maintenance.audit_checkpoints(conn)
    return [
        Checkpoint(
            ordinal=row.ordinal,
            month=row.month,
            first_seq=row.first_seq,
            last_seq=row.last_seq,
            row_count=row.row_count,
            first_prev_hash=row.first_prev_hash,
            last_row_hash=row.last_row_hash,
            file_name=row.file_name,
            file_sha256=row.file_sha256,
            prev_hash=row.prev_hash,
            checkpoint_hash=row.checkpoint_hash,
            recomputed=row.recomputed,
        )
        for row in rows
    ]


def check_checkpoints(checkpoints: list[Checkpoint]) -> CheckpointProblem | None:
    """The first checkpoint that is altered or does not follow the one before."""
    previous_hash, previous_last_seq, previous_row_hash = GENESIS, 0, GENESIS
    for expected_ordinal, checkpoint in enumerate(checkpoints, start=1):
        if checkpoint.ordinal != expected_ordinal:
            return CheckpointProblem(
                checkpoint, checkpoint.first_seq, f"checkpoint {expected_ordinal} is missing"
            )
        if checkpoint.recomputed != checkpoint.checkpoint_hash:
            return CheckpointProblem(
                checkpoint,
                checkpoint.first_seq,
                "altered: its checkpoint_hash does not match its contents",
            )
        if checkpoint.prev_hash != previous_hash:
            return CheckpointProblem(
                checkpoint,
                checkpoint.first_seq,
                "its prev_hash is not the checkpoint_hash of the checkpoint before",
            )
        if checkpoint.first_seq != previous_last_seq + 1:
            return CheckpointProblem(
                checkpoint,
                checkpoint.first_seq,
                f"starts at seq {checkpoint.first_seq}, not right after seq {previous_last_seq}",
            )
        if checkpoint.first_prev_hash != previous_row_hash:
            return CheckpointProblem(
                checkpoint,
                checkpoint.first_seq,
                "its first entry's prev_hash is not the last row_hash of the month before",
            )
        previous_hash = checkpoint.checkpoint_hash
        previous_last_seq, previous_row_hash = checkpoint.last_seq, checkpoint.last_row_hash
    return None


async def check_run(conn: asyncpg.Connection, relation: str) -> Run:
    """Walk the entries of `relation` (a partition or a loaded archive) on the server."""
    row = await audit_maintenance.audit_check_run(conn, source=relation)
    assert row is not None  # an aggregate: always one row
    return Run(
        row_count=row.row_count,
        first_seq=row.first_seq,
        last_seq=row.last_seq,
        first_prev_hash=row.first_prev_hash,
        last_row_hash=row.last_row_hash,
        broken_seq=row.broken_seq,
        problem=row.problem,
    )
