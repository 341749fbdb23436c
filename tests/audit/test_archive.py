"""Archival of old audit months: files a DBA can read, checkpoints, verification from
the newest checkpoint, a crash at every step, tampering with a file or a checkpoint,
and restoring a month."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import gzip
import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from chip_quality_db import DatabaseError
from chip_quality_db.audit import ChainHead, verify_chain
from chip_quality_db.audit_archive import (
    ArchiveError,
    archive,
    file_name,
    restore,
    verify_archive,
)
from chip_quality_db.audit_partitions import maintain, partition_exists, partition_name

from .history import forge_history
from .support import audit_log_partitions, rolled_back, tampering, write_parts
from .test_chain import cli

JUNE, JULY, AUGUST, SEPTEMBER = (dt.date(2026, m, 1) for m in (6, 7, 8, 9))
PER_MONTH = 50


@pytest.fixture
async def history(conn: asyncpg.Connection) -> asyncpg.Connection:
    """Four past months of 50 entries each (seq 1..200), then 2 written now."""
    await maintain(conn, months_ahead=0, extra_months=(JUNE, JULY, AUGUST, SEPTEMBER))
    await forge_history(conn, [JUNE, JULY, AUGUST, SEPTEMBER], PER_MONTH)
    await write_parts(conn, "alice", 2)
    return conn


async def _checkpoints(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT ordinal, month, first_seq, last_seq, row_count FROM audit_checkpoints"
        " ORDER BY ordinal"
    )


async def test_archive_exports_checkpoints_and_drops_whole_old_months(
    history: asyncpg.Connection, tmp_path: Path
) -> None:
    report = await archive(history, before=AUGUST, directory=tmp_path)
    assert report.archived == ["2026-06", "2026-07"] and report.rows == 100
    assert [tuple(row) for row in await _checkpoints(history)] == [
        (1, JUNE, 1, 50, 50),
        (2, JULY, 51, 100, 50),
    ]
    partitions = await audit_log_partitions(history)
    assert partition_name(JUNE) not in partitions and partition_name(JULY) not in partitions
    assert partition_name(AUGUST) in partitions

    # Stock tools read the files: sha256sum's manifest, gzip, CSV with a header.
    for month in (JUNE, JULY):
        path = tmp_path / file_name(month)
        manifest = (tmp_path / (path.name + ".sha256")).read_text()
        assert manifest == f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"
        rows = list(csv.DictReader(io.StringIO(gzip.decompress(path.read_bytes()).decode())))
        assert len(rows) == PER_MONTH
        assert rows[0]["seq"] == str(1 if month == JUNE else 51)
    assert not list(tmp_path.glob("*.partial"))

    # verify starts at the newest checkpoint and walks only what is left.
    verified = await verify_chain(history)
    assert verified.ok, str(verified)
    assert (verified.from_seq, verified.rows) == (100, 102)
    assert await verify_archive(history, tmp_path) == []

    # A second run has nothing left to do; a later cutoff goes on from there.
    assert (await archive(history, before=AUGUST, directory=tmp_path)).archived == []
    later = await archive(history, before=SEPTEMBER, directory=tmp_path)
    assert later.archived == ["2026-08"]
    assert (await verify_chain(history)).from_seq == 150


# --- A crash at every step --------------------------------------------------------------

_KILLER = """
import asyncio, datetime as dt, os, signal, sys
from pathlib import Path
import asyncpg
from chip_quality_db.audit_archive import archive

url, directory, crash_at = sys.argv[1], Path(sys.argv[2]), sys.argv[3]

def on_step(step, month):
    if step == crash_at:
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no rollback on our side

async def main():
    conn = await asyncpg.connect(url)
    await archive(conn, before=dt.date(2026, 8, 1), directory=directory, on_step=on_step)

