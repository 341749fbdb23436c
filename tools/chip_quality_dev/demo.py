"""`make demo`: load a realistic fab dataset through the generated functions, then report.

    python -m chip_quality_dev.demo          # DATABASE_URL, migrated (make demo does both)

Every run adds a new, independent batch (its part and lot numbers carry a run
tag), so the demo can run any number of times against the same database.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from chip_quality_db import analytics as analytics_views
from chip_quality_db._artifacts import register_artifact
from chip_quality_db._checksum import sha256_of
from chip_quality_db._pool import Pool, create_pool
from chip_quality_db._settings import load_settings
from chip_quality_db._transaction import transaction
from chip_quality_queries import (
    analytics,
    artifacts,
    audit_log,
    defects,
    inference_jobs,
    inspections,
    lots,
    parts,
    reports,
)
from chip_quality_queries.models import (
    ArtifactType,
    DefectSeverity,
    DefectType,
    InspectionType,
    PartType,
    ReportFormat,
    ReportType,
)

ACTOR = "demo-loader"
LOTS_PER_PART = 6
INSPECTIONS_PER_LOT = 60
DEFECTS = 20_000
JOBS = 600
WORKERS = 6
T = TypeVar("T")

PART_SPECS: dict[PartType, dict[str, object]] = {
    PartType.PCB: {"layers": 8, "thickness_mm": 1.6, "finish": "ENIG"},
    PartType.SEMICONDUCTOR: {"node_nm": 7, "die_mm2": 88.5, "package": "FCBGA"},
    PartType.COMPONENT: {"kind": "MLCC", "capacitance_uf": 10, "voltage": 25},
    PartType.ASSEMBLY: {"boards": 3, "connectors": 12},
    PartType.WAFER: {"diameter_mm": 300, "dies": 612, "node_nm": 5},
}
SEVERITY_WEIGHTS = {
    DefectSeverity.LOW: 50,
    DefectSeverity.MEDIUM: 30,
    DefectSeverity.HIGH: 15,
    DefectSeverity.CRITICAL: 5,
}


class Progress:
    """A one-line progress bar on stderr for the long steps (only its last state off a TTY)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done, self.started = label, total, 0, time.perf_counter()
        self.shown = -1
        self.live = sys.stderr.isatty()

    def advance(self, step: int = 1) -> None:
        self.done += step
        filled = int(30 * self.done / self.total)
        finished = self.done >= self.total
        if (filled == self.shown and not finished) or not (self.live or finished):
            return
        self.shown = filled
        bar = "#" * filled + "." * (30 - filled)
        sys.stderr.write(f"\r  {self.label:<26} [{bar}] {self.done}/{self.total}")
        if finished:
            sys.stderr.write(f"  {time.perf_counter() - self.started:.1f} s\n")
        sys.stderr.flush()


async def in_parallel(
    items: Sequence[T], work: Callable[[T], Awaitable[None]], progress: Progress, tasks: int = 8
) -> None:
    """Run `work` over items with at most `tasks` at a time (the pool bounds connections)."""
    queue = list(items)

    async def worker() -> None:
        while queue:
            await work(queue.pop())
            progress.advance()

    await asyncio.gather(*(worker() for _ in range(tasks)))


async def load_parts_and_lots(pool: Pool, tag: str, rng: random.Random) -> list[UUID]:
    lot_ids: list[UUID] = []
    async with transaction(pool, actor=ACTOR) as conn:
        for number, part_type in enumerate(PartType, start=1):
            part = await parts.create_part(
                conn,
                parts.CreatePartParams(
                    part_number=f"{part_type.value[:3].upper()}-{tag}-{number:03d}",
                    part_name=f"Demo {part_type.value}",
                    part_type=part_type,
                    specifications=PART_SPECS[part_type],
                    tolerance_requirements={"dimensional": "±0.1mm"},
                ),
            )
            assert part is not None
            for index in range(LOTS_PER_PART):
                lot = await lots.create_lot(
                    conn,
                    lots.CreateLotParams(
                        lot_number=f"LOT-{tag}-{number:02d}{index:02d}",
                        part_id=part.id,
                        production_date=date(2026, 11, 1) + timedelta(days=index),
                        batch_size=rng.choice([500, 1000, 2500]),
                        production_line=f"LINE-{'ABC'[index % 3]}",
                    ),
                )
                assert lot is not None
                lot_ids.append(lot.id)
    return lot_ids


