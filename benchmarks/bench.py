"""`make bench`: the generated layer against raw asyncpg, SQLAlchemy 2 and psycopg 3.

Side by side on one database in one run: every repetition runs each approach
once, in shuffled order, and the report gives medians, min and max, and each
median's ratio to raw asyncpg's. Rows are defects (enums, numeric, jsonb,
timestamps), 100,000 of them loaded first.

The benchmark gets its own database. Its `defects` table keeps its foreign key
but not its triggers (audit trail, updated_at): they cost every approach the
same server time and would hide what the benchmark is about, the client side.

Then the runtime's own costs, each against its baseline in the same run:

- routing_overhead: get by pk through `create_database()` without replicas
  against the plain `create_pool()`, call by call, alternating;
- copy_10k: the generated `:copyfrom` (rows wrapped in the CopyRows tracker)
  against raw `copy_records_to_table` of the same rows, and raw COPY of the rows
  wrapped in CopyRows alone, call by call, into a temporary table so that the
  client's side is most of the time; copy_tracker_cpu: the tracker's client CPU
  alone;
- on the local cluster (chip_quality_dev.cluster: a primary, a streaming
  standby, PgBouncer; started for the run when it is not running, stopped after
  when this run started it), in a database of the same table made there:
  replica_reads, concurrent gets by pk through `create_database()` with the
  standby in DB_REPLICA_URLS against without; pgbouncer_get_by_pk, gets through
  PgBouncer (DB_PGBOUNCER=transaction) against direct ones. A cluster that does
  not start leaves these two "not measured", with the reason; the rest stands.

    BENCH_OUT=results.json make bench       # also write the figures as JSON
    BENCH_QUICK=1 make bench                # fewer repetitions, for a smoke run
    BENCH_ONLY=cache make bench             # only the result cache's figures (bench_cache.py)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import asyncpg
import psycopg
import pydantic
import sqlalchemy
from psycopg.rows import class_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from chip_quality_db import Pool, create_database, create_pool, load_settings
from chip_quality_dev.localdb import with_database
from chip_quality_queries import defects, init_connection
from chip_quality_queries._runtime import CopyRows
from chip_quality_queries.models import Defect, DefectSeverity, DefectType

sys.path.insert(0, str(Path(__file__).parent))
from bench_cache import cache_figures, report_cache
from competitors import DEFECTS, DefectORM

if TYPE_CHECKING:  # the cluster module is imported when the cluster part runs
    from chip_quality_dev.cluster import ClusterUrls

ROOT = Path(__file__).resolve().parent.parent
QUICK = os.environ.get("BENCH_QUICK") == "1"
ROWS = 100_000
# The scenarios of the main table run short blocks, every approach once per repetition
# in an order drawn anew each time: many paired samples, so that each ratio gets a 95%
# bootstrap interval (a target is met when the whole interval is inside it).
GETS = 500
LISTS = 20
INSERTS = 10_000
THROUGHPUT_SECONDS = 1.0
TASKS, POOL_SIZE = 50, 10
REPEATS = {"get_by_pk": 40, "list_1000": 30, "insert_10k": 5, "pool_throughput": 10}
BOOTSTRAP = 2_000
# The runtime's own costs. Interleaved scenarios run ROUNDS rounds of CALLS steps; each
# step calls every approach once with the same key, in an order drawn for every step.
ROUTING_ROUNDS, ROUTING_CALLS = 11, 1_500
PAIRED_POOL_ROUNDS, PAIRED_POOL_SECONDS = 24, 0.4
PGBOUNCER_ROUNDS, PGBOUNCER_CALLS = 7, 1_000
COPY_ROUNDS, COPY_STEPS = 14, 4
TRACKER_REPEATS = 15
REPLICA_REPEATS, REPLICA_SECONDS, REPLICA_WARMUP_SECONDS = 5, 3.0, 1.0
if QUICK:
    GETS, LISTS, INSERTS, THROUGHPUT_SECONDS = 200, 5, 2_000, 0.5
    REPEATS = dict.fromkeys(REPEATS, 3)
    ROUTING_ROUNDS, ROUTING_CALLS = 2, 300
    PAIRED_POOL_ROUNDS, PAIRED_POOL_SECONDS = 2, 0.2
    PGBOUNCER_ROUNDS, PGBOUNCER_CALLS = 2, 200
    COPY_ROUNDS, COPY_STEPS, TRACKER_REPEATS = 2, 3, 3
    REPLICA_REPEATS, REPLICA_SECONDS, REPLICA_WARMUP_SECONDS = 2, 0.5, 0.2
BENCH_DATABASE = "chip_quality_bench"
# The benchmark's database on the cluster's primary, dropped before and after its part.
# FORCE: PgBouncer keeps idle server connections to it for minutes.
DROP_CLUSTER_BENCH = "DROP DATABASE IF EXISTS chip_quality_bench WITH (FORCE)"
COMMITS = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"

LIST_SQL_PSYCOPG = (
    "SELECT id, inspection_id, defect_type, severity, location, confidence, description,"
    " detected_by, review_status, reviewed_by, reviewed_at, created_at, updated_at"
    " FROM defects ORDER BY created_at, id LIMIT %s"
)
GET_SQL_PSYCOPG = LIST_SQL_PSYCOPG.replace("ORDER BY created_at, id LIMIT %s", "WHERE id = %s")
INSERT_COLUMNS = (
    "inspection_id",
    "defect_type",
    "severity",
    "location",
    "confidence",
    "description",
    "detected_by",
)
PG_INSERT_SQL = (
    "INSERT INTO defects (inspection_id, defect_type, severity, location, confidence,"
    " description, detected_by) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
PG_COPY_SQL = (
    "COPY defects (inspection_id, defect_type, severity, location, confidence, description,"
    " detected_by) FROM STDIN"
)


@dataclass
class Setup:
    url: str
    ids: list[UUID]
    inspection_ids: list[UUID]
    conn: asyncpg.Connection
    psycopg_conn: psycopg.AsyncConnection[Any]
    engine: AsyncEngine


def without_query(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(query=""))


async def prepare(server_url: str) -> str:
    """A fresh database migrated to the latest schema, with 100,000 defects."""
    url = with_database(server_url, BENCH_DATABASE)
    for command in (["drop"], ["up"]):
        subprocess.run(
            [
                "dbmate",
                "--url",
                url,
                "--migrations-dir",
                str(ROOT / "schema/migrations"),
                "--no-dump-schema",
                *command,
            ],
            check=True,
            capture_output=True,
        )
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    try:
        await conn.execute("ALTER TABLE defects DISABLE TRIGGER USER")
        part = await conn.fetchval(
            "INSERT INTO parts (part_number, part_name, part_type) "
            "VALUES ('PCB-BENCH-1', 'Bench', 'pcb') RETURNING id"
        )
        lot = await conn.fetchval(
            "INSERT INTO lots (lot_number, part_id, production_date, batch_size, production_line)"
            " VALUES ('LOT-BENCH-1', $1, '2026-11-01', 1000, 'LINE-A') RETURNING id",
            part,
        )
        await conn.execute(
            "INSERT INTO inspections (lot_id, inspection_type) "
            "SELECT $1, 'visual' FROM generate_series(1, 100)",
            lot,
        )
        inspection_ids = [r["id"] for r in await conn.fetch("SELECT id FROM inspections")]
        await defects.ingest_defects(conn, make_rows(ROWS, inspection_ids, "aoi-model-v3"))
        await conn.execute("VACUUM ANALYZE defects")
    finally:
        await conn.close()
    return url


def make_rows(
    count: int, inspection_ids: list[UUID], detected_by: str
) -> list[defects.IngestDefectsParams]:
    rng = random.Random(7)
    types, severities = list(DefectType), list(DefectSeverity)
    return [
        defects.IngestDefectsParams(
            inspection_id=rng.choice(inspection_ids),
            defect_type=rng.choice(types),
            severity=rng.choice(severities),
            location={
                "x": round(rng.uniform(0, 300), 2),
                "y": round(rng.uniform(0, 300), 2),
                "die": f"R{rng.randint(1, 9)}C{rng.randint(1, 9)}",
            },
            confidence=Decimal(rng.randint(5000, 9999)) / 10000,
            description="bench",
            detected_by=detected_by,
        )
        for _ in range(count)
    ]


# -- scenarios: each approach returns the seconds its timed part took ------------------------


def timed(fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[float]]:
    async def run() -> float:
        gc.collect()
        started = time.perf_counter()
        await fn()
        return time.perf_counter() - started

    return run


def get_by_pk(s: Setup) -> dict[str, Callable[[], Awaitable[float]]]:
    ids = s.ids[:GETS]
    sql = defects.GET_DEFECT
    sessions = async_sessionmaker(s.engine, expire_on_commit=False)

    async def raw() -> None:
        for row_id in ids:
            await s.conn.fetchrow(sql, row_id)

    async def generated() -> None:
        for row_id in ids:
            await defects.get_defect(s.conn, defect_id=row_id)

    async def orm() -> None:
        async with sessions() as session:
            for row_id in ids:
                await session.get(DefectORM, row_id)

    async def core() -> None:
        async with s.engine.connect() as conn:
            for row_id in ids:
                (await conn.execute(select(DEFECTS).where(DEFECTS.c.id == row_id))).first()

    async def pg() -> None:
        async with s.psycopg_conn.cursor(row_factory=class_row(Defect)) as cur:
            for row_id in ids:
                await cur.execute(GET_SQL_PSYCOPG, (row_id,))
                await cur.fetchone()

    return {
        "raw_asyncpg": timed(raw),
        "generated": timed(generated),
        "sqlalchemy_orm": timed(orm),
        "sqlalchemy_core": timed(core),
        "psycopg": timed(pg),
    }


def list_1000(s: Setup) -> dict[str, Callable[[], Awaitable[float]]]:
    sessions = async_sessionmaker(s.engine, expire_on_commit=False)
    orm_query = select(DefectORM).order_by(DefectORM.created_at, DefectORM.id).limit(1000)
    core_query = select(DEFECTS).order_by(DEFECTS.c.created_at, DEFECTS.c.id).limit(1000)

    async def raw() -> None:
        for _ in range(LISTS):
            await s.conn.fetch(defects.LIST_DEFECTS, None, None, None, None, 1000)

    async def generated() -> None:
        for _ in range(LISTS):
            await defects.list_defects(s.conn, page_size=1000)

    async def orm() -> None:
        for _ in range(LISTS):
            async with sessions() as session:
                (await session.scalars(orm_query)).all()

    async def core() -> None:
        async with s.engine.connect() as conn:
            for _ in range(LISTS):
                (await conn.execute(core_query)).all()

    async def pg() -> None:
        async with s.psycopg_conn.cursor(row_factory=class_row(Defect)) as cur:
            for _ in range(LISTS):
                await cur.execute(LIST_SQL_PSYCOPG, (1000,))
                await cur.fetchall()

    return {
        "raw_asyncpg": timed(raw),
        "generated": timed(generated),
        "sqlalchemy_orm": timed(orm),
        "sqlalchemy_core": timed(core),
        "psycopg": timed(pg),
    }


def insert_10k(s: Setup) -> dict[str, Callable[[], Awaitable[float]]]:
    rows = make_rows(INSERTS, s.inspection_ids, "bench-insert")
    batch = [defects.InsertDefectsParams(*row) for row in rows]
    sessions = async_sessionmaker(s.engine, expire_on_commit=False)
    pg_rows = [
        (
            r.inspection_id,
            r.defect_type.value,
            r.severity.value,
            Jsonb(r.location),
            r.confidence,
            r.description,
            r.detected_by,
        )
        for r in rows
    ]
    dicts = [dict(zip(INSERT_COLUMNS, r, strict=True)) for r in rows]

    async def cleanup() -> None:
        await s.conn.execute("DELETE FROM defects WHERE detected_by = 'bench-insert'")

    def measured(fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[float]]:
        inner = timed(fn)

        async def run() -> float:
            try:
                return await inner()
            finally:
                await cleanup()

        return run

    async def raw_executemany() -> None:
        await s.conn.executemany(defects.INSERT_DEFECTS, rows)

    async def raw_copy() -> None:
        await s.conn.copy_records_to_table("defects", records=rows, columns=INSERT_COLUMNS)

    async def generated_copy() -> None:
        await defects.ingest_defects(s.conn, rows)

    async def generated_batch() -> None:
        await defects.insert_defects(s.conn, batch)

    async def orm() -> None:
        async with sessions() as session:
            session.add_all(DefectORM(**d) for d in dicts)
            await session.commit()

    async def core() -> None:
        async with s.engine.begin() as conn:
            await conn.execute(DEFECTS.insert(), dicts)

    async def pg_executemany() -> None:
        async with s.psycopg_conn.cursor() as cur:
            await cur.executemany(PG_INSERT_SQL, pg_rows)
        await s.psycopg_conn.commit()

    async def pg_copy() -> None:
        async with s.psycopg_conn.cursor() as cur, cur.copy(PG_COPY_SQL) as copy:
            for row in pg_rows:
                await copy.write_row(row)
        await s.psycopg_conn.commit()

    return {
        "raw_asyncpg": measured(raw_executemany),
        "raw_asyncpg_copy": measured(raw_copy),
        "generated": measured(generated_copy),
        "generated_batchexec": measured(generated_batch),
        "sqlalchemy_orm": measured(orm),
        "sqlalchemy_core": measured(core),
        "psycopg": measured(pg_executemany),
        "psycopg_copy": measured(pg_copy),
    }


@dataclass
class Driven:
    """What `run_tasks` measured: operations done, wall and client CPU seconds."""

    done: int
    seconds: float
    cpu_seconds: float

    @property
    def per_op(self) -> float:
        return self.seconds / max(self.done, 1)


async def run_tasks(
    op: Callable[[UUID], Awaitable[object]], ids: list[UUID], seconds: float
) -> Driven:
    """TASKS tasks calling `op` on the ids in turn until `seconds` have passed."""
    deadline = time.perf_counter() + seconds
    done = 0

    async def task(offset: int) -> None:
        nonlocal done
        index = offset
        while time.perf_counter() < deadline:
            await op(ids[index % len(ids)])
            index += TASKS
            done += 1

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(task(i) for i in range(TASKS)))
    return Driven(done, time.perf_counter() - started, time.process_time() - cpu_started)


def pool_throughput(s: Setup) -> dict[str, Callable[[], Awaitable[float]]]:
    """Seconds per operation (get by primary key) of 50 tasks sharing a pool of 10."""

    async def drive(op: Callable[[UUID], Awaitable[object]]) -> float:
        return (await run_tasks(op, s.ids, THROUGHPUT_SECONDS)).per_op

    async def raw() -> float:
        pool = await asyncpg.create_pool(s.url, min_size=POOL_SIZE, max_size=POOL_SIZE)
        try:
            return await drive(lambda row_id: pool.fetchrow(defects.GET_DEFECT, row_id))
        finally:
            await pool.close()

    async def generated() -> float:
        # No pre-ping, like the raw asyncpg pool and SQLAlchemy's default engine beside it:
        # the ping is one more round trip per checkout (README, Runtime settings).
        settings = load_settings(
            DATABASE_URL=s.url, DB_POOL_SIZE=POOL_SIZE, DB_MAX_OVERFLOW=0, DB_POOL_PRE_PING=False
        )
        pool = await create_pool(settings)
        try:
            return await drive(lambda row_id: defects.get_defect(pool, defect_id=row_id))
        finally:
            await pool.close()

    async def orm() -> float:
        sessions = async_sessionmaker(s.engine, expire_on_commit=False)

        async def op(row_id: UUID) -> object:
            async with sessions() as session:
                return await session.get(DefectORM, row_id)

        return await drive(op)

    async def core() -> float:
        async def op(row_id: UUID) -> object:
            async with s.engine.connect() as conn:
                return (await conn.execute(select(DEFECTS).where(DEFECTS.c.id == row_id))).first()

        return await drive(op)

    async def pg() -> float:
        pool = AsyncConnectionPool(
            without_query(s.url), min_size=POOL_SIZE, max_size=POOL_SIZE, open=False
        )
        await pool.open()
        try:

            async def op(row_id: UUID) -> object:
                async with pool.connection() as conn:
                    cur = conn.cursor(row_factory=class_row(Defect))
                    await cur.execute(GET_SQL_PSYCOPG, (row_id,))
                    return await cur.fetchone()

            return await drive(op)
        finally:
            await pool.close()

    return {
        "raw_asyncpg": raw,
        "generated": generated,
        "sqlalchemy_orm": orm,
        "sqlalchemy_core": core,
        "psycopg": pg,
    }


SCENARIOS = {
    "get_by_pk": get_by_pk,
    "list_1000": list_1000,
    "insert_10k": insert_10k,
    "pool_throughput": pool_throughput,
}

# -- the runtime's own costs: each approach against the scenario's first, its baseline ------

Figures = dict[str, Any]


def ratio_interval(
    values: list[float], baseline: list[float], seed: int = 7
) -> tuple[float, float]:
    """The 95% bootstrap interval of median(values) / median(baseline), resampling the
    repetitions as pairs (sample i of both was measured side by side)."""
    rng = random.Random(seed)
    n = len(values)
    ratios = []
    for _ in range(BOOTSTRAP):
        picks = [rng.randrange(n) for _ in range(n)]
        ratios.append(
            statistics.median(values[i] for i in picks)
            / statistics.median(baseline[i] for i in picks)
        )
    ratios.sort()
    return ratios[int(0.025 * BOOTSTRAP)], ratios[int(0.975 * BOOTSTRAP) - 1]


def against_raw(samples: dict[str, list[float]]) -> dict[str, Figures]:
    """Each approach's figures against raw asyncpg's, from paired samples (sample i of
    every approach measured side by side): the median, the extremes, the ratio of the
    medians and its bootstrap interval."""
    raw = samples["raw_asyncpg"]
    return {
        name: {
            "median_s": statistics.median(values),
            "min_s": min(values),
            "max_s": max(values),
            "ratio_to_raw": statistics.median(values) / statistics.median(raw),
            "ratio_ci95": list(ratio_interval(values, raw)),
        }
        for name, values in samples.items()
    }


def summarise(samples: dict[str, list[float]], baseline: str) -> dict[str, Figures]:
    base = statistics.median(samples[baseline])
    return {
        name: {
            "median_s": statistics.median(values),
            "min_s": min(values),
            "max_s": max(values),
            "ratio_to_baseline": statistics.median(values) / base,
        }
        for name, values in samples.items()
    }


Opener = Callable[[], Awaitable[Pool]]


async def interleaved(
    openers: dict[str, Opener], ids: list[UUID], rounds: int, calls: int
) -> dict[str, Figures]:
    """Per-call times of get_defect on handles from `openers`, measured call by call and
    side by side: `rounds` rounds of `calls` steps, each step calling every handle once
    with the same key, in an order drawn anew for every step (no handle always first,
    none always after the same other). Every round opens its handles afresh, in a drawn
    order, so no handle keeps the same server processes for the whole run: two
    identical pools differ by a percent or two from one set of connections to the next.

    Per handle: the median call of each round (median, min, max over rounds), and its
    ratio to the first handle's median call of the same round (median, min, max over
    rounds); `mean_ratio` is the ratio of total wall times, `cpu_ratio` that of the
    client's CPU time (`cpu_per_call_s`, its mean)."""
    names = list(openers)
    baseline = names[0]
    rng = random.Random(5)
    medians: dict[str, list[float]] = {name: [] for name in names}
    totals = dict.fromkeys(names, 0.0)
    cpu_totals = dict.fromkeys(names, 0.0)
    clock, cpu_clock = time.perf_counter, time.process_time
    for round_number in range(rounds):
        async with contextlib.AsyncExitStack() as stack:
            handles: dict[str, Pool] = {}
            for name in rng.sample(names, len(names)):
                handles[name] = await openers[name]()
                stack.push_async_callback(handles[name].close)
            for handle in handles.values():  # warm up: statement caches, buffers
                for row_id in ids[:100]:
                    await defects.get_defect(handle, defect_id=row_id)
            gc.collect()
            times: dict[str, list[float]] = {name: [] for name in names}
            for step in range(calls):
                row_id = ids[(round_number * calls + step) % len(ids)]
                for name in rng.sample(names, len(names)):
                    handle = handles[name]
                    cpu_began = cpu_clock()
                    began = clock()
                    await defects.get_defect(handle, defect_id=row_id)
                    times[name].append(clock() - began)
                    cpu_totals[name] += cpu_clock() - cpu_began
        for name in names:
            medians[name].append(statistics.median(times[name]))
            totals[name] += sum(times[name])
    figures: dict[str, Figures] = {}
    for name in names:
        ratios = [m / b for m, b in zip(medians[name], medians[baseline], strict=True)]
        figures[name] = {
            "ratio_ci95": list(ratio_interval(medians[name], medians[baseline])),
            "median_s": statistics.median(medians[name]),
            "min_s": min(medians[name]),
            "max_s": max(medians[name]),
            "ratio_to_baseline": statistics.median(ratios),
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
            "mean_ratio": totals[name] / totals[baseline],
            "cpu_per_call_s": cpu_totals[name] / (rounds * calls),
            "cpu_ratio": cpu_totals[name] / cpu_totals[baseline],
        }
    return figures


