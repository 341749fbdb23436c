"""Peak memory of one approach reading a list of defects, in a process of its own.

    python benchmarks/memory.py URL APPROACH ROWS     # prints one JSON object

The process connects, warms up, resets the kernel's peak-RSS mark
(/proc/self/clear_refs, Linux 4.0+), reads ROWS rows the approach's way, and
reports how far its peak RSS (VmHWM) rose above the RSS it had just before:
what reading the rows cost, whatever was allocated and freed on the way.
A process per measurement: a peak cannot be taken back within one.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import psycopg
from psycopg.rows import class_row
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from chip_quality_queries import defects, init_connection
from chip_quality_queries.models import Defect

sys.path.insert(0, str(Path(__file__).parent))
from competitors import DEFECTS, DefectORM

LIST_SQL_PSYCOPG = (
    "SELECT id, inspection_id, defect_type, severity, location, confidence, description,"
    " detected_by, review_status, reviewed_by, reviewed_at, created_at, updated_at"
    " FROM defects ORDER BY created_at, id LIMIT %s"
)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


async def measure(url: str, approach: str, rows: int) -> dict[str, object]:
    plain = url.split("?", 1)[0]
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    engine = create_async_engine("postgresql+asyncpg://" + plain.split("://", 1)[1])
    pg = await psycopg.AsyncConnection.connect(plain, autocommit=True)

    async def raw_fetch(limit: int) -> int:
        return len(await conn.fetch(defects.LIST_DEFECTS, None, None, None, None, limit))

    async def generated_fetch(limit: int) -> int:
        return len(await defects.list_defects(conn, page_size=limit))

    async def generated_iterate(limit: int) -> int:
        count = 0
        async with conn.transaction():
            async for _ in defects.iter_list_defects(conn, page_size=limit, prefetch=500):
                count += 1
        return count

    async def psycopg_fetch(limit: int) -> int:
        async with pg.cursor(row_factory=class_row(Defect)) as cur:
            await cur.execute(LIST_SQL_PSYCOPG, (limit,))
            return len(await cur.fetchall())

    async def sqlalchemy_core(limit: int) -> int:
        query = select(DEFECTS).order_by(DEFECTS.c.created_at, DEFECTS.c.id).limit(limit)
        async with engine.connect() as sa_conn:
            return len((await sa_conn.execute(query)).all())

    async def sqlalchemy_orm(limit: int) -> int:
        query = select(DefectORM).order_by(DefectORM.created_at, DefectORM.id).limit(limit)
        async with async_sessionmaker(engine)() as session:
            return len((await session.scalars(query)).all())

    approaches: dict[str, Callable[[int], Awaitable[int]]] = {
        "raw_asyncpg": raw_fetch,
        "generated": generated_fetch,
        "generated_iterator": generated_iterate,
        "psycopg": psycopg_fetch,
        "sqlalchemy_core": sqlalchemy_core,
        "sqlalchemy_orm": sqlalchemy_orm,
    }
    run = approaches[approach]
    try:
        await run(10)  # warm up: imports, statement caches, codecs, the ORM's mappers
        Path("/proc/self/clear_refs").write_text("5")  # the peak mark back to the RSS now
        before = _status_kb("VmRSS")
        counted = await run(rows)
        peak = _status_kb("VmHWM")
    finally:
        await conn.close()
        await pg.close()
        await engine.dispose()
    return {
        "approach": approach,
        "rows": rows,
        "read": counted,
        "rss_before_kb": before,
        "peak_kb": peak,
        "extra_kb": max(peak - before, 0),
    }


if __name__ == "__main__":
    url, approach, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(asyncio.run(measure(url, approach, rows))))
