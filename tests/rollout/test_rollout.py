"""`make test-rollout`: migrations applied under a steady workload, each one measured.

A database at the schema of the project's migrations but the last LATER ones,
holding the plans dataset (chip_quality_dev.dataset: 1.1 million defects, 300,000
audit entries, ...; a clone of the cached one, which `make plan-check` uses too),
serves the workload of workload.py: 8 tasks calling the generated functions through
the project's pool, reads and audited writes. While it runs, `make migrate`'s own
code (chip_quality_dev.migrate.apply) applies the project's LATER migrations, then
the rollout migrations of tests/rollout/migrations, each the safe form of a common
change: a nullable column, a column with a constant default, an index built
CONCURRENTLY, a foreign key and a CHECK added NOT VALID then validated, an enum
value, and a rename by expand/contract (new column and sync trigger, batched
backfill, the services switch to the new column, the old one dropped). Last comes
the control, tests/rollout/control: a plain CREATE INDEX on defects, the form
squawk refuses, which must miss the targets (the measurement can fail).

Per migration: its wall time; the workload's p50 and p99 latency in the BEFORE
seconds before it and during it; the workload's errors then; the longest any
workload statement waited for a lock. "During" is every operation that overlaps the
migration and the TAIL after it (when every session re-reads the catalog it
changed), and at least BEFORE seconds from its start: a migration of 30 ms overlaps
some 100 operations, whose p99 is their maximum, against the fifth largest of the
480 before; over the same length of time the two quantiles compare like with like
(measured: with the short window, one 27 ms outlier among 105 operations, no lock
wait, failed a CREATE OR REPLACE FUNCTION against a p99 of 8 ms before). "Before",
for the target, is the p99 of the operations of every before window of the run
(some 7,000, none while a migration ran): this machine's two cores are shared, and
one window's p99 moved between 8 and 36 ms from window to window in one run, which
a single window's quantile takes for the migration's doing. Each migration's own
before window is printed beside it. Targets, each checked: no workload error, p99
during at most 3x p99 before, no lock wait longer than the migration's lock_timeout.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from chip_quality_db import create_pool, load_settings
from chip_quality_dev import dataset
from chip_quality_dev.localdb import with_database
from chip_quality_dev.migrate import Settings, apply
from tests.conftest import ROOT

from .conftest import REPORT
from .releases import compile_release
from .workload import APPLICATION, Ids, LockWaits, Op, Workload

PROJECT = sorted((ROOT / "schema/migrations").glob("*.sql"))
ROLLOUT = sorted((Path(__file__).parent / "migrations").glob("*.sql"))
CONTRACT = next(path for path in ROLLOUT if path.name.endswith("_rename_contract.sql"))
BACKFILL = next(path for path in ROLLOUT if path.name.endswith("_rename_backfill.sql"))
# Applied last: a plain CREATE INDEX, which must miss the targets.
CONTROL = sorted((Path(__file__).parent / "control").glob("*.sql"))
LATER = 3  # the project's migrations applied under the workload
LOCK_TIMEOUT = 5.0  # seconds: `make migrate`'s, and every migration's own SET LOCAL
SETTINGS = Settings(lock_timeout="5s")
WARMUP, BEFORE, TAIL = 3.0, 3.0, 0.5
P99_FACTOR = 3.0


@dataclass(frozen=True)
class Row:
    migration: str
    seconds: float
    attempts: int
    before: list[float]  # latencies, ms
    during: list[float]
    errors: list[str]
    lock_wait: float  # seconds
    lock_what: str

    @staticmethod
    def p(latencies: list[float], q: int) -> float:
        if len(latencies) < 2:
            return latencies[0] if latencies else 0.0
        return statistics.quantiles(latencies, n=100, method="inclusive")[q - 1]

    def problems(self, reference: float) -> list[str]:
        """What misses a target; `reference` is the p99 (ms) of every before window."""
        found = []
        if self.errors:
            found.append(f"{len(self.errors)} workload errors: {self.errors[:3]}")
        if self.p(self.during, 99) > P99_FACTOR * reference:
            found.append(
                f"p99 during {self.p(self.during, 99):.1f} ms > {P99_FACTOR:g}x "
                f"p99 before {reference:.1f} ms"
            )
        if self.lock_wait > LOCK_TIMEOUT:
            found.append(f"a lock wait of {self.lock_wait:.2f} s: {self.lock_what}")
        return found


def table(rows: list[Row], reference: float) -> list[str]:
    header = (
        f"{'migration':<46} {'wall s':>7} {'ops b/d':>9} {'p50 before':>10} {'p99 before':>10} "
        f"{'p50 during':>10} {'p99 during':>10} {'errors':>6} {'lock wait':>9}  targets"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.migration[:46]:<46} {row.seconds:>7.2f} "
            f"{len(row.before):>4}/{len(row.during):<4} "
            f"{row.p(row.before, 50):>8.1f}ms {row.p(row.before, 99):>8.1f}ms "
            f"{row.p(row.during, 50):>8.1f}ms {row.p(row.during, 99):>8.1f}ms "
            f"{len(row.errors):>6} {row.lock_wait * 1000:>7.0f}ms  "
            f"{'met' if not row.problems(reference) else 'MISSED'}"
            f"{' (control: must miss)' if row.migration == CONTROL[0].stem else ''}"
        )
    return lines


CLONE_PREFIX = "rollout_clone_"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _ddl(admin: asyncpg.Connection, template: str, *names: str) -> None:
    await admin.execute(
        await admin.fetchval("SELECT format($1, VARIADIC $2::text[])", template, list(names))
    )


@pytest.fixture
async def rollout_db(server_url: str) -> AsyncIterator[str]:
    """A clone of the plans dataset (built first when missing), its last LATER
    migrations rolled back; dropped afterwards."""
    plans = await dataset.ensure(server_url)
    name = f"{CLONE_PREFIX}{os.getpid()}"
    admin = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        for row in await admin.fetch(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", CLONE_PREFIX
        ):
            if not _running(int(row["datname"].removeprefix(CLONE_PREFIX))):
                # Left by a run that was killed: 650 MB each.
                await _ddl(admin, "DROP DATABASE %I WITH (FORCE)", row["datname"])
        # A file copy of the dataset: about a second for 650 MB.
        template = plans.rsplit("/", 1)[1].split("?", 1)[0]
        await _ddl(admin, "CREATE DATABASE %I TEMPLATE %I STRATEGY FILE_COPY", name, template)
        url = with_database(server_url, name)
        project = str(ROOT / "schema/migrations")
        for _ in range(LATER):
            subprocess.run(
                [
                    "dbmate",
                    "--url",
                    url,
                    "--migrations-dir",
                    project,
                    "--no-dump-schema",
                    "rollback",
                ],
                check=True,
                capture_output=True,
            )
        yield url
    finally:
        await _ddl(admin, "DROP DATABASE IF EXISTS %I WITH (FORCE)", name)
        await admin.close()


UNCOPIED = "SELECT count(*) FROM reports WHERE output_uri IS DISTINCT FROM output_location"


async def fetchval(url: str, query: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


def latencies(ops: list[Op], start: float, end: float, *, overlapping: bool) -> list[float]:
    """ms of the operations that started in [start, end), or that overlap it."""
    if overlapping:
        chosen = [op for op in ops if op.started < end and op.ended > start]
    else:
        chosen = [op for op in ops if start <= op.started < end]
    return [op.seconds * 1000 for op in chosen]


async def test_every_migration_under_a_steady_workload(rollout_db: str, tmp_path: Path) -> None:
    started = time.perf_counter()
    releases = {name: compile_release(name, tmp_path) for name in ("before_rename", "after_rename")}
    pool = await create_pool(
        load_settings(
            DATABASE_URL=rollout_db,
            DB_POOL_SIZE=8,
            DB_MAX_OVERFLOW=0,
            DB_APPLICATION_NAME=APPLICATION,
        )
    )
    workload = Workload(pool, await Ids.sample(rollout_db), releases["before_rename"])
    waits = LockWaits(rollout_db)
    stop = asyncio.Event()
    running = [asyncio.create_task(workload.run(stop)), asyncio.create_task(waits.run(stop))]
    rows: list[Row] = []
    try:
        await asyncio.sleep(WARMUP)
        for migration in [*PROJECT[-LATER:], *ROLLOUT, *CONTROL]:
            if migration == CONTRACT:
                # The deployment: every service now reads and writes output_uri; the
                # old column goes once no running release uses it.
                workload.release = releases["after_rename"]
            await asyncio.sleep(BEFORE)
            t0 = time.perf_counter()
            [applied] = await apply(rollout_db, [migration], SETTINGS, log=lambda _: None)
            t1 = time.perf_counter()
            end = max(t1 + TAIL, t0 + BEFORE)
            await asyncio.sleep(end - time.perf_counter())
            longest = waits.longest(t0, end)
            during = [op for op in workload.ops if op.started < end and op.ended > t0]
            rows.append(
                Row(
                    migration.name.removesuffix(".sql"),
                    applied.seconds,
                    applied.attempts,
                    latencies(workload.ops, t0 - BEFORE, t0, overlapping=False),
                    [op.seconds * 1000 for op in during],
                    [op.error for op in during if op.error],
                    longest.seconds if longest else 0.0,
                    longest.what if longest else "",
                )
            )
            if migration == BACKFILL:
                behind = await fetchval(rollout_db, UNCOPIED)
                assert behind == 0, f"{behind} reports with output_uri not yet output_location"
    finally:
        stop.set()
        await asyncio.gather(*running)
        await pool.close()
    errors = [op.error for op in workload.ops if op.error]
    seconds = time.perf_counter() - started
    quiet = [latency for row in rows for latency in row.before]
    reference = Row.p(quiet, 99)
    REPORT.extend(table(rows, reference))
    REPORT.append(
        f"workload: {len(workload.ops):,} operations by 8 tasks in {seconds:.0f} s, "
        f"{len(errors)} errors; p99 of the {len(quiet):,} operations of all before windows "
        f"{reference:.1f} ms; targets: 0 errors, p99 during <= {P99_FACTOR:g}x that, no lock "
        f"wait over the migration's lock_timeout ({LOCK_TIMEOUT:g} s)"
    )
    *measured, control = rows
    problems = [f"{row.migration}: {p}" for row in measured for p in row.problems(reference)]
    assert not errors, errors[:5]
    assert not problems, "\n".join(problems)
    # The measurement can fail: the blocking form of the index misses the p99 target.
    assert any(p.startswith("p99 during") for p in control.problems(reference)), control