async def get_by_pk_paired(s: Setup) -> dict[str, Figures]:
    """Raw asyncpg against the generated get_defect, call by call on one connection,
    beside raw asyncpg followed by `Defect.model_validate(dict(record))` (the floor of
    any layer that returns Pydantic rows): each step makes every call with the same
    key, in a drawn order; per round the
    median call of each, per approach the median over rounds and the bootstrap
    interval of the ratio. The block scenario above cannot resolve a few percent
    on this machine; this can."""
    rng = random.Random(13)
    sql = defects.GET_DEFECT

    async def raw(row_id: UUID) -> object:
        return await s.conn.fetchrow(sql, row_id)

    async def generated(row_id: UUID) -> object:
        return await defects.get_defect(s.conn, defect_id=row_id)

    async def raw_then_model(row_id: UUID) -> object:
        # The plain way to a Pydantic row: what any layer that returns a Defect model
        # pays at least. It tells the cost of building the model from the layer's.
        record = await s.conn.fetchrow(sql, row_id)
        return None if record is None else Defect.model_validate(dict(record))

    calls = {"raw_asyncpg": raw, "generated": generated, "raw_then_model_validate": raw_then_model}
    medians: dict[str, list[float]] = {name: [] for name in calls}
    clock = time.perf_counter
    for round_number in range(ROUTING_ROUNDS):
        for row_id in s.ids[:100]:  # warm up
            for call in calls.values():
                await call(row_id)
        gc.collect()
        times: dict[str, list[float]] = {name: [] for name in calls}
        for step in range(ROUTING_CALLS):
            row_id = s.ids[(round_number * ROUTING_CALLS + step) % len(s.ids)]
            for name in rng.sample(list(calls), len(calls)):
                began = clock()
                await calls[name](row_id)
                times[name].append(clock() - began)
        for name in calls:
            medians[name].append(statistics.median(times[name]))
    return against_raw(medians)


