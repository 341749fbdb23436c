"""Plain-SQL row builders for the schema tests.

`create(conn, table, **values)` inserts one valid row into a business table and
returns its id. Columns not given get valid defaults; a missing parent (the
part of a lot, the lot of an inspection, ...) is created the same way, so
`await create(conn, "defects")` builds the whole chain part -> lot ->
inspection -> defect.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import asyncpg

# Every business table: the ones with the created_at / updated_at / audit triggers.
BUSINESS_TABLES = (
    "parts",
    "lots",
    "inspections",
    "defects",
    "inference_jobs",
    "artifacts",
    "reports",
)

# A timestamp no test transaction can have as now().
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)

_serial = itertools.count(1)


def _next() -> int:
    return next(_serial)


async def insert(conn: asyncpg.Connection, table: str, **values: Any) -> UUID:
    """INSERT exactly these column values (dicts and lists of dicts go in as JSON)."""
    params = [json.dumps(v) if isinstance(v, dict) else v for v in values.values()]
    placeholders = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    sql = f"INSERT INTO {table} ({', '.join(values)}) VALUES ({placeholders}) RETURNING id"
    row_id: UUID = await conn.fetchval(sql, *params)
    return row_id


async def _part(conn: asyncpg.Connection, values: dict[str, Any]) -> dict[str, Any]:
    return {"part_number": f"PCB-T{_next()}", "part_name": "Test board", "part_type": "pcb"}


async def _lot(conn: asyncpg.Connection, values: dict[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "lot_number": f"LOT-T{_next()}",
        "production_date": date(2025, 11, 3),
        "batch_size": 100,
        "production_line": "LINE-A",
    }
    if "part_id" not in values:
        defaults["part_id"] = await create(conn, "parts")
    return defaults


async def _inspection(conn: asyncpg.Connection, values: dict[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {"inspection_type": "visual"}
    if "lot_id" not in values:
        defaults["lot_id"] = await create(conn, "lots")
    return defaults


async def _defect(conn: asyncpg.Connection, values: dict[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "defect_type": "scratch",
        "severity": "low",
        "detected_by": "operator:o-17",
    }
    if "inspection_id" not in values:
        defaults["inspection_id"] = await create(conn, "inspections")
    return defaults


async def _inference_job(conn: asyncpg.Connection, values: dict[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {"model_name": "defect-detector", "model_version": "2.3.1"}
    if "inspection_id" not in values:
        defaults["inspection_id"] = await create(conn, "inspections")
    return defaults


async def _artifact(conn: asyncpg.Connection, values: dict[str, Any]) -> dict[str, Any]:
    n = _next()
    defaults: dict[str, Any] = {
        "artifact_type": "image",
        "storage_uri": f"s3://inspections/test/img-{n}.png",
        "content_type": "image/png",
        "size_bytes": 1024,
        "checksum_sha256": f"{n:064x}",
    }
    if "inspection_id" not in values and "inference_job_id" not in values:
        defaults["inspection_id"] = await create(conn, "inspections")
    return defaults


async def _report(conn: asyncpg.Connection, values: dict[str, Any]) -> dict[str, Any]:
    return {"report_type": "lot_summary", "title": "Lot summary", "generated_by": "alice"}


_DEFAULTS: dict[str, Callable[[asyncpg.Connection, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "parts": _part,
    "lots": _lot,
    "inspections": _inspection,
    "defects": _defect,
    "inference_jobs": _inference_job,
    "artifacts": _artifact,
    "reports": _report,
}


async def create(conn: asyncpg.Connection, table: str, **values: Any) -> UUID:
    """Insert a valid row into a business table; `values` override the defaults."""
    defaults = await _DEFAULTS[table](conn, values)
    return await insert(conn, table, **{**defaults, **values})


async def audit_rows(
    conn: asyncpg.Connection, record_id: UUID | None = None, table: str | None = None
) -> list[dict[str, Any]]:
    """audit_log rows (of one record and/or table) in the order they were written,
    with old_values / new_values decoded."""
    rows = await conn.fetch(
        """
        SELECT * FROM audit_log
        WHERE ($1::uuid IS NULL OR record_id = $1) AND ($2::text IS NULL OR table_name = $2)
        ORDER BY recorded_at, id
        """,
        record_id,
        table,
    )
    decoded = []
    for row in rows:
        item = dict(row)
        for key in ("old_values", "new_values"):
            if item[key] is not None:
                item[key] = json.loads(item[key])
        decoded.append(item)
    return decoded