async def load_inspections(pool: Pool, lot_ids: list[UUID], rng: random.Random) -> list[UUID]:
    """Inspections of every lot, started and completed with a verdict; lots differ in yield."""
    lot_quality = {lot_id: rng.uniform(0.80, 0.995) for lot_id in lot_ids}
    plan = [(lot_id, i) for lot_id in lot_ids for i in range(INSPECTIONS_PER_LOT)]
    ids: list[UUID] = []
    started = datetime(2026, 11, 20, 8, tzinfo=UTC)

    async def inspect(item: tuple[UUID, int]) -> None:
        lot_id, index = item
        async with transaction(pool, actor=f"station-{index % 4}") as conn:
            created = await inspections.create_inspection(
                conn,
                inspections.CreateInspectionParams(
                    lot_id=lot_id,
                    inspection_type=list(InspectionType)[index % 6],
                    station_id=f"ST-{index % 4}",
                    operator_id=f"op-{index % 9}",
                ),
            )
            assert created is not None
            begin = started + timedelta(minutes=index)
            await inspections.start_inspection(conn, inspection_id=created.id, started_at=begin)
            await inspections.complete_inspection(
                conn,
                inspection_id=created.id,
                completed_at=begin + timedelta(seconds=45),
                passed=rng.random() < lot_quality[lot_id],
                results={"measurements": index % 7, "station": f"ST-{index % 4}"},
            )
            ids.append(created.id)

    await in_parallel(plan, inspect, Progress("inspections", len(plan)))
    return ids


async def load_defects(pool: Pool, inspection_ids: list[UUID], rng: random.Random) -> int:
    """Bulk ingest through :copyfrom, the way an AOI machine's export would arrive."""
    types = list(DefectType)
    type_weights = [40 if t in (DefectType.SCRATCH, DefectType.PARTICLE) else 5 for t in types]
    rows = [
        defects.IngestDefectsParams(
            inspection_id=rng.choice(inspection_ids),
            defect_type=rng.choices(types, type_weights)[0],
            severity=rng.choices(list(SEVERITY_WEIGHTS), list(SEVERITY_WEIGHTS.values()))[0],
            location={"x": round(rng.uniform(0, 300), 2), "y": round(rng.uniform(0, 300), 2)},
            confidence=Decimal(str(round(rng.uniform(0.5, 1.0), 4))),
            description=None,
            detected_by="aoi-model-v3",
        )
        for _ in range(DEFECTS)
    ]
    progress = Progress("defects (COPY)", len(rows))
    written = 0
    async with transaction(pool, actor=ACTOR) as conn:
        for start in range(0, len(rows), 5_000):
            written += await defects.ingest_defects(conn, rows[start : start + 5_000])
            progress.advance(min(5_000, len(rows) - start))
    return written


async def run_inference_workers(pool: Pool, inspection_ids: list[UUID], rng: random.Random) -> int:
    """Queue jobs, then let concurrent workers claim them (SKIP LOCKED) and complete them."""
    async with transaction(pool, actor="scheduler") as conn:
        for inspection_id in rng.sample(inspection_ids, JOBS):
            job = inference_jobs.CreateInferenceJobParams(
                inspection_id=inspection_id,
                model_name="defect-detector",
                model_version="3.2.0",
                priority=rng.randint(1, 9),
            )
            await inference_jobs.create_inference_job(conn, job)
    progress = Progress("inference jobs (workers)", JOBS)
    claimed_by_all: list[UUID] = []

    async def worker(name: str) -> None:
        while True:
            async with transaction(pool, actor=name) as conn:
                claimed = await inference_jobs.claim_inference_jobs(
                    conn, worker_id=name, max_jobs=10
                )
            if not claimed:
                return
            for job in claimed:
                claimed_by_all.append(job.id)
                async with transaction(pool, actor=name) as conn:
                    await inference_jobs.complete_inference_job(
                        conn,
                        job_id=job.id,
                        worker_id=name,
                        results={"defects_found": rng.randint(0, 4), "score": 0.97},
                        inference_ms=int(rng.lognormvariate(4.0, 0.4)),
                    )
                progress.advance()

    await asyncio.gather(*(worker(f"worker-{i}") for i in range(WORKERS)))
    if len(claimed_by_all) != len(set(claimed_by_all)):
        raise RuntimeError("a job was claimed twice")
    return len(claimed_by_all)


async def register_artifacts(pool: Pool, inspection_ids: list[UUID]) -> int:
    """Store a few files, then register them with their SHA-256."""
    count = 0
    with tempfile.TemporaryDirectory() as folder:
        async with transaction(pool, actor=ACTOR) as conn:
            for index, inspection_id in enumerate(inspection_ids[:50]):
                path = Path(folder) / f"inspection-{index}.png"
                path.write_bytes(secrets.token_bytes(4096))
                params = artifacts.CreateArtifactParams(
                    inspection_id=inspection_id,
                    artifact_type=ArtifactType.IMAGE,
                    storage_uri=f"s3://fab-images/{inspection_id}.png",
                    content_type="image/png",
                    size_bytes=path.stat().st_size,
                    checksum_sha256=sha256_of(path),
                )
                await register_artifact(conn, params, path)
                count += 1
    return count