async def pool_throughput_paired(s: Setup) -> dict[str, Figures]:
    """The raw default pool against the generated layer's pool, both open throughout,
    in alternating short runs (a drawn order per round): per approach the median time
    per op over rounds, and the bootstrap interval of the ratio over the paired rounds.
    The pool scenario above opens a pool per run and runs five approaches in between,
    so drift on this machine widens its interval past a 1.4x target."""
    rng = random.Random(17)
    raw_pool = await asyncpg.create_pool(s.url, min_size=POOL_SIZE, max_size=POOL_SIZE)
    settings = load_settings(
        DATABASE_URL=s.url, DB_POOL_SIZE=POOL_SIZE, DB_MAX_OVERFLOW=0, DB_POOL_PRE_PING=False
    )
    pool = await create_pool(settings)
    ops: dict[str, Callable[[UUID], Awaitable[object]]] = {
        "raw_asyncpg": lambda row_id: raw_pool.fetchrow(defects.GET_DEFECT, row_id),
        "generated": lambda row_id: defects.get_defect(pool, defect_id=row_id),
    }
    per_op: dict[str, list[float]] = {name: [] for name in ops}
    try:
        for op in ops.values():  # warm up: prepared statements on every connection
            await run_tasks(op, s.ids, PAIRED_POOL_SECONDS)
        for _ in range(PAIRED_POOL_ROUNDS):
            for name in rng.sample(list(ops), len(ops)):
                per_op[name].append((await run_tasks(ops[name], s.ids, PAIRED_POOL_SECONDS)).per_op)
    finally:
        await raw_pool.close()
        await pool.close()
    return against_raw(per_op)


