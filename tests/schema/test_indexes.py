"""The indexes the migrations promise are there and are chosen by the planner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

CONTAINMENT_QUERY = """SELECT * FROM parts WHERE specifications @> '{"layers": 8}'"""
# The queue claim the index inference_jobs_priority_created_at_pending_idx is
# built for: most urgent first, then oldest.
CLAIM_QUERY = """
SELECT id FROM inference_jobs
WHERE status = 'pending'
ORDER BY priority DESC, created_at
LIMIT 10
FOR UPDATE SKIP LOCKED
"""


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


async def explain(conn: asyncpg.Connection, query: str) -> list[dict[str, Any]]:
    raw = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {query}")
    return list(plan_nodes(json.loads(raw)[0]["Plan"]))


async def test_containment_search_on_part_specifications_uses_the_gin_index(
    conn: asyncpg.Connection,
) -> None:
    await conn.execute(
        """
        INSERT INTO parts (part_number, part_name, part_type, specifications)
        SELECT 'PCB-GIN-' || i, 'Board ' || i, 'pcb',
               jsonb_build_object('layers', i % 50, 'thickness', (i % 7) || 'mm', 'serial', i)
        FROM generate_series(1, 12000) AS i
        """
    )
    # A bulk insert lands in the GIN index's pending list (fastupdate), which the
    # planner prices as a full scan of that list, so right after the load it
    # prefers a sequential scan. Autovacuum flushes the list in production;
    # here it is flushed explicitly (a manual ANALYZE does not flush it).
    await conn.execute("SELECT gin_clean_pending_list('parts_specifications_idx')")
    await conn.execute("ANALYZE parts")

    nodes = await explain(conn, CONTAINMENT_QUERY)

    scans = [node for node in nodes if node.get("Index Name") == "parts_specifications_idx"]
    assert [node["Node Type"] for node in scans] == ["Bitmap Index Scan"], nodes
    assert not any(node["Node Type"] == "Seq Scan" for node in nodes)
    found = await conn.fetch(CONTAINMENT_QUERY)
    assert len(found) == 240
    assert {json.loads(row["specifications"])["layers"] for row in found} == {8}


async def test_claiming_pending_inference_jobs_reads_the_partial_queue_index_in_order(
    conn: asyncpg.Connection,
) -> None:
    await conn.execute(
        """
        WITH part AS (
            INSERT INTO parts (part_number, part_name, part_type)
            VALUES ('PCB-QUEUE-1', 'Board', 'pcb') RETURNING id
        ), lot AS (
            INSERT INTO lots (lot_number, part_id, production_date, batch_size, production_line)
            SELECT 'LOT-QUEUE-1', id, '2025-11-03', 100, 'LINE-A' FROM part RETURNING id
        ), inspection AS (
            INSERT INTO inspections (lot_id, inspection_type)
            SELECT id, 'optical' FROM lot RETURNING id
        )
        INSERT INTO inference_jobs (inspection_id, model_name, model_version, status, priority,
                                    worker_id, started_at, completed_at)
        SELECT inspection.id, 'defect-detector', '2.3.1',
               CASE WHEN i % 200 = 0 THEN 'pending' ELSE 'completed' END::inference_job_status,
               i % 10 + 1,
               CASE WHEN i % 200 = 0 THEN NULL ELSE 'worker-1' END,
               CASE WHEN i % 200 = 0 THEN NULL ELSE now() END,
               CASE WHEN i % 200 = 0 THEN NULL ELSE now() END
        FROM inspection, generate_series(1, 10000) AS i
        """
    )
    await conn.execute("ANALYZE inference_jobs")

    nodes = await explain(conn, CLAIM_QUERY)

    node_types = [node["Node Type"] for node in nodes]
    assert "Sort" not in node_types, nodes
    scans = [node for node in nodes if node.get("Index Name")]
    assert [(node["Node Type"], node["Index Name"]) for node in scans] == [
        ("Index Scan", "inference_jobs_priority_created_at_pending_idx")
    ], nodes
    claimed = await conn.fetch(CLAIM_QUERY.replace("SELECT id", "SELECT id, priority"))
    assert len(claimed) == 10
    assert [row["priority"] for row in claimed] == sorted(
        (row["priority"] for row in claimed), reverse=True
    )


async def test_every_foreign_key_is_served_by_an_index_on_one_of_its_columns(
    shared_conn: asyncpg.Connection,
) -> None:
    # Each RESTRICT or CASCADE check on delete of a parent looks the children up
    # by the key columns; without an index leading with one of them it scans.
    unserved = await shared_conn.fetch(
        """
        SELECT c.conname::text
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = 'public' AND c.contype = 'f'
          AND NOT EXISTS (
              SELECT FROM pg_index i
              WHERE i.indrelid = c.conrelid AND i.indkey[0] = ANY (c.conkey)
          )
        """
    )
    foreign_keys = await shared_conn.fetchval(
        "SELECT count(*) FROM pg_constraint"
        " WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
    )
    assert foreign_keys == 7
    assert [row["conname"] for row in unserved] == []


@pytest.mark.parametrize(
    ("index", "method"),
    [
        ("parts_specifications_idx", "gin"),
        ("inspections_results_idx", "gin"),
        ("defects_location_idx", "gin"),
        ("inference_jobs_results_idx", "gin"),
        ("inference_jobs_priority_created_at_pending_idx", "btree"),
        ("inspections_created_at_open_idx", "btree"),
        ("reports_created_at_pending_idx", "btree"),
    ],
)
async def test_the_documented_indexes_exist(
    shared_conn: asyncpg.Connection, index: str, method: str
) -> None:
    definition = await shared_conn.fetchval(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = $1", index
    )
    assert definition is not None
    assert f" USING {method} " in definition