async def make_report(pool: Pool, lot_ids: list[UUID]) -> None:
    async with transaction(pool, actor="quality-engineer") as conn:
        request = reports.CreateReportParams(
            report_type=ReportType.DEFECT_PARETO,
            title="Defect Pareto, demo run",
            parameters={"lot_ids": [str(i) for i in lot_ids[:5]]},
            format_=ReportFormat.PDF,
            generated_by="quality-engineer",
        )
        report = await reports.create_report(conn, request)
        assert report is not None
        await reports.start_report(conn, report_id=report.id)
        await reports.complete_report(
            conn, report_id=report.id, output_location=f"s3://reports/{report.id}.pdf"
        )


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in header], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print(
            "  "
            + "  ".join(
                cell.rjust(w) if index and cell[:1].isdigit() else cell.ljust(w)
                for cell, w in zip(row, widths, strict=True)
            )
        )
        if index == 0:
            print("  " + "  ".join("-" * w for w in widths))


async def summary(pool: Pool, lot_ids: list[UUID], run_started: datetime) -> None:
    # The figures come from the materialized analytics views, refreshed here first
    # (CONCURRENTLY: a dashboard reading them meanwhile is not blocked).
    refreshed = await analytics_views.refresh(pool)
    table(
        "Analytics views refreshed",
        ["view", "ms"],
        [(r.view_name, f"{r.duration_ms:.0f}") for r in refreshed],
    )

    yields = await analytics.lot_yields_of_lots(pool, lot_ids=lot_ids)
    table(
        f"Yield per lot (five lowest; as of {yields[0].refreshed_at:%H:%M:%S})",
        ["lot", "passed", "failed", "yield"],
        [
            (y.lot_number, y.passed, y.failed, f"{y.yield_ratio:.1%}" if y.yield_ratio else "-")
            for y in yields[:5]
        ],
    )

    worst = yields[0]
    pareto = await analytics.defect_pareto_of_part(pool, part_id=worst.part_id)
    running = Decimal(0)
    rows = []
    for row in pareto[:8]:
        running += row.share
        rows.append((row.defect_type.value, row.defect_count, row.severe_count, f"{running:.0%}"))
    part_number = pareto[0].part_number if pareto else str(worst.part_id)
    table(
        f"Defect Pareto of part {part_number} (all its lots, all runs)",
        ["type", "count", "high/critical", "cumulative"],
        rows,
    )

    latency = await analytics.inference_latency_by_model_version(pool, model_name="defect-detector")
    table(
        "Inference latency per model version (completed jobs, all runs)",
        ["version", "jobs", "p50 ms", "p95 ms", "p99 ms"],
        [
            (v.model_version, v.jobs, f"{v.p50_ms:.0f}", f"{v.p95_ms:.0f}", f"{v.p99_ms:.0f}")
            for v in latency
        ],
    )

    # Bounded by the run's own time, so only this month's partition is counted.
    written = await audit_log.count_audit_entries(
        pool, recorded_from=run_started, recorded_before=datetime.now(UTC) + timedelta(seconds=1)
    )
    table("Audit trail", ["rows written by this run"], [(written,)])


async def main() -> int:
    settings = load_settings(DB_POOL_SIZE=4, DB_MAX_OVERFLOW=6)
    pool = await create_pool(settings)
    rng = random.Random(2026)
    tag = secrets.token_hex(3).upper()
    started = time.perf_counter()
    try:
        run_started = datetime.now(UTC)
        print(f"Loading demo run {tag} into {settings.dsn().rsplit('@', 1)[-1]}", file=sys.stderr)
        lot_ids = await load_parts_and_lots(pool, tag, rng)
        inspection_ids = await load_inspections(pool, lot_ids, rng)
        written = await load_defects(pool, inspection_ids, rng)
        claimed = await run_inference_workers(pool, inspection_ids, rng)
        stored = await register_artifacts(pool, inspection_ids)
        await make_report(pool, lot_ids)
        print(
            f"  {len(PartType)} parts, {len(lot_ids)} lots, {len(inspection_ids)} inspections, "
            f"{written} defects, {claimed} jobs by {WORKERS} workers, {stored} artifacts, "
            f"1 report",
            file=sys.stderr,
        )
        await summary(pool, lot_ids, run_started)
    finally:
        await pool.close()
    print(f"\nDone in {time.perf_counter() - started:.1f} s.")
    return 0


if __name__ == "__main__":
    if not os.environ.get("DATABASE_URL"):
        print("demo: DATABASE_URL is not set (run `make demo`)", file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main()))