async def routing_overhead(s: Setup) -> dict[str, Figures]:
    """get_defect on the handle of `create_database()` without replicas against the pool
    of `create_pool()`: one caller, the same server and settings. A second
    `create_pool()` beside them is the control: what two identical pools differ by
    with no routing at all. No pre-ping: a call is one round trip, so a fixed cost
    shows at its largest."""
    settings = load_settings(
        DATABASE_URL=s.url,
        DB_REPLICA_URLS="",
        DB_PGBOUNCER="none",
        DB_POOL_SIZE=1,
        DB_MAX_OVERFLOW=0,
        DB_POOL_PRE_PING=False,
    )
    return await interleaved(
        {
            "create_pool": lambda: create_pool(settings),
            "create_database": lambda: create_database(settings),
            "create_pool_control": lambda: create_pool(settings),
        },
        s.ids,
        ROUTING_ROUNDS,
        ROUTING_CALLS,
    )


async def telemetry_overhead(s: Setup) -> dict[str, Figures]:
    """get_defect on a pool whose connections observe generated queries (DB_TELEMETRY,
    the default; no tracer provider set, no slow-query threshold: the check only)
    against one with plain connections (DB_TELEMETRY=false), with a second plain pool
    as the control; interleaved call by call as for routing_overhead."""
    base = {
        "DATABASE_URL": s.url,
        "DB_REPLICA_URLS": "",
        "DB_PGBOUNCER": "none",
        "DB_POOL_SIZE": 1,
        "DB_MAX_OVERFLOW": 0,
        "DB_POOL_PRE_PING": False,
    }
    plain = load_settings(**base, DB_TELEMETRY=False)
    observed = load_settings(**base, DB_TELEMETRY=True)
    return await interleaved(
        {
            "telemetry_off": lambda: create_pool(plain),
            "telemetry_no_provider": lambda: create_pool(observed),
            "telemetry_off_control": lambda: create_pool(plain),
        },
        s.ids,
        ROUTING_ROUNDS,
        ROUTING_CALLS,
    )


