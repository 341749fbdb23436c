"""The monthly partitions of audit_log: naming, and making them ahead of time.

audit_log is partitioned by month of recorded_at (UTC), one partition
audit_log_YYYY_MM per month, plus audit_log_default for rows no month covers
(migration 20261201000100). `maintain` makes this month's partition and the
next ones; run it daily from cron. It is idempotent and safe while writers run:
each month is made in a transaction of its own by audit_log_create_partition(),
which attaches (SHARE UPDATE EXCLUSIVE on audit_log: audited writes go on) and
gives up after `lock_timeout` rather than queue behind a long transaction, to be
retried.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass, field

import asyncpg

MONTHS_AHEAD = 3
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_CREATE = "SELECT audit_log_create_partition($1::date)"
_STRAY = "SELECT count(*) FROM audit_log_default"
_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', $1, true)"


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
    stray: int = await conn.fetchval(_STRAY)
    return MaintainReport(report.created, report.existing, stray)


async def _create_with_retry(
    conn: asyncpg.Connection, month: dt.date, lock_timeout: str, attempts: int
) -> bool:
    for attempt in range(1, attempts + 1):
        try:
            async with conn.transaction():
                await conn.execute(_LOCK_TIMEOUT, lock_timeout)
                created: str | None = await conn.fetchval(_CREATE, month)
                return created is not None
        except asyncpg.LockNotAvailableError:
            # A long transaction holds audit_log_default (or audit_log): waiting on
            # would block every writer queued behind this DDL. Back off, retry.
            if attempt == attempts:
                raise
            await asyncio.sleep(0.2 * attempt)
    raise AssertionError("unreachable")
