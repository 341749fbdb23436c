"""`make bench-audit`: figures of the partitioned audit trail and the analytics views.

Each figure gets databases of its own on the server DATABASE_URL names (made
with dbmate, dropped after):

- insert_ratio: audited inserts into the partitioned audit_log (7 partitions:
  3 months kept, 3 ahead and the default one; and 16: a year kept) against the
  plain table of before migration 20261201000100 (the same migrations rolled
  back), in rotating rounds of 300 single-row transactions and of one
  2,000-row INSERT ... SELECT; throughput ratio partitioned / plain (target at
  least 0.9);
- verify: VERIFY_ROWS chained entries over VERIFY_MONTHS months (forged with
  the trigger's own hash function, as tests/audit/history.py does), verified
  from genesis; then all months but the last archived (time per month, files
  in a temporary directory), verified from the newest checkpoint, one month
  restored (time), and the archive re-verified;
- refresh: the demo run DEMO_RUNS times (10x its data), then each analytics
  view refreshed CONCURRENTLY REFRESH_ROUNDS times (median).

    BENCH_OUT=audit.json make bench-audit
    BENCH_AUDIT_QUICK=1 make bench-audit       # 100,000 rows, 2 demo runs: a smoke run
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from chip_quality_db import analytics, audit, audit_archive, audit_partitions
from chip_quality_dev.localdb import with_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.audit.history import forge_history  # noqa: E402

QUICK = bool(os.environ.get("BENCH_AUDIT_QUICK"))
VERIFY_ROWS = 100_000 if QUICK else 1_000_000
VERIFY_MONTHS = 10
DEMO_RUNS = 2 if QUICK else 10
REFRESH_ROUNDS = 3
INSERT_ROUNDS = 3 if QUICK else 7
SINGLE_ROWS = 300
BULK_ROWS = 2_000
PARTITIONING = "20261201000100"


def dbmate(url: str, *args: str) -> None:
    subprocess.run(
        [
            "dbmate",
            "--url",
            url,
            "--migrations-dir",
            "schema/migrations",
            "--no-dump-schema",
            *args,
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )


async def fresh_database(server: str, name: str) -> str:
    url = with_database(server, name)
    dbmate(url, "drop")
    dbmate(url, "up")
    return url


async def rolled_back_to_plain(url: str) -> None:
    while True:
        conn = await asyncpg.connect(url)
        try:
            newest = await conn.fetchval("SELECT max(version) FROM schema_migrations")
        finally:
            await conn.close()
        if newest < PARTITIONING:
            return
        dbmate(url, "rollback")


async def timed(action: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


# --- Insert throughput ------------------------------------------------------------------


async def _single_rows(conn: asyncpg.Connection, tag: str) -> None:
    for n in range(SINGLE_ROWS):
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.actor', 'bench', true)")
            await conn.execute(
                "INSERT INTO parts (part_number, part_name, part_type) VALUES ($1, 'b', 'pcb')",
                f"S-{tag}-{n}",
            )


async def _bulk(conn: asyncpg.Connection, tag: str) -> None:
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.actor', 'bench', true)")
        await conn.execute(
            "INSERT INTO parts (part_number, part_name, part_type)"
            " SELECT 'B-' || $1 || '-' || g, 'b', 'pcb' FROM generate_series(1, $2) AS g",
            tag,
            BULK_ROWS,
        )


async def insert_ratio(server: str) -> dict[str, object]:
    """Three databases side by side: partitioned with 7 partitions (3 months kept, this
    one, 3 ahead: retention in force), with 16 (a year kept), and plain."""
    this_month = audit_partitions.current_month()
    kept = {"partitioned_7": 2, "partitioned_16": 11}
    conns: dict[str, asyncpg.Connection] = {}
    try:
        for name, past_months in kept.items():
            conn = await asyncpg.connect(await fresh_database(server, f"bench_audit_{name}"))
            conns[name] = conn
            past = tuple(
                audit_partitions.add_months(this_month, -n) for n in range(1, past_months + 1)
            )
            await audit_partitions.maintain(conn, months_ahead=3, extra_months=past)
        plain_url = await fresh_database(server, "bench_audit_plain")
        await rolled_back_to_plain(plain_url)
        conns["plain"] = await asyncpg.connect(plain_url)
        partitions = {
            name: await conns[name].fetchval(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit_log'::regclass"
            )
            for name in kept
        }
        times: dict[str, dict[str, list[float]]] = {
            kind: {name: [] for name in conns} for kind in ("single", "bulk")
        }
        names = list(conns)
        for round_ in range(INSERT_ROUNDS):
            # Rotate which goes first: the machine is shared, its load drifts.
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                conn, tag = conns[name], f"R{round_}X{len(name)}{name[-1].upper()}"
                times["single"][name].append(await timed(lambda c=conn, t=tag: _single_rows(c, t)))
                times["bulk"][name].append(await timed(lambda c=conn, t=tag: _bulk(c, t)))
        for conn in conns.values():
            report = await audit.verify_chain(conn)
            assert report.ok, str(report)
    finally:
        for conn in conns.values():
            await conn.close()
    result: dict[str, object] = {"partitions": partitions, "rounds": INSERT_ROUNDS}
    for kind, rows in (("single", SINGLE_ROWS), ("bulk", BULK_ROWS)):
        rates = {name: rows / statistics.median(values) for name, values in times[kind].items()}
        result[kind] = {
            "rows_per_round": rows,
            **{f"{name}_rows_per_s": round(rate) for name, rate in rates.items()},
            **{f"ratio_{name}": round(rates[name] / rates["plain"], 3) for name in kept},
        }
    return result


# --- Verify, archive, restore -----------------------------------------------------------


async def verify_archive_restore(server: str) -> dict[str, object]:
    url = await fresh_database(server, "bench_audit_verify")
    conn = await asyncpg.connect(url)
    try:
        first = audit_partitions.add_months(audit_partitions.current_month(), -VERIFY_MONTHS - 1)
        months = [audit_partitions.add_months(first, n) for n in range(VERIFY_MONTHS)]
        await audit_partitions.maintain(conn, months_ahead=1, extra_months=tuple(months))
        per_month = VERIFY_ROWS // VERIFY_MONTHS
        load = await timed(lambda: forge_history(conn, months, per_month))
        await conn.execute("VACUUM ANALYZE audit_log")

        started = time.perf_counter()
        genesis = await audit.verify_chain(conn, from_genesis=True)
        genesis_s = time.perf_counter() - started
        assert genesis.ok and genesis.rows == VERIFY_ROWS, str(genesis)

        directory = Path(tempfile.mkdtemp(prefix="bench-audit-"))
        archive_times = []
        for month in months[:-1]:
            before = audit_partitions.add_months(month, 1)
            archive_times.append(
                await timed(
                    lambda b=before: audit_archive.archive(conn, before=b, directory=directory)
                )
            )
        archived_bytes = sum(p.stat().st_size for p in directory.glob("*.csv.gz"))

        started = time.perf_counter()
        from_checkpoint = await audit.verify_chain(conn)
        checkpoint_s = time.perf_counter() - started
        assert from_checkpoint.ok and from_checkpoint.rows == per_month, str(from_checkpoint)

        restore_s = await timed(
            lambda: audit_archive.restore(conn, month=months[0], directory=directory)
        )
        started = time.perf_counter()
        problems = await audit_archive.verify_archive(conn, directory)
        archive_verify_s = time.perf_counter() - started
        assert problems == [], problems
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()
    finally:
        await conn.close()
    return {
        "rows": VERIFY_ROWS,
        "months": VERIFY_MONTHS,
        "rows_per_month": per_month,
        "load_s": round(load, 1),
        "verify_from_genesis_s": round(genesis_s, 2),
        "verify_from_genesis_rows_per_s": round(VERIFY_ROWS / genesis_s),
        "verify_from_checkpoint_s": round(checkpoint_s, 2),
        "verify_from_checkpoint_rows": from_checkpoint.rows,
        "verify_from_checkpoint_rows_per_s": round(from_checkpoint.rows / checkpoint_s),
        "archive_s_per_month_median": round(statistics.median(archive_times), 2),
        "archive_s_per_month_max": round(max(archive_times), 2),
        "archive_bytes_per_month": archived_bytes // len(archive_times),
        "restore_s_per_month": round(restore_s, 2),
        "verify_archive_s": round(archive_verify_s, 2),
        "verify_archive_rows_per_s": round((len(archive_times) * per_month) / archive_verify_s),
    }


# --- Analytics refresh ------------------------------------------------------------------

_BASE_COUNTS = """
SELECT (SELECT count(*) FROM lots) AS lots,
       (SELECT count(*) FROM inspections) AS inspections,
       (SELECT count(*) FROM defects) AS defects,
       (SELECT count(*) FROM inference_jobs) AS inference_jobs