async def copy_10k(s: Setup) -> dict[str, Figures]:
    """INSERTS rows by binary COPY, call by call and side by side: raw
    `copy_records_to_table` of the NamedTuples, the same with the rows wrapped in
    CopyRows (the tracker alone), and the generated `:copyfrom` (the tracker, the error
    handler's try, the count parsed).

    Into a temporary table `defects` (LIKE the real one: no index, no foreign key, no
    WAL) on a connection of its own, which the unqualified name in every COPY finds
    first: the server's part of a COPY shrinks to a fraction, so what the client does,
    where the tracker works, is most of the time measured. (insert_10k copies into the
    real table.) COPY_ROUNDS rounds of COPY_STEPS steps; each step copies the same rows
    with every approach in an order drawn anew, then empties the table (untimed). Per
    approach: the median call of each round, its ratio to raw COPY's median call of the
    round (median, min, max over rounds), and client CPU as in `interleaved`."""
    rows = make_rows(INSERTS, s.inspection_ids, "bench-copy")
    conn = await asyncpg.connect(s.url)
    await init_connection(conn)

    async def raw() -> None:
        await conn.copy_records_to_table("defects", records=rows, columns=INSERT_COLUMNS)

    async def raw_tracked() -> None:
        await conn.copy_records_to_table("defects", records=CopyRows(rows), columns=INSERT_COLUMNS)

    async def generated() -> None:
        await defects.ingest_defects(conn, rows)

    approaches = {
        "raw_asyncpg_copy": raw,
        "raw_copy_with_tracker": raw_tracked,
        "generated": generated,
    }
    names = list(approaches)
    rng = random.Random(3)
    medians: dict[str, list[float]] = {name: [] for name in names}
    totals = dict.fromkeys(names, 0.0)
    cpu_totals = dict.fromkeys(names, 0.0)
    try:
        await conn.execute(
            "CREATE TEMPORARY TABLE defects (LIKE public.defects INCLUDING DEFAULTS)"
        )
        for fn in approaches.values():  # warm up: the COPY's column types, caches
            await fn()
        for _ in range(COPY_ROUNDS):
            await conn.execute("TRUNCATE defects")
            gc.collect()
            times: dict[str, list[float]] = {name: [] for name in names}
            for _ in range(COPY_STEPS):
                for name in rng.sample(names, len(names)):
                    cpu_began = time.process_time()
                    began = time.perf_counter()
                    await approaches[name]()
                    times[name].append(time.perf_counter() - began)
                    cpu_totals[name] += time.process_time() - cpu_began
                await conn.execute("TRUNCATE defects")
            for name in names:
                medians[name].append(statistics.median(times[name]))
                totals[name] += sum(times[name])
    finally:
        await conn.close()
    figures: dict[str, Figures] = {}
    for name in names:
        ratios = [m / b for m, b in zip(medians[name], medians[names[0]], strict=True)]
        figures[name] = {
            "ratio_ci95": list(ratio_interval(medians[name], medians[names[0]])),
            "median_s": statistics.median(medians[name]),
            "min_s": min(medians[name]),
            "max_s": max(medians[name]),
            "ratio_to_baseline": statistics.median(ratios),
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
            "mean_ratio": totals[name] / totals[names[0]],
            "cpu_per_call_s": cpu_totals[name] / (COPY_ROUNDS * COPY_STEPS),
            "cpu_ratio": cpu_totals[name] / cpu_totals[names[0]],
        }
    return figures


# Rows read per approach for the memory figures, and the iterator's sizes.
MEMORY_ROWS = 100_000
ITERATOR_ROWS = (10_000, 100_000, 1_000_000)
MEMORY_APPROACHES = (
    "raw_asyncpg",
    "generated",
    "generated_iterator",
    "psycopg",
    "sqlalchemy_core",
    "sqlalchemy_orm",
)
if QUICK:
    MEMORY_ROWS, ITERATOR_ROWS = 10_000, (1_000, 10_000)


