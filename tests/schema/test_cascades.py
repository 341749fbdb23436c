"""Deletion rules: the quality record (parts -> lots -> inspections) is protected by
RESTRICT; what an inspection owns (defects, inference jobs, artifacts) goes with it."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import pytest

from .rows import audit_rows, create


async def exists(conn: asyncpg.Connection, table: str, row_id: UUID) -> bool:
    found: bool = await conn.fetchval(f"SELECT EXISTS (SELECT FROM {table} WHERE id = $1)", row_id)
    return found


async def inspection_with_everything(conn: asyncpg.Connection, lot_id: UUID) -> dict[str, UUID]:
    """An inspection with a defect, an inference job, and artifacts of every
    ownership: the inspection's own, the job's output (both ids), the job's only."""
    inspection = await create(conn, "inspections", lot_id=lot_id)
    job = await create(conn, "inference_jobs", inspection_id=inspection)
    return {
        "inspections": inspection,
        "defects": await create(conn, "defects", inspection_id=inspection),
        "inference_jobs": job,
        "own_artifact": await create(conn, "artifacts", inspection_id=inspection),
        "job_artifact": await create(
            conn, "artifacts", inspection_id=inspection, inference_job_id=job
        ),
        "job_only_artifact": await create(conn, "artifacts", inference_job_id=job),
    }


async def restrict_error(conn: asyncpg.Connection) -> type[asyncpg.PostgresError]:
    """What a foreign key's RESTRICT action raises: restrict_violation (23001) since
    PostgreSQL 18, foreign_key_violation (23503) on 15 to 17; both name the constraint,
    and the runtime maps both to StillReferencedError (tests/runtime/test_errors.py)."""
    if int(await conn.fetchval("SHOW server_version_num")) >= 180000:
        return asyncpg.RestrictViolationError
    return asyncpg.ForeignKeyViolationError


def table_of(key: str) -> str:
    return "artifacts" if key.endswith("artifact") else key


async def test_deleting_a_part_with_lots_is_refused(conn: asyncpg.Connection) -> None:
    part_id = await create(conn, "parts")
    await create(conn, "lots", part_id=part_id)

    with pytest.raises(await restrict_error(conn)) as caught:
        await conn.execute("DELETE FROM parts WHERE id = $1", part_id)

    assert caught.value.constraint_name == "lots_part_id_fkey"
    assert await exists(conn, "parts", part_id)


async def test_deleting_a_part_without_lots_succeeds(conn: asyncpg.Connection) -> None:
    part_id = await create(conn, "parts")

    assert await conn.execute("DELETE FROM parts WHERE id = $1", part_id) == "DELETE 1"


async def test_deleting_a_lot_with_inspections_is_refused(conn: asyncpg.Connection) -> None:
    lot_id = await create(conn, "lots")
    await create(conn, "inspections", lot_id=lot_id)

    with pytest.raises(await restrict_error(conn)) as caught:
        await conn.execute("DELETE FROM lots WHERE id = $1", lot_id)

    assert caught.value.constraint_name == "inspections_lot_id_fkey"
    assert await exists(conn, "lots", lot_id)


async def test_deleting_an_inspection_removes_its_defects_inference_jobs_and_artifacts(
    conn: asyncpg.Connection,
) -> None:
    lot_id = await create(conn, "lots")
    doomed = await inspection_with_everything(conn, lot_id)
    kept = await inspection_with_everything(conn, lot_id)

    await conn.execute("DELETE FROM inspections WHERE id = $1", doomed["inspections"])

    for key, row_id in doomed.items():
        assert not await exists(conn, table_of(key), row_id), key
    for key, row_id in kept.items():
        assert await exists(conn, table_of(key), row_id), key
    assert await exists(conn, "lots", lot_id)
    # The audit log keeps a copy of every row the cascade removed.
    for key, row_id in doomed.items():
        last = (await audit_rows(conn, row_id))[-1]
        assert (last["table_name"], last["action"]) == (table_of(key), "delete"), key
        assert last["old_values"]["id"] == str(row_id)


async def test_deleting_an_inference_job_removes_its_artifacts_but_not_the_inspections_own(
    conn: asyncpg.Connection,
) -> None:
    lot_id = await create(conn, "lots")
    rows = await inspection_with_everything(conn, lot_id)

    await conn.execute("DELETE FROM inference_jobs WHERE id = $1", rows["inference_jobs"])

    assert not await exists(conn, "inference_jobs", rows["inference_jobs"])
    assert not await exists(conn, "artifacts", rows["job_artifact"])
    assert not await exists(conn, "artifacts", rows["job_only_artifact"])
    assert await exists(conn, "artifacts", rows["own_artifact"])
    assert await exists(conn, "inspections", rows["inspections"])
    assert await exists(conn, "defects", rows["defects"])
