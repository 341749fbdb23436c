"""The links `check_checkpoints` and `Run.differs_from` check between archived months.

The server recomputes each checkpoint's hash (`recomputed`, tests/audit proves it
against tampering in the database); what is left to Python is following the links
from one checkpoint to the next and from a month's entries to its checkpoint. Each
broken link is named by the first checkpoint or seq it breaks at, here on a chain
of three months built in memory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from chip_quality_db.audit_checkpoints import (
    GENESIS,
    Checkpoint,
    Run,
    check_checkpoints,
)


def _hash(label: str) -> bytes:
    return label.encode().ljust(32, b".")


def _chain() -> list[Checkpoint]:
    """Three months of 10 entries each, every link in place."""
    checkpoints: list[Checkpoint] = []
    previous_hash, previous_row_hash = GENESIS, GENESIS
    for ordinal in (1, 2, 3):
        own = _hash(f"checkpoint {ordinal}")
        checkpoints.append(
            Checkpoint(
                ordinal=ordinal,
                month=dt.date(2026, ordinal, 1),
                first_seq=10 * ordinal - 9,
                last_seq=10 * ordinal,
                row_count=10,
                first_prev_hash=previous_row_hash,
                last_row_hash=_hash(f"row {10 * ordinal}"),
                file_name=f"audit-2026-0{ordinal}.csv.gz",
                file_sha256=_hash(f"file {ordinal}"),
                prev_hash=previous_hash,
                checkpoint_hash=own,
                recomputed=own,
            )
        )
        previous_hash, previous_row_hash = own, checkpoints[-1].last_row_hash
    return checkpoints


def test_an_intact_chain_has_no_problem() -> None:
    assert check_checkpoints(_chain()) is None
    assert check_checkpoints([]) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ordinal": 3}, "checkpoint 2 is missing"),
        (
            {"recomputed": _hash("other")},
            "altered: its checkpoint_hash does not match its contents",
        ),
        (
            {"prev_hash": GENESIS},
            "its prev_hash is not the checkpoint_hash of the checkpoint before",
        ),
        ({"first_seq": 12}, "starts at seq 12, not right after seq 10"),
        (
            {"first_prev_hash": _hash("row 9")},
            "its first entry's prev_hash is not the last row_hash of the month before",
        ),
    ],
)
def test_a_broken_link_names_the_checkpoint(change: dict[str, object], reason: str) -> None:
    chain = _chain()
    chain[1] = replace(chain[1], **change)  # type: ignore[arg-type]
    problem = check_checkpoints(chain)
    assert problem is not None
    assert problem.checkpoint is chain[1]
    assert problem.seq == chain[1].first_seq
    assert str(problem) == f"checkpoint of 2026-02 (seq {chain[1].first_seq}..20): {reason}"


def _run_of(checkpoint: Checkpoint, **change: object) -> Run:
    run = Run(
        row_count=checkpoint.row_count,
        first_seq=checkpoint.first_seq,
        last_seq=checkpoint.last_seq,
        first_prev_hash=checkpoint.first_prev_hash,
        last_row_hash=checkpoint.last_row_hash,
        broken_seq=None,
        problem=None,
    )
    return replace(run, **change)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "difference"),
    [
        ({}, None),
        (
            {"broken_seq": 14, "problem": "row_hash does not match"},
            (14, "entry 14: row_hash does not match"),
        ),
        (
            {"row_count": 9, "last_seq": 19},
            (11, "holds seq 11..19 (9 entries), the checkpoint seq 11..20 (10)"),
        ),
        ({"first_prev_hash": GENESIS}, (11, "entry 11: prev_hash differs from the checkpoint's")),
        ({"last_row_hash": GENESIS}, (20, "entry 20: row_hash differs from the checkpoint's")),
    ],
)
def test_a_month_differs_from_its_checkpoint_where_it_stops_matching(
    change: dict[str, object], difference: tuple[int, str] | None
) -> None:
    checkpoint = _chain()[1]
    assert _run_of(checkpoint, **change).differs_from(checkpoint) == difference