async def memory(s: Setup) -> dict[str, Any]:
    """Peak RSS above the RSS before, reading a list of defects, one process per figure
    (benchmarks/memory.py): every approach fetching MEMORY_ROWS rows whole, and the
    generated iterator streaming 10,000 to 1,000,000 (the defects are topped up to the
    largest size server-side, after every other scenario of this database has run)."""
    wanted = max(ITERATOR_ROWS)
    have = await s.conn.fetchval("SELECT count(*) FROM defects")
    if have < wanted:
        copies = -(-wanted // have) - 1
        await s.conn.execute(
            "INSERT INTO defects (inspection_id, defect_type, severity, location, confidence,"
            " description, detected_by) SELECT inspection_id, defect_type, severity, location,"
            " confidence, description, detected_by FROM defects, generate_series(1, $1)",
            copies,
        )
        await s.conn.execute("VACUUM ANALYZE defects")

    def run(approach: str, rows: int) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks/memory.py"), s.url, approach, str(rows)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures: dict[str, Any] = json.loads(done.stdout)
        return figures

    fetched = {approach: run(approach, MEMORY_ROWS) for approach in MEMORY_APPROACHES}
    streamed = {str(rows): run("generated_iterator", rows) for rows in ITERATOR_ROWS}
    fetched_growth = {str(rows): run("generated", rows) for rows in ITERATOR_ROWS[:-1]}
    peaks = [figures["peak_kb"] for figures in streamed.values()]
    return {
        "fetched_whole": fetched,
        "iterator_by_rows": streamed,
        "generated_fetch_by_rows": fetched_growth,
        # The iterating process's peak RSS, largest over smallest across the sizes.
        "iterator_peak_spread": max(peaks) / min(peaks),
    }


def copy_tracker_cpu(s: Setup) -> dict[str, Figures]:
    """The tracker's own CPU: 10,000 rows of 7 values read as asyncpg's binary COPY reads
    them (`row[i]` for each column, row after row), plain and through CopyRows. The
    difference is what the tracker adds; the plain loop is Python's, slower than
    asyncpg's Cython loop, so the ratio here overstates the tracker's share."""
    rows = make_rows(INSERTS, s.inspection_ids, "bench-copy")
    columns = range(len(INSERT_COLUMNS))

    def read(records: Iterable[Sequence[object]]) -> None:
        for row in records:
            for i in columns:
                _ = row[i]

    approaches: dict[str, Callable[[], None]] = {
        "plain_rows": lambda: read(rows),
        "copy_rows_tracker": lambda: read(CopyRows(rows)),
    }
    samples: dict[str, list[float]] = {name: [] for name in approaches}
    for repeat in range(TRACKER_REPEATS + 1):
        names = list(approaches) if repeat % 2 else list(reversed(approaches))
        for name in names:
            gc.collect()
            began = time.process_time()
            approaches[name]()
            if repeat:  # the first round warms up
                samples[name].append(time.process_time() - began)
    figures = summarise(samples, "plain_rows")
    extra = figures["copy_rows_tracker"]["median_s"] - figures["plain_rows"]["median_s"]
    figures["copy_rows_tracker"]["extra_per_value_s"] = extra / (len(rows) * len(columns))
    return figures


async def replica_reads(urls: ClusterUrls, ids: list[UUID], rng: random.Random) -> dict[str, Any]:
    """TASKS tasks getting defects by pk through `create_database()`, pools of POOL_SIZE:
    with the standby in DB_REPLICA_URLS (the handle sends every one of these reads to
    it) against without (all on the primary). Each run opens its handle and closes it.
    The standby's commit counter checks where the reads went."""
    common: dict[str, object] = {
        "DATABASE_URL": urls.primary,
        "DB_PGBOUNCER": "none",
        "DB_POOL_SIZE": POOL_SIZE,
        "DB_MAX_OVERFLOW": 0,
        "DB_POOL_PRE_PING": False,
    }
    variants = {
        "primary_only": load_settings(**common, DB_REPLICA_URLS=""),
        "one_replica": load_settings(**common, DB_REPLICA_URLS=urls.replica),
    }

    async def measure(name: str, seconds: float) -> Driven:
        db = await create_database(variants[name])
        try:
            for replica in db.replicas:
                if not replica.up:
                    raise RuntimeError(f"the standby is not in rotation: {replica.error}")
            return await run_tasks(
                lambda row_id: defects.get_defect(db, defect_id=row_id), ids, seconds
            )
        finally:
            await db.close()

    async def standby_commits() -> int:
        conn = await asyncpg.connect(urls.replica)
        try:
            return int(await conn.fetchval(COMMITS))
        finally:
            await conn.close()

    for name in variants:  # warm up: both servers' caches
        await measure(name, REPLICA_WARMUP_SECONDS)
    await asyncio.sleep(0.5)  # closed sessions' statistics reach the counters
    commits_before = await standby_commits()
    runs: dict[str, list[Driven]] = {name: [] for name in variants}
    for _ in range(REPLICA_REPEATS):
        order = list(variants)
        rng.shuffle(order)
        for name in order:
            gc.collect()
            runs[name].append(await measure(name, REPLICA_SECONDS))
    await asyncio.sleep(0.5)
    standby_delta = await standby_commits() - commits_before
    figures: dict[str, Any] = summarise(
        {name: [run.per_op for run in done] for name, done in runs.items()}, "primary_only"
    )
    for name, done in runs.items():
        figures[name]["ops_per_s"] = statistics.median(run.done / run.seconds for run in done)
        figures[name]["client_cpu_per_op_s"] = statistics.median(
            run.cpu_seconds / max(run.done, 1) for run in done
        )
        figures[name]["throughput_ratio"] = 1 / figures[name]["ratio_to_baseline"]
    replica_reads_done = sum(run.done for run in runs["one_replica"])
    # Besides the reads: each run's connection setup and the replica monitor's checks.
    figures["one_replica"]["standby_commits_per_read"] = standby_delta / replica_reads_done
    return figures


async def pgbouncer_get_by_pk(urls: ClusterUrls, ids: list[UUID]) -> dict[str, Figures]:
    """get_defect on `create_database()` handles of the cluster's primary, one caller, no
    pre-ping: direct (statement cache on), direct with DB_PGBOUNCER=transaction (the
    cache off: every call parses its statement again), and through PgBouncer with
    DB_PGBOUNCER=transaction. The middle one splits PgBouncer's cost into the hop and
    the statement cache that transaction pooling rules out."""
    common: dict[str, object] = {
        "DB_REPLICA_URLS": "",
        "DB_POOL_SIZE": 1,
        "DB_MAX_OVERFLOW": 0,
        "DB_POOL_PRE_PING": False,
    }
    configs = {
        "direct": {"DATABASE_URL": urls.primary, "DB_PGBOUNCER": "none"},
        "direct_no_statement_cache": {"DATABASE_URL": urls.primary, "DB_PGBOUNCER": "transaction"},
        "pgbouncer": {"DATABASE_URL": urls.pgbouncer, "DB_PGBOUNCER": "transaction"},
    }
    openers: dict[str, Opener] = {
        name: functools.partial(create_database, load_settings(**common, **config))
        for name, config in configs.items()
    }
    return await interleaved(openers, ids, PGBOUNCER_ROUNDS, PGBOUNCER_CALLS)


SCALE_OUT = ("replica_reads", "pgbouncer_get_by_pk")


async def scale_out(rng: random.Random) -> dict[str, Any]:
    """The local cluster's figures, or each marked not measured with the reason."""

    def not_measured(reason: str) -> dict[str, Any]:
        print(f"bench: {reason}: replica and PgBouncer figures not measured", file=sys.stderr)
        return {name: {"not_measured": reason} for name in SCALE_OUT}

    try:
        from chip_quality_dev import cluster
    except ImportError as exc:
        return not_measured(f"chip_quality_dev.cluster is not available ({exc})")
    the_cluster = cluster.default_cluster(ROOT)
    results: dict[str, Any] = {}
    print("starting (or reusing) the local cluster ...", file=sys.stderr)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(cluster.session(the_cluster))
        except Exception as exc:  # LocalDbError (what to install, what failed), OSError
            return not_measured(f"the local cluster did not start: {exc}")
        admin = the_cluster.primary.url("postgres")
        try:
            results["pgbouncer_version"] = cluster.pgbouncer_version()
            await execute_on(admin, DROP_CLUSTER_BENCH)
            print(
                f"preparing: 100,000 defects in database {BENCH_DATABASE} on the cluster's "
                "primary ...",
                file=sys.stderr,
            )
            bench_url = await prepare(the_cluster.primary.url(BENCH_DATABASE))
            took = time.perf_counter()
            await cluster.wait_for_replica(admin, the_cluster.standby.url("postgres"), 120)
            print(
                f"  the standby replayed it {time.perf_counter() - took:.1f} s after",
                file=sys.stderr,
            )
            urls = the_cluster.urls(BENCH_DATABASE)
            conn = await asyncpg.connect(bench_url)
            try:
                ids = [
                    r["id"]
                    for r in await conn.fetch(
                        "SELECT id FROM defects ORDER BY random() LIMIT 20000"
                    )
                ]
            finally:
                await conn.close()
            results["replica_reads"] = await replica_reads(urls, ids, rng)
            print("  replica_reads done", file=sys.stderr)
            results["pgbouncer_get_by_pk"] = await pgbouncer_get_by_pk(urls, ids)
            print("  pgbouncer_get_by_pk done", file=sys.stderr)
        except Exception as exc:
            traceback.print_exc()
            reason = f"the cluster part failed: {type(exc).__name__}: {exc}"
            print(f"bench: {reason}", file=sys.stderr)
            for name in SCALE_OUT:
                results.setdefault(name, {"not_measured": reason})
        finally:
            with contextlib.suppress(Exception):
                await execute_on(admin, DROP_CLUSTER_BENCH)
    return results


async def execute_on(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main() -> int:
    server_url = os.environ["DATABASE_URL"]
    load_at_start = os.getloadavg()
    measured_code = code_version()  # before the code under test is used: what it measures
    print(f"preparing: 100,000 defects in database {BENCH_DATABASE} ...", file=sys.stderr)
    url = await prepare(server_url)
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    engine = create_async_engine(
        "postgresql+asyncpg://" + without_query(url).split("://", 1)[1],
        pool_size=POOL_SIZE,
        max_overflow=0,
    )
    psycopg_conn = await psycopg.AsyncConnection.connect(without_query(url), autocommit=True)
    ids = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM defects ORDER BY random() LIMIT $1", max(GETS, 20_000)
        )
    ]
    inspection_ids = [r["id"] for r in await conn.fetch("SELECT id FROM inspections")]
    server_version = str(await conn.fetchval("SHOW server_version"))
    setup = Setup(url, ids, inspection_ids, conn, psycopg_conn, engine)
    rng = random.Random(11)
    results: dict[str, Any] = {}
    started = time.perf_counter()

    def done(scenario: str) -> None:
        print(f"  {scenario} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    if os.environ.get("BENCH_ONLY") == "cache":
        try:
            report_cache(await cache_figures(url, QUICK))
        finally:
            await conn.close()
            await psycopg_conn.close()
            await engine.dispose()
        return 0
    try:
        for scenario, build in SCENARIOS.items():
            approaches = build(setup)
            if scenario != "pool_throughput":  # warm up: caches, prepared statements
                for run in approaches.values():
                    await run()
            samples: dict[str, list[float]] = {name: [] for name in approaches}
            for _ in range(REPEATS[scenario]):
                order = list(approaches)
                rng.shuffle(order)
                for name in order:
                    samples[name].append(await approaches[name]())
            results[scenario] = against_raw(samples)
            done(scenario)
        results["get_by_pk_paired"] = await get_by_pk_paired(setup)
        done("get_by_pk_paired")
        results["pool_throughput_paired"] = await pool_throughput_paired(setup)
        done("pool_throughput_paired")
        results["routing_overhead"] = await routing_overhead(setup)
        done("routing_overhead")
        results["telemetry_overhead"] = await telemetry_overhead(setup)
        done("telemetry_overhead")
        results["copy_10k"] = await copy_10k(setup)
        results["copy_tracker_cpu"] = copy_tracker_cpu(setup)
        done("copy_10k, copy_tracker_cpu")
        results["memory"] = await memory(setup)
        done("memory")
        results.update(await cache_figures(url, QUICK))
        done("cache")
    finally:
        await conn.close()
        await psycopg_conn.close()
        await engine.dispose()
    scaled = await scale_out(rng)
    pgbouncer = scaled.pop("pgbouncer_version", None)
    results.update(scaled)
    done("cluster")
    seconds = time.perf_counter() - started
    results["run"] = {
        "date": datetime.date.today().isoformat(),
        "seconds": round(seconds, 1),
        "quick": QUICK,
        "cores": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in load_at_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "asyncpg": asyncpg.__version__,
        "pydantic": pydantic.VERSION,
        "sqlalchemy": sqlalchemy.__version__,
        "psycopg": psycopg.__version__,
        "postgresql": server_version,
        "pgbouncer": pgbouncer,
        **measured_code,
    }
    report(results)
    out = os.environ.get("BENCH_OUT")
    if out:
        Path(out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def code_version() -> dict[str, object]:
    """The commit measured, and whether the code it imports (src/, generated/) had
    changes not committed yet."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "src", "generated")
    return {
        "commit": git("rev-parse", "--short", "HEAD") or None,
        "uncommitted_in_src_or_generated": len(changed.splitlines()),
    }


def units() -> dict[str, tuple[str, float, str, str]]:
    """Per scenario: what one figure is, its scale and unit, and the baseline's name."""
    per_call = "per call, one caller; {} rounds of {} alternating calls"
    return {
        "get_by_pk": (f"{GETS} gets; {REPEATS['get_by_pk']} runs", 1e3, "ms", "raw"),
        "list_1000": (f"{LISTS} lists of 1000; {REPEATS['list_1000']} runs", 1e3, "ms", "raw"),
        "insert_10k": (f"{INSERTS} rows; {REPEATS['insert_10k']} runs", 1e3, "ms", "raw"),
        "pool_throughput": (
            f"per op, {TASKS} tasks / pool {POOL_SIZE}; {REPEATS['pool_throughput']} runs",
            1e6,
            "us",
            "raw",
        ),
        "pool_throughput_paired": (
            f"per op, {TASKS} tasks / pool {POOL_SIZE}; {PAIRED_POOL_ROUNDS} rounds of "
            f"{PAIRED_POOL_SECONDS} s alternating runs, pools open throughout",
            1e6,
            "us",
            "raw",
        ),
        "get_by_pk_paired": (
            per_call.format(ROUTING_ROUNDS, ROUTING_CALLS)
            + ", raw, generated and raw + model_validate paired",
            1e6,
            "us",
            "raw",
        ),
        "routing_overhead": (
            per_call.format(ROUTING_ROUNDS, ROUTING_CALLS),
            1e6,
            "us",
            "create_pool",
        ),
        "telemetry_overhead": (
            per_call.format(ROUTING_ROUNDS, ROUTING_CALLS),
            1e6,
            "us",
            "telemetry_off",
        ),
        "copy_10k": (
            f"per COPY of {INSERTS} rows into a temporary table; {COPY_ROUNDS} rounds of "
            f"{COPY_STEPS} alternating calls",
            1e3,
            "ms",
            "raw COPY",
        ),
        "copy_tracker_cpu": (
            f"client CPU reading {INSERTS} rows x {len(INSERT_COLUMNS)} values as COPY does; "
            f"{TRACKER_REPEATS} runs",
            1e3,
            "ms",
            "plain",
        ),
        "replica_reads": (
            f"per op, {TASKS} tasks / pool {POOL_SIZE} per server; "
            f"{REPLICA_REPEATS} runs of {REPLICA_SECONDS:g} s",
            1e6,
            "us",
            "primary",
        ),
        "pgbouncer_get_by_pk": (
            per_call.format(PGBOUNCER_ROUNDS, PGBOUNCER_CALLS),
            1e6,
            "us",
            "direct",
        ),
    }


def _interval(figures: Figures) -> str:
    if "ratio_ci95" not in figures:
        return ""
    low, high = figures["ratio_ci95"]
    return f" [{low:.3f}, {high:.3f}]"


def report(results: dict[str, Any]) -> None:
    run = results["run"]
    print(
        f"\nchip-quality-db benchmark: Python {run['python']}, asyncpg {run['asyncpg']}, "
        f"PostgreSQL {run['postgresql']}, {run['cores']} cores, {run['seconds']:.0f} s, "
        f"load average {run['load_average_start'][0]} -> {run['load_average_end'][0]}"
        + (" (BENCH_QUICK: no result)" if QUICK else "")
    )
    for scenario, (what, scale, unit, baseline) in units().items():
        approaches = results.get(scenario)
        if approaches is None:
            continue
        print(f"\n{scenario} ({what})")
        if "not_measured" in approaches:
            print(f"  not measured: {approaches['not_measured']}")
            continue
        header = f"x {baseline} [95% interval]"
        print(f"  {'approach':<28}{'median':>12}{'min':>12}{'max':>12}  {header}")
        for name, figures in sorted(approaches.items(), key=lambda kv: kv[1]["median_s"]):
            ratio = figures.get("ratio_to_raw", figures.get("ratio_to_baseline", 0.0))
            extras = []
            if "ratio_min" in figures:
                extras.append(f"rounds {figures['ratio_min']:.3f}-{figures['ratio_max']:.3f}")
                extras.append(f"of totals {figures['mean_ratio']:.3f}")
                extras.append(
                    f"client CPU {figures['cpu_per_call_s'] * 1e6:.1f}us/call "
                    f"({figures['cpu_ratio']:.3f}x)"
                )
            if "cpu_median_s" in figures:
                extras.append(
                    f"client CPU {figures['cpu_median_s'] * 1e3:.1f}ms "
                    f"({figures['cpu_ratio_to_baseline']:.3f}x)"
                )
            if "extra_per_value_s" in figures:
                extras.append(f"+{figures['extra_per_value_s'] * 1e9:.0f} ns per value")
            if "ops_per_s" in figures:
                extras.append(
                    f"{figures['ops_per_s']:,.0f} ops/s, client CPU "
                    f"{figures['client_cpu_per_op_s'] * 1e6:.0f}us/op"
                )
            if "standby_commits_per_read" in figures:
                extras.append(f"standby commits per read {figures['standby_commits_per_read']:.3f}")
            print(
                f"  {name:<28}{figures['median_s'] * scale:>10.1f}{unit}"
                f"{figures['min_s'] * scale:>10.1f}{unit}{figures['max_s'] * scale:>10.1f}{unit}"
                f"  {ratio:.3f}{_interval(figures)}" + ("   " + "; ".join(extras) if extras else "")
            )
    mem = results.get("memory")
    if mem:
        print(f"\nmemory (peak RSS above the RSS before, {MEMORY_ROWS:,} rows, a process each)")
        for name, figures in mem["fetched_whole"].items():
            print(f"  {name:<28}{figures['extra_kb'] / 1024:>10.1f} MB")
        print(
            "  generated iterator by rows:   "
            + ", ".join(
                f"{int(rows):,}: {f['extra_kb'] / 1024:.1f} MB"
                for rows, f in mem["iterator_by_rows"].items()
            )
            + " above the RSS before; the process's peak RSS largest / smallest "
            + f"{mem['iterator_peak_spread']:.3f} (target at most 1.10)"
        )
        print(
            "  generated fetch by rows:      "
            + ", ".join(
                f"{int(rows):,}: {f['extra_kb'] / 1024:.1f} MB"
                for rows, f in mem["generated_fetch_by_rows"].items()
            )
        )
    report_cache(results)
    print("\ntargets (met: the whole 95% interval inside; missed: all of it outside)")
    for scenario, approach, limit, what in TARGETS:
        figures = results.get(scenario, {}).get(approach)
        if not figures or "ratio_ci95" not in figures:
            print(f"  {what}: not measured")
            continue
        low, high = figures["ratio_ci95"]
        verdict = "met" if high <= limit else "missed" if low > limit else "not resolved"
        ratio = figures.get("ratio_to_raw", figures.get("ratio_to_baseline"))
        print(f"  {what}: {ratio:.3f}x [{low:.3f}, {high:.3f}], target {limit:g}x: {verdict}")


# (scenario, approach, at most this ratio to the scenario's baseline, what it says).
# Pool throughput 1.4x a raw pool is a time per operation of at most 1/1.4.
TARGETS = [
    ("get_by_pk_paired", "generated", 1.07, "get by pk, generated vs raw asyncpg (paired)"),
    ("list_1000", "generated", 1.4, "list of 1,000, generated vs raw asyncpg"),
    (
        "pool_throughput_paired",
        "generated",
        1 / 1.4,
        "pool, time per op, generated vs raw (1.4x ops; paired runs)",
    ),
    ("copy_10k", "generated", 1.1, ":copyfrom vs raw binary COPY"),
    ("routing_overhead", "create_database", 1.03, "cluster handle without replicas vs pool"),
    ("telemetry_overhead", "telemetry_no_provider", 1.02, "telemetry, no provider, vs none"),
]

if __name__ == "__main__":
    if not os.environ.get("DATABASE_URL"):
        print("bench: DATABASE_URL is not set (run `make bench`)", file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main()))
