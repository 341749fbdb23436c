"""The monthly partitions of audit_log: naming, and making them ahead of time.

audit_log is partitioned by month of recorded_at (UTC), one partition
audit_log_YYYY_MM per month, plus audit_log_default for rows no month covers
(migration 20261201000100). `maintain` makes this month's partition and the
next ones; run it daily from cron. It is idempotent and safe while writers run:
each month is made in a transaction of its own by audit_log_create_partition(),
which attaches (SHARE UPDATE EXCLUSIVE on audit_log: audited writes go on) and
gives up after `lock_timeout` rather than queue behind a long transaction, to be
retried.

Also the helpers the audit tools share: whether a month's partition exists,
DDL under a lock timeout with retries, and the count of audit_log_default.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import asyncpg

from chip_quality_queries import audit_maintenance

from ._errors import RetryableError, mapped_errors

MONTHS_AHEAD = 3
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

# Hand-written, not named queries: sqlc cannot compile a statement that names
# audit_log_default. Migration 20261201000100 creates that partition by dynamic SQL on
# purpose, so that sqlc does not take it for a table of its own (and emit a row model
# for it); to sqlc the relation does not exist. Their failures are mapped all the same.
_DEFAULT_ROWS = "SELECT count(*) FROM audit_log_default"
_DEFAULT_ROWS_BEFORE = "SELECT count(*) FROM audit_log_default WHERE recorded_at < $1"

T = TypeVar("T")


def parse_month(text: str) -> dt.date:
    """'2026-03' -> date(2026, 3, 1); anything else is a ValueError naming the input."""
    match = _MONTH.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a month: expected YYYY-MM, e.g. 2026-03")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r} is not a month: the month must be 01 to 12")
    return dt.date(year, month, 1)


def month_text(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def current_month(now: dt.datetime | None = None) -> dt.date:
    moment = now or dt.datetime.now(dt.UTC)
    return dt.date(moment.year, moment.month, 1)


def partition_name(month: dt.date) -> str:
    return f"audit_log_{month.year:04d}_{month.month:02d}"


async def partition_exists(conn: asyncpg.Connection, month: dt.date) -> bool:
    """Whether the month has its partition (attached, or restored)."""
    return await audit_maintenance.public_table_exists(conn, table_name=partition_name(month))


async def default_partition_rows(
    conn: asyncpg.Connection, *, before: dt.datetime | None = None
) -> int:
    """How many entries sit in audit_log_default (recorded before `before`, when given)."""
    with mapped_errors():
        if before is None:
            rows: int = await conn.fetchval(_DEFAULT_ROWS)
        else:
            rows = await conn.fetchval(_DEFAULT_ROWS_BEFORE, before)
    return rows


async def under_lock_timeout(
    conn: asyncpg.Connection,
    step: Callable[[], Awaitable[T]],
    *,
    lock_timeout: str,
    attempts: int,
    backoff: float,
) -> T:
    """Run `step` (DDL on audit_log) in a transaction of its own whose lock_timeout is
    `lock_timeout`; when a lock is not granted in time, back off (`backoff` seconds times
    the attempt) and retry, up to `attempts` times, then raise RetryableError (SQLSTATE
    55P03). Waiting on would block every audited writer queued behind the DDL."""

    async def once() -> T:
        async with conn.transaction():
            await audit_maintenance.set_local_lock_timeout(conn, lock_timeout=lock_timeout)
            return await step()

    for attempt in range(1, attempts):
        try:
            return await once()
        except RetryableError as exc:
            if exc.sqlstate != asyncpg.LockNotAvailableError.sqlstate:
                raise
            await asyncio.sleep(backoff * attempt)
    return await once()  # the last attempt: what it raises is the caller's


@dataclass(frozen=True)
class MaintainReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    default_rows: int = 0

    def __str__(self) -> str:
        made = ", ".join(self.created) or "none"
        lines = [f"audit partitions: created {made}; {len(self.existing)} already there"]
        if self.default_rows:
            lines.append(
                f"warning: audit_log_default holds {self.default_rows} rows of months without "
                "a partition; maintain moves them when it makes their month (add months with "
                "--months-ahead or --month)"
            )
        return "\n".join(lines)


async def maintain(
    conn: asyncpg.Connection,
    *,
    months_ahead: int = MONTHS_AHEAD,
    extra_months: tuple[dt.date, ...] = (),
    now: dt.datetime | None = None,
    lock_timeout: str = "2s",
    attempts: int = 5,
) -> MaintainReport:
    """Make the partitions of this month and `months_ahead` more (and `extra_months`)."""
    if months_ahead < 0:
        raise ValueError(f"months_ahead must be 0 or more, not {months_ahead}")
    first = current_month(now)
    months = sorted({*(add_months(first, n) for n in range(months_ahead + 1)), *extra_months})
    report = MaintainReport()
    for month in months:
        made = await _create_with_retry(conn, month, lock_timeout, attempts)
        (report.created if made else report.existing).append(partition_name(month))
    stray = await default_partition_rows(conn)
    return MaintainReport(report.created, report.existing, stray)


async def _create_with_retry(
    conn: asyncpg.Connection, month: dt.date, lock_timeout: str, attempts: int
) -> bool:
    # A long transaction that holds audit_log_default (or audit_log) makes the attach
    # give up after lock_timeout; back off and retry.
    created = await under_lock_timeout(
        conn,
        lambda: audit_maintenance.create_audit_partition(conn, month=month),
        lock_timeout=lock_timeout,
        attempts=attempts,
        backoff=0.2,
    )
    return created is not None
