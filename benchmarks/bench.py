"""`make bench`: the generated layer against raw asyncpg, SQLAlchemy 2 and psycopg 3.

Side by side on one database in one run: every repetition runs each approach
once, in shuffled order, and the report gives medians, min and max, and each
median's ratio to raw asyncpg's. Rows are defects (enums, numeric, jsonb,
timestamps), 100,000 of them loaded first.

The benchmark gets its own database. Its `defects` table keeps its foreign key
but not its triggers (audit trail, updated_at): they cost every approach the
same server time and would hide what the benchmark is about, the client side.

    BENCH_OUT=results.json make bench       # also write the figures as JSON
    BENCH_QUICK=1 make bench                # fewer repetitions, for a smoke run
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import asyncpg
import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from chip_quality_db import create_pool, load_settings
from chip_quality_db.dev.localdb import with_database
from chip_quality_queries import defects, init_connection
from chip_quality_queries.models import Defect, DefectSeverity, DefectType

sys.path.insert(0, str(Path(__file__).parent))
from competitors import DEFECTS, DefectORM

ROOT = Path(__file__).resolve().parent.parent
QUICK = os.environ.get("BENCH_QUICK") == "1"
ROWS = 100_000
GETS = 5_000
LISTS = 200
INSERTS = 10_000
THROUGHPUT_SECONDS = 5.0
TASKS, POOL_SIZE = 50, 10
REPEATS = {"get_by_pk": 5, "list_1000": 3, "insert_10k": 3, "pool_throughput": 3}
if QUICK:
    GETS, LISTS, INSERTS, THROUGHPUT_SECONDS = 500, 20, 2_000, 1.0
    REPEATS = dict.fromkeys(REPEATS, 2)

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
    url = with_database(server_url, "chip_quality_bench")
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


def pool_throughput(s: Setup) -> dict[str, Callable[[], Awaitable[float]]]:
    """Seconds per operation (get by primary key) of 50 tasks sharing a pool of 10."""
    ids = s.ids

    async def drive(op: Callable[[UUID], Awaitable[object]]) -> float:
        deadline = time.perf_counter() + THROUGHPUT_SECONDS
        done = 0

        async def task(offset: int) -> None:
            nonlocal done
            index = offset
            while time.perf_counter() < deadline:
                await op(ids[index % len(ids)])
                index += TASKS
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(task(i) for i in range(TASKS)))
        return (time.perf_counter() - started) / max(done, 1)

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


async def main() -> int:
    server_url = os.environ["DATABASE_URL"]
    print("preparing: 100,000 defects in database chip_quality_bench ...", file=sys.stderr)
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
    setup = Setup(url, ids, inspection_ids, conn, psycopg_conn, engine)
    rng = random.Random(11)
    results: dict[str, dict[str, dict[str, float]]] = {}
    started = time.perf_counter()
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
            raw_median = statistics.median(samples["raw_asyncpg"])
            results[scenario] = {
                name: {
                    "median_s": statistics.median(values),
                    "min_s": min(values),
                    "max_s": max(values),
                    "ratio_to_raw": statistics.median(values) / raw_median,
                }
                for name, values in samples.items()
            }
            print(f"  {scenario} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    finally:
        await conn.close()
        await psycopg_conn.close()
        await engine.dispose()
    report(results, time.perf_counter() - started)
    out = os.environ.get("BENCH_OUT")
    if out:
        Path(out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def report(results: dict[str, dict[str, dict[str, float]]], seconds: float) -> None:
    print(
        f"\nchip-quality-db benchmark: Python {platform.python_version()}, "
        f"asyncpg {asyncpg.__version__}, {os.cpu_count()} cores, {seconds:.0f} s"
        + (" (BENCH_QUICK)" if QUICK else "")
    )
    units = {
        "get_by_pk": f"{GETS} gets",
        "list_1000": f"{LISTS} lists of 1000",
        "insert_10k": f"{INSERTS} rows",
        "pool_throughput": "per op, 50 tasks / pool 10",
    }
    for scenario, approaches in results.items():
        print(f"\n{scenario} ({units[scenario]}; {REPEATS[scenario]} runs)")
        print(f"  {'approach':<22}{'median':>12}{'min':>12}{'max':>12}{'x raw':>9}")
        for name, figures in sorted(approaches.items(), key=lambda kv: kv[1]["median_s"]):
            scale, unit = (1e6, "us") if scenario == "pool_throughput" else (1e3, "ms")
            print(
                f"  {name:<22}{figures['median_s'] * scale:>10.1f}{unit}"
                f"{figures['min_s'] * scale:>10.1f}{unit}{figures['max_s'] * scale:>10.1f}{unit}"
                f"{figures['ratio_to_raw']:>9.2f}"
            )


if __name__ == "__main__":
    if not os.environ.get("DATABASE_URL"):
        print("bench: DATABASE_URL is not set (run `make bench`)", file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main()))
