"""The plans dataset: a fab's year of quality data, generated from a fixed seed, cached.

    python -m chip_quality_dev.dataset ensure   # needs DATABASE_URL (see localdb run)
    python -m chip_quality_dev.dataset rebuild  # drop it and build it again
    python -m chip_quality_dev.dataset key      # the cache key of the current sources

Query plans are only meaningful on tables of realistic size and skew, so
`make plans` explains every named query against this dataset (see plans.py).
It lives in a database of its own on the same server, `plans_<key>`, where the
key hashes the migrations, this module's source and its SEED: the first run
builds it (migrate, COPY, VACUUM ANALYZE), later runs reuse it, and a change to
any of those builds a new one and drops the old.

Skew, as a fab sees it: a few hot lots (HOT_LOTS) collect HOT_SHARE of all
inspections; failed inspections and hot lots carry most defects; critical
defects are rare (CRITICAL_SHARE); queues (pending jobs, reports, open
inspections) are a thin slice of their tables.

Determinism: rows, ids and timestamps come from random.Random(SEED), never from
the server (no now(), no gen_random_uuid()), and rows are written in time
order, the way an append-only production table is laid out. Statistics are
gathered with default_statistics_target at its maximum, which makes ANALYZE
read every row of these tables instead of a random sample: the same data gives
the same statistics on every build, so the same plans.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from .localdb import with_database

SEED = 20261201
MIGRATIONS_DIR = Path("schema/migrations")
DATABASE_PREFIX = "plans_"

PARTS = 20_000  # a fab's part master: boards, dies, and a long tail of components
LOTS = 20_000
HOT_LOTS = 8
HOT_SHARE = 0.15  # of all inspections, spread over the hot lots
INSPECTIONS = 120_000
DEFECTS = 1_100_000
CRITICAL_SHARE = 0.004
INFERENCE_JOBS = 60_000
ARTIFACTS = 90_000
REPORTS = 6_000
IDEMPOTENCY_KEYS = 20_000
AUDIT_ENTRIES = 300_000

# A year of production ending here; every timestamp falls inside it.
START = datetime(2025, 12, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)

# 300 * target rows are sampled; at 10000 that exceeds every table above, so
# ANALYZE reads all rows (see the module docstring).
STATISTICS_TARGET = 10_000

PART_TYPES = ("pcb", "semiconductor", "component", "assembly", "wafer")
INSPECTION_TYPES = ("visual", "electrical", "thermal", "dimensional", "functional", "optical")
DEFECT_TYPES = (
    "scratch", "void", "contamination", "particle", "misalignment", "short", "open",
    "bridging", "crack", "burn", "delamination", "discoloration", "missing_component",
    "solder_defect", "corrosion", "warpage", "other",
)  # fmt: skip
# Scratches and particles dominate optical inspection, as in the demo.
DEFECT_TYPE_WEIGHTS = tuple(40 if t in ("scratch", "particle") else 5 for t in DEFECT_TYPES)
SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_WEIGHTS = (0.60, 0.28, 0.12 - CRITICAL_SHARE, CRITICAL_SHARE)


# A row to COPY, in the order of COLUMNS[table]: the values are of many types.
Row = tuple[Any, ...]


class DatasetError(RuntimeError):
    """The dataset could not be built."""


@dataclass(frozen=True)
class Ids:
    """Row ids the later tables refer to, with their creation times."""

    parts: list[uuid.UUID]
    lots: list[uuid.UUID]
    inspections: list[tuple[uuid.UUID, datetime, bool]]  # id, created_at, failed


def dataset_key(migrations_dir: Path = MIGRATIONS_DIR) -> str:
    """Hash of what the dataset is made from: the migrations, this module, the seed."""
    digest = hashlib.sha256(f"seed={SEED}\n".encode())
    for path in sorted(migrations_dir.glob("*.sql")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]


def database_name(key: str) -> str:
    return f"{DATABASE_PREFIX}{key}"


class _Gen:
    """random.Random(SEED) plus the value shapes the tables need."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def times(self, count: int, start: datetime = START, end: datetime = END) -> list[datetime]:
        """`count` sorted timestamps in [start, end), microsecond precision."""
        span = int((end - start).total_seconds() * 1_000_000)
        offsets = sorted(self.rng.randrange(span) for _ in range(count))
        return [start + timedelta(microseconds=offset) for offset in offsets]

    def hexdigest(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"


def _parts(gen: _Gen) -> Iterator[Row]:
    rng = gen.rng
    for number, created in enumerate(gen.times(PARTS, START - timedelta(days=365), START)):
        part_type = PART_TYPES[number % len(PART_TYPES)]
        specs: Any = {
            "pcb": {
                "layers": rng.choice([2, 4, 6, 8, 10, 12]),
                "finish": rng.choice(["ENIG", "HASL"]),
            },
            "semiconductor": {"node_nm": rng.choice([3, 5, 7, 14, 28]), "package": "FCBGA"},
            "component": {"kind": rng.choice(["MLCC", "resistor", "inductor"])},
            "assembly": {"boards": rng.randint(1, 6)},
            "wafer": {"diameter_mm": rng.choice([200, 300]), "node_nm": rng.choice([5, 7])},
        }[part_type]
        yield (
            gen.uuid(), f"{part_type[:3].upper()}-{number:05d}", f"{part_type} {number}",
            part_type, "A", f"maker-{number % 40}", json.dumps(specs),
            json.dumps({"dimensional": "0.1mm"}), rng.random() > 0.05, created, created,
        )  # fmt: skip


def _lots(gen: _Gen, part_ids: Sequence[uuid.UUID]) -> Iterator[Row]:
    rng = gen.rng
    statuses = ("completed", "released", "active", "quarantined", "rejected")
    for number, created in enumerate(gen.times(LOTS)):
        # Lots of the last month are mostly still active.
        recent = created > END - timedelta(days=30)
        status = (
            "active"
            if recent and rng.random() < 0.8
            else rng.choices(statuses, (30, 55, 5, 6, 4))[0]
        )
        batch = rng.choice([500, 1000, 2500, 5000])
        yield (
            gen.uuid(), f"LOT-{number:06d}", rng.choice(part_ids), created.date(), batch,
            f"LINE-{'ABCDEFGH'[number % 8]}", status, f"supplier-{number % 25}", 0, 0,
            None, "{}", created, created,
        )  # fmt: skip


def _inspections(gen: _Gen, lot_ids: Sequence[uuid.UUID]) -> Iterator[Row]:
    rng = gen.rng
    hot = list(lot_ids[-HOT_LOTS * 50 :: 50])[:HOT_LOTS]  # recent lots, not neighbours
    created_times = gen.times(INSPECTIONS, START + timedelta(days=1))
    for index, created in enumerate(created_times):
        lot_id = rng.choice(hot) if rng.random() < HOT_SHARE else rng.choice(lot_ids)
        roll = rng.random()
        # Almost everything is done; only the last days hold open inspections.
        recent = created > END - timedelta(days=3)
        if recent and roll < 0.5:
            status = "pending" if roll < 0.25 else "in_progress"
        else:
            status = "completed" if roll < 0.985 else ("failed" if roll < 0.995 else "cancelled")
        started = None if status == "pending" else created + timedelta(minutes=rng.randint(1, 90))
        completed = (
            started + timedelta(seconds=rng.randint(20, 600))
            if started is not None and status in ("completed", "failed")
            else None
        )
        passed = (rng.random() < 0.93) if status == "completed" else None
        results = {"measurements": rng.randint(1, 40), "station": f"ST-{index % 32}"}
        yield (
            gen.uuid(), lot_id, INSPECTION_TYPES[index % 6], status, f"ST-{index % 32}",
            f"op-{index % 120}", started, completed, passed,
            json.dumps(results) if status == "completed" else "{}", None, "{}", created,
            completed or started or created,
        )  # fmt: skip


def _defects(gen: _Gen, inspections: Sequence[tuple[uuid.UUID, datetime, bool]]) -> list[Row]:
    rng = gen.rng
    # Failed verdicts carry most defects; a clean pass still has a few cosmetic ones.
    weights = [25.0 if failed else 1.0 for _, _, failed in inspections]
    chosen = rng.choices(range(len(inspections)), weights=weights, k=DEFECTS)
    kinds = rng.choices(DEFECT_TYPES, DEFECT_TYPE_WEIGHTS, k=DEFECTS)
    severities = rng.choices(SEVERITIES, SEVERITY_WEIGHTS, k=DEFECTS)
    rows: list[Row] = []
    for index, kind, severity in zip(chosen, kinds, severities, strict=True):
        inspection_id, created, _ = inspections[index]
        at = created + timedelta(seconds=rng.randint(30, 3600))
        x, y, layer = rng.randint(0, 300), rng.randint(0, 300), rng.randint(1, 12)
        location = f'{{"x": {x}, "y": {y}, "layer": {layer}}}'
        reviewed = rng.random() < 0.2
        rows.append((
            gen.uuid(), inspection_id, kind, severity, location,
            Decimal(rng.randint(5000, 10000)) / 10000, None, "aoi-model-v3",
            rng.choice(("confirmed", "false_positive")) if reviewed else "unreviewed",
            "reviewer-1" if reviewed else None, at + timedelta(hours=2) if reviewed else None,
            at, at,
        ))  # fmt: skip
    rows.sort(key=lambda row: row[11])
    return rows


def _inference_jobs(
    gen: _Gen, inspections: Sequence[tuple[uuid.UUID, datetime, bool]]
) -> list[Row]:
    rng = gen.rng
    rows: list[Row] = []
    for inspection_id, created, _ in rng.sample(list(inspections), INFERENCE_JOBS):
        at = created + timedelta(minutes=rng.randint(1, 30))
        recent = at > END - timedelta(days=2)
        roll = rng.random()
        if recent and roll < 0.3:
            status = "pending" if roll < 0.2 else "running"
        else:
            status = "completed" if roll < 0.97 else ("failed" if roll < 0.99 else "cancelled")
        started = None if status == "pending" else at + timedelta(seconds=rng.randint(1, 300))
        completed = (
            started + timedelta(seconds=2)
            if started is not None and status in ("completed", "failed")
            else None
        )
        rows.append((
            gen.uuid(), inspection_id, f"aoi-model-{rng.randint(1, 4)}", "3.1.0", status,
            rng.randint(1, 10), 0 if status == "pending" else 1,
            None if status in ("pending", "cancelled") else f"worker-{rng.randint(1, 16)}",
            None if status == "cancelled" else started,
            None if status == "cancelled" else completed,
            rng.randint(40, 900) if status == "completed" else None,
            '{"defects": 0}' if status == "completed" else "{}",
            "model crashed" if status == "failed" else None, at, completed or at,
        ))  # fmt: skip
    rows.sort(key=lambda row: row[13])
    return rows


def _artifacts(
    gen: _Gen,
    inspections: Sequence[tuple[uuid.UUID, datetime, bool]],
    jobs: Sequence[Row],
) -> list[Row]:
    rng = gen.rng
    rows: list[Row] = []
    for index in range(ARTIFACTS):
        if index % 3 == 0:  # a model's output, of the job's own inspection
            job = rng.choice(jobs)
            inspection_id, job_id, created = job[1], job[0], job[13]
            kind, content_type = "model_output", "application/json"
        else:
            inspection_id, created, _ = rng.choice(inspections)
            job_id, kind, content_type = None, "image", "image/png"
        at = created + timedelta(minutes=5)
        rows.append((
            gen.uuid(), inspection_id, job_id, kind, f"s3://fab-artifacts/{index:08d}",
            content_type, rng.randint(1_000, 50_000_000), gen.hexdigest(), "{}", at, at,
        ))  # fmt: skip
    rows.sort(key=lambda row: row[9])
    return rows


def _reports(gen: _Gen) -> Iterator[Row]:
    rng = gen.rng
    types = ("lot_summary", "defect_pareto", "yield_trend", "inspection_detail", "compliance_audit")
    for index, created in enumerate(gen.times(REPORTS)):
        recent = created > END - timedelta(hours=12)
        status = "pending" if recent else rng.choices(("completed", "failed"), (97, 3))[0]
        done = None if status == "pending" else created + timedelta(minutes=3)
        yield (
            gen.uuid(), types[index % 5], status, f"report {index}", "{}", "pdf",
            f"s3://fab-reports/{index}.pdf" if status == "completed" else None,
            f"analyst-{index % 30}", "renderer failed" if status == "failed" else None,
            done, created, done or created,
        )  # fmt: skip


def _idempotency_keys(gen: _Gen) -> Iterator[Row]:
    for index, created in enumerate(gen.times(IDEMPOTENCY_KEYS, END - timedelta(days=7))):
        yield (f"key-{index:08d}-{gen.rng.getrandbits(32):08x}", f"svc-{index % 12}", "{}", created)


def _audit_log(gen: _Gen, lot_ids: Sequence[uuid.UUID]) -> Iterator[Row]:
    """Insert entries of the business tables; not a verifiable chain (hashes are random):
    plans need the table's size and distribution, the chain is tested elsewhere."""
    rng = gen.rng
    tables = ("inspections", "defects", "lots", "inference_jobs", "artifacts")
    for seq, at in enumerate(gen.times(AUDIT_ENTRIES), start=1):
        table = rng.choices(tables, (30, 40, 5, 15, 10))[0]
        record = rng.choice(lot_ids) if table == "lots" else gen.uuid()
        yield (
            gen.uuid(), table, record, "insert", None, '{"source": "dataset"}', None,
            f"station-{seq % 40}", None, 1000 + seq, at, at, seq,
            rng.getrandbits(256).to_bytes(32, "big"), rng.getrandbits(256).to_bytes(32, "big"),
        )  # fmt: skip


COLUMNS = {
    "parts": (
        "id", "part_number", "part_name", "part_type", "revision", "manufacturer",
        "specifications", "tolerance_requirements", "is_active", "created_at", "updated_at",
    ),
    "lots": (
        "id", "lot_number", "part_id", "production_date", "batch_size", "production_line",
        "status", "supplier", "quantity_inspected", "quantity_rejected", "notes", "metadata",
        "created_at", "updated_at",
    ),
    "inspections": (
        "id", "lot_id", "inspection_type", "status", "station_id", "operator_id", "started_at",
        "completed_at", "passed", "results", "notes", "metadata", "created_at", "updated_at",
    ),
    "defects": (
        "id", "inspection_id", "defect_type", "severity", "location", "confidence",
        "description", "detected_by", "review_status", "reviewed_by", "reviewed_at",
        "created_at", "updated_at",
    ),
    "inference_jobs": (
        "id", "inspection_id", "model_name", "model_version", "status", "priority", "attempts",
        "worker_id", "started_at", "completed_at", "inference_ms", "results", "error_message",
        "created_at", "updated_at",
    ),
    "artifacts": (
        "id", "inspection_id", "inference_job_id", "artifact_type", "storage_uri",
        "content_type", "size_bytes", "checksum_sha256", "metadata", "created_at", "updated_at",
    ),
    "reports": (
        "id", "report_type", "status", "title", "parameters", "format", "output_location",
        "generated_by", "error_message", "completed_at", "created_at", "updated_at",
    ),
    "idempotency_keys": ("key", "actor", "result", "created_at"),
    "audit_log": (
        "id", "table_name", "record_id", "action", "old_values", "new_values", "changed_fields",
        "actor", "session_id", "txid", "occurred_at", "recorded_at", "seq", "prev_hash",
        "row_hash",
    ),
}  # fmt: skip


async def _copy(conn: asyncpg.Connection, table: str, rows: Sequence[Row]) -> None:
    started = time.perf_counter()
    await conn.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
    print(
        f"dataset: {table}: {len(rows):,} rows in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )


REFRESH_MATERIALIZED_VIEWS = """
DO $$
DECLARE
    view record;
BEGIN
    FOR view IN SELECT schemaname, matviewname FROM pg_matviews
                WHERE schemaname = 'public' ORDER BY matviewname LOOP
        EXECUTE format('REFRESH MATERIALIZED VIEW %I.%I', view.schemaname, view.matviewname);
    END LOOP;
END
$$
"""


async def _month_partitions(conn: asyncpg.Connection) -> None:
    """When audit_log is partitioned by month (audit_log_create_partition exists), the
    months of the dataset get their partitions first, as `audit maintain` makes them
    ahead in production; without them every row would land in the default partition."""
    if not await conn.fetchval("SELECT to_regprocedure('audit_log_create_partition(date)')"):
        return
    month = START.date()
    while month < END.date():
        await conn.execute("SELECT audit_log_create_partition($1)", month)
        month = (month + timedelta(days=32)).replace(day=1)


async def load(url: str) -> None:
    """Generate every table from SEED and COPY it into the migrated database at `url`."""
    gen = _Gen(SEED)
    conn = await asyncpg.connect(url)
    try:
        # No triggers (the audit trail would record every COPYed row, and refuse it
        # without an actor) and no foreign-key checks (the rows are consistent by
        # construction); CHECK constraints still apply. Needs a superuser.
        await conn.execute("SET session_replication_role = replica")
        parts = list(_parts(gen))
        await _copy(conn, "parts", parts)
        lots = list(_lots(gen, [row[0] for row in parts]))
        await _copy(conn, "lots", lots)
        lot_ids: list[uuid.UUID] = [row[0] for row in lots]
        inspections = list(_inspections(gen, lot_ids))
        await _copy(conn, "inspections", inspections)
        keys = [(row[0], row[12], row[8] is False) for row in inspections]
        await _copy(conn, "defects", _defects(gen, keys))
        jobs = _inference_jobs(gen, keys)
        await _copy(conn, "inference_jobs", jobs)
        await _copy(conn, "artifacts", _artifacts(gen, keys, jobs))
        await _copy(conn, "reports", list(_reports(gen)))
        await _copy(conn, "idempotency_keys", list(_idempotency_keys(gen)))
        await _month_partitions(conn)
        await _copy(conn, "audit_log", list(_audit_log(gen, lot_ids)))
        await conn.execute("RESET session_replication_role")
        # Materialized views were made by the migrations over empty tables: filled
        # now, as their scheduled refresh would, so their plans see real sizes.
        await conn.execute(REFRESH_MATERIALIZED_VIEWS)
        started = time.perf_counter()
        await conn.execute(
            "SELECT set_config('default_statistics_target', $1, false)", str(STATISTICS_TARGET)
        )
        # VACUUM too: it sets the visibility map, which index-only scans cost by.
        await conn.execute("VACUUM (ANALYZE)")
        print(
            f"dataset: VACUUM (ANALYZE) in {time.perf_counter() - started:.1f} s", file=sys.stderr
        )
    finally:
        await conn.close()


def _migrate(url: str) -> None:
    result = subprocess.run(
        ["dbmate", "--url", url, "--migrations-dir", str(MIGRATIONS_DIR), "--no-dump-schema", "up"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DatasetError(f"dbmate up failed on the dataset database:\n{result.stderr}")


async def _ddl(conn: asyncpg.Connection, template: str, *names: str) -> None:
    """Run DDL naming databases: identifiers cannot be parameters, so the server's
    format() quotes them (%I) and the statement it returns is run as is."""
    statement = await conn.fetchval("SELECT format($1, VARIADIC $2::text[])", template, list(names))
    await conn.execute(statement)


async def ensure(url: str) -> str:
    """The URL of the dataset database for the current sources, built when missing.

    Built under another name and renamed when complete, so an interrupted build
    never passes for a cached one; an advisory lock serialises concurrent builds.
    """
    key = dataset_key()
    name = database_name(key)
    admin = await asyncpg.connect(with_database(url, "postgres"))
    try:
        await admin.execute("SELECT pg_advisory_lock(hashtext('chip_quality_dev.dataset'))")
        existing = {
            row["datname"]
            for row in await admin.fetch(
                "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", DATABASE_PREFIX
            )
        }
        if name in existing:
            print(f"dataset: {name} is cached (key {key})", file=sys.stderr)
            return with_database(url, name)
        for stale in sorted(existing):
            # Another key's dataset, or a build that was interrupted: rebuilt on demand.
            await _ddl(admin, "DROP DATABASE %I WITH (FORCE)", stale)
        building = f"{name}_building"
        print(f"dataset: building {name} (first run or sources changed)", file=sys.stderr)
        started = time.perf_counter()
        await _ddl(admin, "CREATE DATABASE %I", building)
        _migrate(with_database(url, building))
        await load(with_database(url, building))
        await _ddl(admin, "ALTER DATABASE %I RENAME TO %I", building, name)
        print(f"dataset: built {name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        return with_database(url, name)
    finally:
        await admin.close()


async def drop(url: str) -> None:
    """Drop every plans dataset on the server (the next `ensure` builds it anew)."""
    admin = await asyncpg.connect(with_database(url, "postgres"))
    try:
        await admin.execute("SELECT pg_advisory_lock(hashtext('chip_quality_dev.dataset'))")
        for row in await admin.fetch(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", DATABASE_PREFIX
        ):
            await _ddl(admin, "DROP DATABASE %I WITH (FORCE)", row["datname"])
    finally:
        await admin.close()


async def rebuild(url: str) -> str:
    await drop(url)
    return await ensure(url)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["key"]:
        print(dataset_key())
        return 0
    commands = {"ensure": ensure, "rebuild": rebuild}
    if len(args) != 1 or args[0] not in commands:
        print("usage: python -m chip_quality_dev.dataset {ensure,rebuild,key}", file=sys.stderr)
        return 2
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("dataset: DATABASE_URL is not set (run through `localdb run`)", file=sys.stderr)
        return 2
    try:
        print(asyncio.run(commands[args[0]](url)))
    except (DatasetError, asyncpg.PostgresError, OSError) as exc:
        print(f"dataset: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
