"""Archive old audit months to files, restore them, and re-verify the files.

`archive(before=2026-03)` takes each whole month before March that still has a
partition, oldest first, through these steps; each ends in a state a rerun
recognises and finishes, so a crash at any point loses nothing:

1. check: the month's entries verify and follow the last checkpoint (seq and
   hash), or nothing is written;
2. export: the entries, in seq order, to DIR/audit_log_YYYY_MM.csv.gz (CSV with
   a header row as COPY writes it, gzip) and a SHA-256 manifest beside it
   (`sha256sum -c` reads it). Written under a temporary name, fsynced, then
   renamed: a crash leaves no half file under the real name. The file is then
   loaded back and its chain compared with the partition's;
3. checkpoint: one row in audit_checkpoints (first and last seq, links, count,
   the file's SHA-256), committed. Without it, a rerun exports again;
4. drop: audit_log_drop_archived() detaches and drops the partition in one
   transaction, refusing unless its rows are the checkpoint's; before that the
   file must still have the checkpoint's SHA-256. With a checkpoint and the
   partition still there, a rerun goes straight to this step.

A DBA can read a file back with stock tools:

    sha256sum -c audit_log_2026_01.csv.gz.sha256
    gunzip -c audit_log_2026_01.csv.gz | psql -c "\\copy t FROM STDIN (FORMAT csv, HEADER)"
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from chip_quality_queries import audit_maintenance
from chip_quality_queries._runtime import query_failed

from ._checksum import sha256_digest
from .audit_checkpoints import (
    GENESIS,
    Checkpoint,
    Run,
    check_checkpoints,
    check_run,
    load_checkpoints,
)
from .audit_partitions import (
    current_month,
    default_partition_rows,
    month_text,
    partition_exists,
    partition_name,
    under_lock_timeout,
)

COLUMNS = (
    "id",
    "table_name",
    "record_id",
    "action",
    "old_values",
    "new_values",
    "changed_fields",
    "actor",
    "session_id",
    "txid",
    "occurred_at",
    "recorded_at",
    "seq",
    "prev_hash",
    "row_hash",
)
_CHUNK = 1 << 20
_LOAD_TABLE = "audit_archive_load"  # made by the named query CreateAuditArchiveLoad

Step = Callable[[str, dt.date], None]


class ArchiveError(Exception):
    """Archival, restore or an archive file refused; the message names month and seq."""


@dataclass
class ArchiveReport:
    archived: list[str] = field(default_factory=list)
    rows: int = 0

    def __str__(self) -> str:
        if not self.archived:
            return "audit archive: no month to archive"
        return f"audit archive: {', '.join(self.archived)} archived ({self.rows} entries)"


def file_name(month: dt.date) -> str:
    return f"{partition_name(month)}.csv.gz"


def _utc(month: dt.date) -> dt.datetime:
    return dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)


def _next(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


async def archive(
    conn: asyncpg.Connection,
    *,
    before: dt.date,
    directory: Path,
    now: dt.datetime | None = None,
    on_step: Step | None = None,
    lock_timeout: str = "2s",
) -> ArchiveReport:
    """Archive every whole month before `before` (the first of a month)."""
    if before.day != 1:
        raise ValueError(f"--before must be the first of a month, not {before}")
    if before > current_month(now):
        raise ValueError(
            f"--before {month_text(before)} is after this month: only whole, past months "
            "can be archived"
        )
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory (create it, on storage kept apart)")
    stray = await default_partition_rows(conn, before=_utc(before))
    if stray:
        raise ArchiveError(
            f"audit_log_default holds {stray} entries before {month_text(before)}: run "
            "`chip-quality-db audit maintain --month YYYY-MM` for their months first"
        )
    step = on_step or (lambda _name, _month: None)
    checkpoints = {c.month: c for c in await load_checkpoints(conn)}
    months = sorted(
        {_month_of(name) for name in await audit_maintenance.audit_month_partitions(conn)}
        | {m for m in checkpoints if await partition_exists(conn, m)}
    )
    report = ArchiveReport()
    for month in (m for m in months if m < before):
        checkpoint = checkpoints.get(month)
        if checkpoint is None:
            checkpoint = await _checkpoint_month(conn, month, directory, step)
            if checkpoint is None:
                continue  # an empty month: nothing to keep, nothing vouched for
        _check_file(directory, checkpoint)
        await _drop(conn, month, lock_timeout)
        step("dropped", month)
        report.archived.append(month_text(month))
        report.rows += checkpoint.row_count
    return report


def _month_of(name: str) -> dt.date:
    _, _, year, month = name.split("_")
    return dt.date(int(year), int(month), 1)


async def _checkpoint_month(
    conn: asyncpg.Connection, month: dt.date, directory: Path, step: Step
) -> Checkpoint | None:
    run = await check_run(conn, partition_name(month))
    if run.row_count == 0:
        return None
    if run.broken_seq is not None:
        raise ArchiveError(
            f"audit month {month_text(month)}: entry {run.broken_seq} does not verify "
            f"({run.problem}); nothing archived"
        )
    existing = await load_checkpoints(conn)
    problem = check_checkpoints(existing)
    if problem is not None:
        raise ArchiveError(f"{problem}; nothing archived")
    last_seq, last_hash = (
        (existing[-1].last_seq, existing[-1].last_row_hash)
        if existing
        else (
            0,
            GENESIS,
        )
    )
    if run.first_seq != last_seq + 1 or run.first_prev_hash != last_hash:
        raise ArchiveError(
            f"audit month {month_text(month)} starts at seq {run.first_seq}, which does not "
            f"follow the last archived entry (seq {last_seq}): archive months oldest first"
        )
    step("checked", month)
    digest = await export_month(conn, month, directory)
    step("exported", month)
    loaded = await _load_and_check(conn, directory / file_name(month), month)
    if loaded != run:
        raise ArchiveError(
            f"audit month {month_text(month)}: the file written does not hold the partition's "
            "entries (written while they changed?); nothing checkpointed, rerun"
        )
    assert run.first_seq is not None and run.last_seq is not None
    assert run.first_prev_hash is not None and run.last_row_hash is not None
    await audit_maintenance.insert_audit_checkpoint(
        conn,
        audit_maintenance.InsertAuditCheckpointParams(
            month=month,
            first_seq=run.first_seq,
            last_seq=run.last_seq,
            row_count=run.row_count,
            first_prev_hash=run.first_prev_hash,
            last_row_hash=run.last_row_hash,
            file_name=file_name(month),
            file_sha256=digest,
        ),
    )
    step("checkpointed", month)
    return next(c for c in await load_checkpoints(conn) if c.month == month)


async def export_month(conn: asyncpg.Connection, month: dt.date, directory: Path) -> bytes:
    """Write the month's entries to DIR/audit_log_YYYY_MM.csv.gz and its manifest;
    return the file's SHA-256."""
    path = directory / file_name(month)
    temporary = path.with_name(path.name + ".partial")
    with temporary.open("wb") as raw:
        # mtime 0 and no name in the header: the same entries give the same bytes.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed:

            async def write(chunk: bytes) -> None:
                compressed.write(chunk)

            # The named query ExportAuditMonth's own SQL (compiled, typed, plan-checked),
            # run through COPY (...) TO STDOUT: the rows stream to the file as CSV, never
            # built as models. The server's refusals are mapped as its generated function
            # maps them; an error writing the file is the file's, raised as it is.
            try:
                await conn.copy_from_query(
                    audit_maintenance.EXPORT_AUDIT_MONTH,
                    _utc(month),
                    _utc(_next(month)),
                    output=write,
                    format="csv",
                    header=True,
                )
            except asyncpg.PostgresError as error:
                query_failed(
                    error,
                    "export_audit_month",
                    ("recorded_from", "recorded_before"),
                    "select",
                    None,
                )
        raw.flush()
        os.fsync(raw.fileno())
    digest = sha256_digest(temporary)
    os.replace(temporary, path)
    _write_atomically(
        path.with_name(path.name + ".sha256"), f"{digest.hex()}  {path.name}\n".encode()
    )
    _fsync_directory(directory)
    return digest


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".partial")
    with temporary.open("wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


def _fsync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _check_file(directory: Path, checkpoint: Checkpoint) -> None:
    """The archive file must be there with the checkpoint's SHA-256 before anything is dropped."""
    path = directory / checkpoint.file_name
    if not path.is_file():
        raise ArchiveError(
            f"audit month {checkpoint.label}: archive file {path} is missing; the partition is kept"
        )
    if sha256_digest(path) != checkpoint.file_sha256:
        raise ArchiveError(
            f"audit month {checkpoint.label}: archive file {path} does not have the SHA-256 "
            "its checkpoint records; the partition is kept"
        )


async def _drop(conn: asyncpg.Connection, month: dt.date, lock_timeout: str) -> None:
    # DETACH takes ACCESS EXCLUSIVE on audit_log: give up quickly rather than block
    # every audited writer queued behind it; retry.
    await under_lock_timeout(
        conn,
        lambda: audit_maintenance.drop_archived_audit_month(conn, month=month),
        lock_timeout=lock_timeout,
        attempts=5,
        backoff=0.5,
    )


async def _gunzipped(path: Path) -> AsyncIterator[bytes]:
    with gzip.open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            yield chunk


async def _load(conn: asyncpg.Connection, path: Path, what: str) -> None:
    """Load an archive file into the temporary table audit_archive_load (inside a
    transaction: it is dropped at its end)."""
    await audit_maintenance.create_audit_archive_load(conn)
    try:
        # COPY FROM STDIN of the file's CSV, streamed as it is gunzipped: no SQL of
        # ours (asyncpg writes the COPY statement from the table and column names);
        # a `:copyfrom` query sends Python records in binary, not a CSV file.
        await conn.copy_to_table(
            _LOAD_TABLE,
            source=_gunzipped(path),
            columns=list(COLUMNS),
            format="csv",
            header=True,
        )
    except (OSError, EOFError, zlib.error, asyncpg.DataError) as exc:
        raise ArchiveError(f"{what}: archive file {path} cannot be read back: {exc}") from exc


async def _load_and_check(conn: asyncpg.Connection, path: Path, month: dt.date) -> Run:
    async with conn.transaction():
        await _load(conn, path, f"audit month {month_text(month)}")
        return await check_run(conn, _LOAD_TABLE)


async def restore(conn: asyncpg.Connection, *, month: dt.date, directory: Path) -> int:
    """Bring an archived month back as a partition from its file; return its entry count."""
    checkpoint = next((c for c in await load_checkpoints(conn) if c.month == month), None)
    if checkpoint is None:
        raise ArchiveError(f"audit month {month_text(month)} was never archived")
    _check_file(directory, checkpoint)
    async with conn.transaction():
        await _load(conn, directory / checkpoint.file_name, f"audit month {checkpoint.label}")
        restored = await audit_maintenance.restore_audit_month(
            conn, month=month, source=_LOAD_TABLE
        )
    return restored


@dataclass(frozen=True)
class ArchiveProblem:
    month: str
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"archive of {self.month} BROKEN at seq {self.seq}: {self.reason}"


async def verify_archive(conn: asyncpg.Connection, directory: Path) -> list[ArchiveProblem]:
    """Every checkpoint's file: present, with its SHA-256, and holding exactly the entries
    the checkpoint vouches for, each of which verifies. One problem per month at most."""
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory")
    checkpoints = await load_checkpoints(conn)
    problems: list[ArchiveProblem] = []
    broken = check_checkpoints(checkpoints)
    if broken is not None:
        problems.append(ArchiveProblem(f"{broken.checkpoint.month:%Y-%m}", broken.seq, str(broken)))
    for checkpoint in checkpoints:
        problem = await _verify_file(conn, directory, checkpoint)
        if problem is not None:
            problems.append(problem)
    return problems


async def _verify_file(
    conn: asyncpg.Connection, directory: Path, checkpoint: Checkpoint
) -> ArchiveProblem | None:
    month = f"{checkpoint.month:%Y-%m}"
    path = directory / checkpoint.file_name
    if not path.is_file():
        return ArchiveProblem(
            month,
            checkpoint.first_seq,
            f"{path} is missing (seq {checkpoint.first_seq}..{checkpoint.last_seq})",
        )
    digest_ok = sha256_digest(path) == checkpoint.file_sha256
    try:
        async with conn.transaction():
            await _load(conn, path, f"audit month {checkpoint.label}")
            run = await check_run(conn, _LOAD_TABLE)
    except ArchiveError as exc:
        return ArchiveProblem(month, checkpoint.first_seq, str(exc))
    difference = run.differs_from(checkpoint)
    if difference is not None:
        seq, reason = difference
        return ArchiveProblem(month, seq, f"{path}: {reason}")
    if not digest_ok:
        return ArchiveProblem(
            month,
            checkpoint.first_seq,
            f"{path}: its SHA-256 is not the checkpoint's (the file was rewritten, though "
            "its entries still verify)",
        )
    return None