"""
_VIEW_COUNTS = """
SELECT (SELECT count(*) FROM analytics_lot_yield) AS analytics_lot_yield,
       (SELECT count(*) FROM analytics_defect_pareto) AS analytics_defect_pareto,
       (SELECT count(*) FROM analytics_inference_latency) AS analytics_inference_latency
"""


async def refresh_times(server: str) -> dict[str, object]:
    url = await fresh_database(server, "bench_analytics")
    env = {**os.environ, "DATABASE_URL": url}
    for _ in range(DEMO_RUNS):
        subprocess.run(
            [sys.executable, "-m", "chip_quality_dev.demo"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    conn = await asyncpg.connect(url)
    try:
        counts = dict(await conn.fetchrow(_BASE_COUNTS) or {})
        durations: dict[str, list[float]] = {view: [] for view in analytics.VIEWS}
        for _ in range(REFRESH_ROUNDS):
            for refreshed in await analytics.refresh(conn):
                durations[refreshed.view_name].append(refreshed.duration_ms)
        rows = dict(await conn.fetchrow(_VIEW_COUNTS) or {})
    finally:
        await conn.close()
    return {
        "demo_runs": DEMO_RUNS,
        "base_rows": counts,
        "views": {
            view: {"rows": rows[view], "refresh_ms_median": round(statistics.median(times), 1)}
            for view, times in durations.items()
        },
    }


def report(results: dict[str, object]) -> None:
    print(json.dumps(results, indent=2))


async def main() -> int:
    server = os.environ.get("DATABASE_URL")
    if not server:
        print(
            "bench-audit: DATABASE_URL is not set (run through `make bench-audit`)", file=sys.stderr
        )
        return 2
    results: dict[str, object] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": QUICK,
        "load_average_at_start": list(os.getloadavg()),
    }
    conn = await asyncpg.connect(server)
    try:
        results["postgresql"] = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    for name, figure in (
        ("insert_ratio", insert_ratio),
        ("verify_archive_restore", verify_archive_restore),
        ("refresh", refresh_times),
    ):
        started = time.perf_counter()
        results[name] = await figure(server)
        print(
            f"bench-audit: {name} measured in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    results["load_average_at_end"] = list(os.getloadavg())
    for name in (
        "bench_audit_partitioned_7",
        "bench_audit_partitioned_16",
        "bench_audit_plain",
        "bench_audit_verify",
        "bench_analytics",
    ):
        dbmate(with_database(server, name), "drop")
    report(results)
    out = os.environ.get("BENCH_OUT")
    if out:
        Path(out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
