"""The materialized analytics views through their generated queries: data as of the
last refresh (and that time returned), refreshed CONCURRENTLY while readers read."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

import asyncpg
import pytest

from chip_quality_db import Pool, RuleViolationError, transaction
from chip_quality_db import analytics as refresher
from chip_quality_queries import analytics, defects, inference_jobs
from chip_quality_queries.models import DefectSeverity, DefectType, Lot, Part

from .factories import finish_inspection, make_inspection, make_job, make_lot, make_part


async def _fab(pool: Pool) -> tuple[Part, Lot]:
    """A part with one lot: 2 inspections passed, 1 failed, defects 3 voids (one critical)
    and 1 scratch; 3 completed jobs of model 2.3.1 taking 10, 20 and 30 ms."""
    async with transaction(pool, actor="analyst") as conn:
        part = await make_part(conn)
        lot = await make_lot(conn, part_id=part.id)
        verdicts = [True, True, False]
        found = []
        for passed in verdicts:
            inspection = await make_inspection(conn, lot_id=lot.id)
            await finish_inspection(conn, inspection.id, passed=passed)
            found.append(inspection)
        kinds = [
            (DefectType.VOID, DefectSeverity.CRITICAL),
            (DefectType.VOID, DefectSeverity.LOW),
            (DefectType.VOID, DefectSeverity.MEDIUM),
            (DefectType.SCRATCH, DefectSeverity.LOW),
        ]
        for defect_type, severity in kinds:
            await defects.create_defect(
                conn,
                defects.CreateDefectParams(
                    inspection_id=found[2].id,
                    defect_type=defect_type,
                    severity=severity,
                    detected_by="aoi-1",
                ),
            )
        for inspection, ms in zip(found, (10, 20, 30), strict=True):
            await make_job(conn, inspection_id=inspection.id, priority=9)
            [claimed] = await inference_jobs.claim_inference_jobs(conn, worker_id="w1", max_jobs=1)
            done = await inference_jobs.complete_inference_job(
                conn, results={}, inference_ms=ms, job_id=claimed.id, worker_id="w1"
            )
            assert done is not None
    return part, lot


async def test_the_views_show_the_data_as_of_their_last_refresh(pool: Pool) -> None:
    part, lot = await _fab(pool)
    stale = await analytics.lot_yields_of_lots(pool, lot_ids=[lot.id])
    assert stale == []  # made after the last refresh: not in the view yet
    before = {r.view_name: r.refreshed_at for r in await analytics.analytics_refreshes(pool)}

    refreshed = await refresher.refresh(pool)
    assert [r.view_name for r in refreshed] == list(refresher.VIEWS)
    after = {r.view_name: r for r in await analytics.analytics_refreshes(pool)}
    assert all(after[name].refreshed_at > before[name] for name in refresher.VIEWS)
    assert all(after[name].duration_ms >= 0 for name in refresher.VIEWS)

    [lot_yield] = await analytics.lot_yields_of_lots(pool, lot_ids=[lot.id])
    assert (lot_yield.passed, lot_yield.failed, lot_yield.undecided) == (2, 1, 0)
    assert lot_yield.yield_ratio == Decimal("0.6667")
    assert lot_yield.refreshed_at == after["analytics_lot_yield"].refreshed_at

    pareto = await analytics.defect_pareto_of_part(pool, part_id=part.id)
    assert [(p.defect_type, p.defect_count, p.severe_count, p.share) for p in pareto] == [
        (DefectType.VOID, 3, 1, Decimal("0.7500")),
        (DefectType.SCRATCH, 1, 0, Decimal("0.2500")),
    ]
    assert {p.refreshed_at for p in pareto} == {after["analytics_defect_pareto"].refreshed_at}

    latency = await analytics.inference_latency_by_model_version(pool, model_name="defect-detector")
    [version] = [v for v in latency if v.model_version == "2.3.1"]
    assert (version.jobs, version.p50_ms, version.max_ms) == (3, 20.0, 30)
    assert version.refreshed_at == after["analytics_inference_latency"].refreshed_at


async def test_a_lot_without_a_decided_inspection_has_no_yield(pool: Pool) -> None:
    async with transaction(pool, actor="analyst") as conn:
        part = await make_part(conn)
        lot = await make_lot(conn, part_id=part.id)
        await make_inspection(conn, lot_id=lot.id)
    await refresher.refresh(pool, ("analytics_lot_yield",))
    [row] = await analytics.lot_yields_of_lots(pool, lot_ids=[lot.id])
    assert (row.undecided, row.yield_ratio) == (1, None)


async def test_refresh_concurrently_does_not_block_readers_and_they_see_whole_refreshes(
    pool: Pool, db_url: str
) -> None:
    await _fab(pool)
    await refresher.refresh(pool)
    reader = await asyncpg.connect(db_url)
    try:
        async with reader.transaction():
            # A reader in the middle of a transaction that read the view (ACCESS SHARE).
            await reader.fetchval("SELECT count(*) FROM analytics_defect_pareto")
            async with pool.acquire() as conn:
                async with conn.transaction():
                    await conn.execute("SET LOCAL lock_timeout = '300ms'")
                    # The control: a plain REFRESH needs ACCESS EXCLUSIVE and must wait.
                    with pytest.raises(asyncpg.LockNotAvailableError):
                        await conn.execute("REFRESH MATERIALIZED VIEW analytics_defect_pareto")
                async with conn.transaction():
                    await conn.execute("SET LOCAL lock_timeout = '300ms'")
                    await refresher.refresh(conn, ("analytics_defect_pareto",))
    finally:
        await reader.close()

    # Readers reading all the time while refreshes run, with writes in between: every
    # read succeeds and sees one refresh's rows whole (all parts' shares sum to 1).
    stop = asyncio.Event()
    reads = 0

    async def read() -> None:
        nonlocal reads
        while not stop.is_set():
            async with pool.acquire() as conn:
                sums = await conn.fetch(
                    "SELECT part_id, sum(share) AS total FROM analytics_defect_pareto"
                    " GROUP BY part_id"
                )
            assert all(abs(row["total"] - 1) < Decimal("0.001") for row in sums)
            reads += 1

    readers = [asyncio.create_task(read()) for _ in range(3)]
    for _ in range(5):
        await _fab(pool)
        await refresher.refresh(pool, ("analytics_defect_pareto", "analytics_lot_yield"))
    stop.set()
    await asyncio.gather(*readers)
    assert reads > 5


async def test_refresh_refuses_a_name_that_is_not_an_analytics_view(pool: Pool) -> None:
    with pytest.raises(ValueError, match="not an analytics view: parts"):
        await refresher.refresh(pool, ("parts",))
    # The named query itself: the server refuses, the error names the query and parameter.
    with pytest.raises(RuleViolationError, match="refresh_analytics_view: parameter view_name"):
        await analytics.refresh_analytics_view(pool, view_name="parts")
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.InvalidParameterValueError, match="parts is not an analytics"):
            await conn.fetchval("SELECT analytics_refresh('parts')")


async def test_only_the_app_and_reporting_roles_may_refresh(pool: Pool) -> None:
    async with pool.acquire() as conn:
        for role, allowed in (
            ("chipq_reporting_ro", True),
            ("chipq_app_rw", True),
            ("chipq_auditor_ro", False),
        ):
            transaction_ = conn.transaction()
            await transaction_.start()
            try:
                await conn.execute(f"SET LOCAL ROLE {role}")
                if allowed:
                    row = await conn.fetchrow(
                        "SELECT * FROM analytics_refresh('analytics_lot_yield')"
                    )
                    assert row is not None and isinstance(row["refreshed_at"], datetime)
                else:
                    with pytest.raises(asyncpg.InsufficientPrivilegeError):
                        await conn.fetchval("SELECT analytics_refresh('analytics_lot_yield')")
            finally:
                await transaction_.rollback()