asyncio.run(main())
"""


def _archive_and_die(url: str, directory: Path, step: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _KILLER, url, str(directory), step],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode


@pytest.mark.parametrize("step", ["checked", "exported", "checkpointed", "dropped"])
async def test_a_kill_at_any_step_loses_nothing_and_a_rerun_finishes(
    db_url: str, history: asyncpg.Connection, tmp_path: Path, step: str
) -> None:
    all_rows = await history.fetch("SELECT * FROM audit_log WHERE seq <= 100 ORDER BY seq")
    returncode = await asyncio.to_thread(_archive_and_die, db_url, tmp_path, step)
    assert returncode == -9  # killed, in June's first pass through `step`

    # Whatever the step, nothing is lost: June is in its partition or in a file
    # vouched for by a checkpoint, and the chain verifies.
    checkpoints = await _checkpoints(history)
    june_dropped = partition_name(JUNE) not in await audit_log_partitions(history)
    assert len(checkpoints) == (1 if step in ("checkpointed", "dropped") else 0)
    assert june_dropped == (step == "dropped")
    assert (await verify_chain(history)).ok

    report = await archive(history, before=AUGUST, directory=tmp_path)
    expected = ["2026-07"] if step == "dropped" else ["2026-06", "2026-07"]
    assert report.archived == expected
    assert [tuple(row)[:2] for row in await _checkpoints(history)] == [(1, JUNE), (2, JULY)]
    assert not list(tmp_path.glob("*.partial"))
    assert await verify_archive(history, tmp_path) == []
    assert (await verify_chain(history)).from_seq == 100

    # And the archived entries are all there: restored, they are the same rows.
    await restore(history, month=JUNE, directory=tmp_path)
    await restore(history, month=JULY, directory=tmp_path)
    restored = await history.fetch("SELECT * FROM audit_log WHERE seq <= 100 ORDER BY seq")
    assert [tuple(row) for row in restored] == [tuple(row) for row in all_rows]


async def test_nothing_is_dropped_when_the_file_went_missing_after_its_checkpoint(
    db_url: str, history: asyncpg.Connection, tmp_path: Path
) -> None:
    assert await asyncio.to_thread(_archive_and_die, db_url, tmp_path, "checkpointed") == -9
    (tmp_path / file_name(JUNE)).unlink()
    with pytest.raises(ArchiveError, match=r"2026-06 \(seq 1\.\.50\).*missing"):
        await archive(history, before=AUGUST, directory=tmp_path)
    assert partition_name(JUNE) in await audit_log_partitions(history)


# --- Tampering --------------------------------------------------------------------------


def _edit_archive(path: Path, seq: int, actor: str) -> None:
    """Change the actor of entry `seq` in an archive file and recompress it."""
    text = gzip.decompress(path.read_bytes()).decode()
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    for row in rows[1:]:
        if row[header.index("seq")] == str(seq):
            row[header.index("actor")] = actor
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_bytes(gzip.compress(out.getvalue().encode()))


async def test_an_edited_archive_file_is_reported_with_its_month_and_seq(
    db_url: str, history: asyncpg.Connection, tmp_path: Path
) -> None:
    await archive(history, before=AUGUST, directory=tmp_path)
    _edit_archive(tmp_path / file_name(JULY), 77, "mallory")
    [problem] = await verify_archive(history, tmp_path)
    assert (problem.month, problem.seq) == ("2026-07", 77)
    assert "row_hash does not match" in problem.reason
    assert (await verify_chain(history)).ok  # the database itself is untouched

    result = await cli(db_url, "audit", "verify", "--archive", str(tmp_path))
    assert result.returncode == 1
    assert "archive of 2026-07 BROKEN at seq 77" in result.stdout

    with pytest.raises(ArchiveError, match=r"2026-07.*SHA-256"):
        await restore(history, month=JULY, directory=tmp_path)
    assert partition_name(JULY) not in await audit_log_partitions(history)


async def test_a_missing_archive_file_is_reported_with_its_month_and_seq_range(
    history: asyncpg.Connection, tmp_path: Path
) -> None:
    await archive(history, before=AUGUST, directory=tmp_path)
    (tmp_path / file_name(JUNE)).unlink()
    [problem] = await verify_archive(history, tmp_path)
    assert (problem.month, problem.seq) == ("2026-06", 1)
    assert "missing (seq 1..50)" in problem.reason


async def test_an_edited_checkpoint_is_reported_with_its_month(
    db_url: str, history: asyncpg.Connection, tmp_path: Path
) -> None:
    await archive(history, before=SEPTEMBER, directory=tmp_path)
    async with history.transaction():
        await history.execute(
            "ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_refuse_change"
        )
        await history.execute(
            "UPDATE audit_checkpoints SET row_count = 49, last_seq = 99 WHERE month = $1", JULY
        )
        await history.execute(
            "ALTER TABLE audit_checkpoints ENABLE TRIGGER audit_checkpoints_refuse_change"
        )
    report = await verify_chain(history)
    assert not report.ok
    assert report.broken_at == 51 and "2026-07 (seq 51..99)" in (report.reason or "")
    assert "altered" in (report.reason or "")
    problems = await verify_archive(history, tmp_path)
    assert [p.month for p in problems] == ["2026-07", "2026-07"]
    result = await cli(db_url, "audit", "verify")
    assert result.returncode == 1 and "2026-07" in result.stdout


async def test_a_checkpoint_rewritten_with_its_hash_chain_is_caught_by_the_links(
    history: asyncpg.Connection, tmp_path: Path
) -> None:
    await archive(history, before=AUGUST, directory=tmp_path)
    forged = bytes.fromhex("ab" * 32)
    async with history.transaction():
        await history.execute("SET LOCAL session_replication_role = replica")  # no triggers
        await history.execute(
            """
            UPDATE audit_checkpoints
               SET last_row_hash = $1,
                   checkpoint_hash = audit_checkpoint_digest(
                       prev_hash, ordinal, month, first_seq, last_seq, row_count,
                       first_prev_hash, $1, file_name, file_sha256, archived_at, archived_by)
             WHERE month = $2
            """,
            forged,
            JULY,
        )
    report = await verify_chain(history)
    assert not report.ok and report.broken_at == 101  # the first live entry no longer links
    [problem] = await verify_archive(history, tmp_path)
    assert (problem.month, problem.seq) == ("2026-07", 100)


async def test_checkpoints_are_append_only(history: asyncpg.Connection, tmp_path: Path) -> None:
    await archive(history, before=JULY, directory=tmp_path)
    for statement in (
        "UPDATE audit_checkpoints SET row_count = row_count",
        "DELETE FROM audit_checkpoints",
        "TRUNCATE audit_checkpoints",
    ):
        with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
            async with rolled_back(history):
                await history.execute(statement)


# --- Restore ----------------------------------------------------------------------------


async def test_a_restored_month_is_back_verifiably_and_can_be_archived_again(
    history: asyncpg.Connection, tmp_path: Path
) -> None:
    before = await history.fetch("SELECT * FROM audit_log WHERE seq BETWEEN 51 AND 100")
    await archive(history, before=AUGUST, directory=tmp_path)
    assert await restore(history, month=JULY, directory=tmp_path) == PER_MONTH
    after = await history.fetch("SELECT * FROM audit_log WHERE seq BETWEEN 51 AND 100")
    assert sorted(map(tuple, after)) == sorted(map(tuple, before))
    assert (await verify_chain(history)).ok
    # Guarded like any partition.
    with pytest.raises(asyncpg.RestrictViolationError):
        async with rolled_back(history):
            await history.execute(f"DELETE FROM {partition_name(JULY)}")
    # Tampering with the restored rows is caught by verify against the checkpoint.
    async with history.transaction():
        await history.execute("SET LOCAL session_replication_role = replica")
        await history.execute(f"UPDATE {partition_name(JULY)} SET actor = 'x' WHERE seq = 60")
    report = await verify_chain(history)
    assert not report.ok and report.broken_at == 60 and "restored month 2026-07" in str(report)


async def test_restore_refuses_a_month_never_archived_or_already_there(
    history: asyncpg.Connection, tmp_path: Path
) -> None:
    with pytest.raises(ArchiveError, match="2026-06 was never archived"):
        await restore(history, month=JUNE, directory=tmp_path)
    await archive(history, before=JULY, directory=tmp_path)
    await restore(history, month=JUNE, directory=tmp_path)
    with pytest.raises(DatabaseError, match="audit_log_2026_06 exists already") as caught:
        await restore(history, month=JUNE, directory=tmp_path)
    assert str(caught.value).startswith("restore_audit_month: ")
    assert isinstance(caught.value.__cause__, asyncpg.DuplicateTableError)


async def test_the_cli_archives_verifies_and_restores(
    db_url: str, history: asyncpg.Connection, tmp_path: Path
) -> None:
    bad = await cli(db_url, "audit", "archive", "--before", "2026-13", "--dir", str(tmp_path))
    assert bad.returncode == 2 and "'2026-13' is not a month" in bad.stderr
    future = await cli(db_url, "audit", "archive", "--before", "2099-01", "--dir", str(tmp_path))
    assert future.returncode == 2 and "after this month" in future.stderr
    done = await cli(db_url, "audit", "archive", "--before", "2026-08", "--dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "2026-06, 2026-07 archived (100 entries)" in done.stdout
    verified = await cli(db_url, "audit", "verify", "--archive", str(tmp_path))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "from the checkpoint of 2026-07 (seq 51..100)" in verified.stdout
    back = await cli(db_url, "audit", "restore", "--month", "2026-06", "--dir", str(tmp_path))
    assert back.returncode == 0 and "50 entries" in back.stdout
    maintained = await cli(db_url, "audit", "maintain", "--months-ahead", "1")
    assert maintained.returncode == 0 and "audit partitions:" in maintained.stdout


async def test_the_rollback_refuses_while_months_are_archived(
    db_url: str, history: asyncpg.Connection, tmp_path: Path
) -> None:
    await archive(history, before=JULY, directory=tmp_path)
    env = {**os.environ, "DATABASE_URL": db_url}

    def rollback() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["dbmate", "--no-dump-schema", "--migrations-dir", "schema/migrations", "rollback"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            cwd=Path(__file__).resolve().parents[2],
        )

    # Newest first: the migrations after the checkpoints' go (the analytics views,
    # indexes); then the checkpoints' migration refuses.
    undone: list[str] = []
    for _ in range(10):
        result = await asyncio.to_thread(rollback)
        if result.returncode != 0:
            break
        undone.append(result.stdout)
    assert result.returncode != 0
    assert "2026-06 are archived" in result.stdout + result.stderr
    assert "20261201000200_create_audit_checkpoints" in result.stdout + result.stderr
    assert undone and all("20261201000200" not in out for out in undone)
    assert await history.fetchval("SELECT count(*) FROM audit_checkpoints") == 1


async def test_an_exported_head_in_an_archived_month_is_checked_at_its_checkpoint(
    history: asyncpg.Connection, tmp_path: Path
) -> None:
    at_boundary = await history.fetchval("SELECT row_hash FROM audit_log WHERE seq = 100")
    inside = await history.fetchval("SELECT row_hash FROM audit_log WHERE seq = 77")
    await archive(history, before=AUGUST, directory=tmp_path)
    # The last entry of July: its checkpoint keeps the hash.
    assert (await verify_chain(history, against=ChainHead(100, bytes(at_boundary).hex()))).ok
    forged = await verify_chain(history, against=ChainHead(100, "00" * 32))
    assert not forged.ok and forged.broken_at == 100
    # Inside an archived month: not silently passed.
    report = await verify_chain(history, against=ChainHead(77, bytes(inside).hex()))
    assert not report.ok and "archived" in (report.reason or "")


async def test_archive_refuses_what_it_cannot_archive_whole_and_says_why(
    history: asyncpg.Connection, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="must be the first of a month, not 2026-07-15"):
        await archive(history, before=dt.date(2026, 7, 15), directory=tmp_path)
    missing = tmp_path / "nowhere"
    with pytest.raises(ValueError, match=f"{missing}: not a directory"):
        await archive(history, before=JULY, directory=missing)
    with pytest.raises(ValueError, match=f"{missing}: not a directory"):
        await verify_archive(history, missing)
    # An entry of June that no longer verifies: June is not archived, nor anything after.
    async with tampering(history):
        await history.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 7")
    with pytest.raises(ArchiveError, match=r"audit month 2026-06: entry 7 does not verify"):
        await archive(history, before=AUGUST, directory=tmp_path)
    assert await _checkpoints(history) == []
    assert list(tmp_path.iterdir()) == []


async def test_archive_with_no_whole_month_before_the_limit_archives_nothing(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    await write_parts(conn, "alice", 2)
    report = await archive(conn, before=dt.date(2020, 1, 1), directory=tmp_path)
    assert (report.archived, report.rows) == ([], 0)
    assert str(report) == "audit archive: no month to archive"


async def test_archive_refuses_while_old_entries_wait_in_the_default_partition(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    # May has no partition of its own: its entries land in audit_log_default.
    await forge_history(conn, [dt.date(2026, 5, 1)], 3)
    with pytest.raises(ArchiveError, match="audit_log_default holds 3 entries before 2026-06"):
        await archive(conn, before=JUNE, directory=tmp_path)
    assert list(tmp_path.iterdir()) == []


async def test_an_empty_month_is_neither_checkpointed_nor_dropped(
    history: asyncpg.Connection, tmp_path: Path
) -> None:
    """May has a partition but no entry: nothing to vouch for, nothing to drop."""
    may = dt.date(2026, 5, 1)
    await maintain(history, months_ahead=0, extra_months=(may,))
    report = await archive(history, before=JULY, directory=tmp_path)
    assert report.archived == ["2026-06"] and report.rows == PER_MONTH
    assert [c["month"] for c in await _checkpoints(history)] == [JUNE]
    assert await partition_exists(history, may)
    assert not (tmp_path / file_name(may)).exists()


async def test_an_edited_checkpoint_stops_further_archival(
    history: asyncpg.Connection, tmp_path: Path
) -> None:
    await archive(history, before=JULY, directory=tmp_path)
    async with history.transaction():
        await history.execute("SET LOCAL session_replication_role = replica")  # no triggers
        await history.execute(
            "UPDATE audit_checkpoints SET row_count = 49, last_seq = 49 WHERE month = $1", JUNE
        )
    with pytest.raises(
        ArchiveError,
        match=r"checkpoint of 2026-06 \(seq 1\.\.49\): altered: its checkpoint_hash does not "
        r"match its contents; nothing archived",
    ):
        await archive(history, before=AUGUST, directory=tmp_path)
    assert await partition_exists(history, JULY)
    assert not (tmp_path / file_name(JULY)).exists()


async def test_an_archive_file_that_is_not_gzip_is_reported_unreadable(
    history: asyncpg.Connection, tmp_path: Path
) -> None:
    await archive(history, before=JULY, directory=tmp_path)
    path = tmp_path / file_name(JUNE)
    path.write_bytes(b"seq,actor\n1,mallory\n")
    [problem] = await verify_archive(history, tmp_path)
    assert (problem.month, problem.seq) == ("2026-06", 1)
    assert problem.reason.startswith(
        f"audit month 2026-06 (seq 1..50): archive file {path} cannot be read back: "
    )


async def test_an_archive_file_rewritten_with_the_same_entries_is_reported(
    history: asyncpg.Connection, tmp_path: Path
) -> None:
    """Recompressed: every entry still verifies, but it is not the file checkpointed."""
    await archive(history, before=JULY, directory=tmp_path)
    path = tmp_path / file_name(JUNE)
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), compresslevel=1, mtime=0))
    [problem] = await verify_archive(history, tmp_path)
    assert (problem.month, problem.seq) == ("2026-06", 1)
    assert problem.reason == (
        f"{path}: its SHA-256 is not the checkpoint's (the file was rewritten, though "
        "its entries still verify)"
    )
