"""The steady workload of the rollout test, and what it saw.

TASKS tasks, each calling the generated functions through the project's pool at a
steady pace (one operation every INTERVAL seconds, as a service under a constant
request rate): reads by key and by page, and audited writes in
`transaction(pool, actor=...)`. Every operation is timed; its error, if any, kept.
The rename's queries come from the release the workload runs (`release`), which
the test switches from before_rename to after_rename the way a deployment does.

LockWaits samples pg_locks every SAMPLE seconds: for each ungranted lock of a
workload session, how long it has waited (pg_locks.waitstart, PostgreSQL 14+).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import ModuleType
from uuid import UUID

import asyncpg

from chip_quality_db import Pool, transaction
from chip_quality_queries import defects, inspections, lots
from chip_quality_queries.models import (
    DefectReviewStatus,
    DefectSeverity,
    DefectType,
    InspectionType,
    LotStatus,
)

APPLICATION = "rollout-workload"
ACTOR = "rollout-workload"
TASKS = 8
INTERVAL = 0.05  # seconds between the starts of one task's operations
SAMPLE = 0.02


@dataclass(frozen=True)
class Op:
    name: str
    started: float  # time.perf_counter()
    ended: float
    error: str | None

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass(frozen=True)
class Ids:
    """Rows of the dataset the operations address."""

    lots: list[UUID]
    defects: list[UUID]
    reports: list[UUID]

    @classmethod
    async def sample(cls, url: str) -> Ids:
        conn = await asyncpg.connect(url)
        try:

            async def ids(query: str) -> list[UUID]:
                return [row[0] for row in await conn.fetch(query)]

            return cls(
                lots=await ids("SELECT id FROM lots TABLESAMPLE SYSTEM (10) LIMIT 500"),
                defects=await ids("SELECT id FROM defects TABLESAMPLE SYSTEM (1) LIMIT 2000"),
                reports=await ids(
                    "SELECT id FROM reports WHERE status = 'completed' ORDER BY id LIMIT 500"
                ),
            )
        finally:
            await conn.close()


@dataclass
class Workload:
    pool: Pool
    ids: Ids
    release: ModuleType  # the `reports` module of the running release
    ops: list[Op] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(26))

    async def get_lot(self) -> None:
        await lots.get_lot(self.pool, lot_id=self.rng.choice(self.ids.lots))

    async def get_defect(self) -> None:
        await defects.get_defect(self.pool, defect_id=self.rng.choice(self.ids.defects))

    async def list_inspections(self) -> None:
        lot_id = self.rng.choice(self.ids.lots)
        await inspections.list_inspections(self.pool, lot_id=lot_id, page_size=20)

    async def record_inspection(self) -> None:
        """An inspection and the two defects it found: three audited inserts."""
        async with transaction(self.pool, actor=ACTOR) as conn:
            inspection = await inspections.create_inspection(
                conn,
                inspections.CreateInspectionParams(
                    lot_id=self.rng.choice(self.ids.lots),
                    inspection_type=InspectionType.OPTICAL,
                    station_id="ST-ROLLOUT",
                ),
            )
            for kind in (DefectType.SCRATCH, DefectType.PARTICLE):
                await defects.create_defect(
                    conn,
                    defects.CreateDefectParams(
                        inspection_id=inspection.id,
                        defect_type=kind,
                        severity=DefectSeverity.LOW,
                        location={"x": self.rng.randint(0, 300), "y": 7},
                        confidence=Decimal("0.9100"),
                        detected_by="model:aoi@3",
                    ),
                )

    async def review_defect(self) -> None:
        async with transaction(self.pool, actor=ACTOR) as conn:
            await defects.review_defect(
                conn,
                defects.ReviewDefectParams(
                    review_status=DefectReviewStatus.CONFIRMED,
                    reviewed_by="reviewer-rollout",
                    reviewed_at=datetime.now(UTC),
                    defect_id=self.rng.choice(self.ids.defects),
                ),
            )

    async def set_lot_status(self) -> None:
        status = self.rng.choice((LotStatus.ACTIVE, LotStatus.QUARANTINED))
        async with transaction(self.pool, actor=ACTOR) as conn:
            await lots.set_lot_status(conn, status=status, lot_id=self.rng.choice(self.ids.lots))

    async def get_report_output(self) -> None:
        await self.release.get_report_output(self.pool, report_id=self.rng.choice(self.ids.reports))

    async def set_report_output(self) -> None:
        report_id = self.rng.choice(self.ids.reports)
        uri = f"s3://fab-reports/rollout/{report_id}.pdf"
        async with transaction(self.pool, actor=ACTOR) as conn:
            if self.release.__name__.startswith("rollout_before_rename"):
                await self.release.set_report_output(conn, output_location=uri, report_id=report_id)
            else:
                await self.release.set_report_output(conn, output_uri=uri, report_id=report_id)

    def operations(self) -> Sequence[tuple[str, int]]:
        """(operation, weight): mostly reads, a third writes."""
        return (
            ("get_lot", 3),
            ("get_defect", 3),
            ("list_inspections", 2),
            ("get_report_output", 2),
            ("record_inspection", 2),
            ("review_defect", 1),
            ("set_lot_status", 1),
            ("set_report_output", 1),
        )

    async def task(self, stop: asyncio.Event) -> None:
        names, weights = zip(*self.operations(), strict=True)
        next_start = time.perf_counter()
        while not stop.is_set():
            name = self.rng.choices(names, weights)[0]
            started = time.perf_counter()
            error = None
            try:
                await getattr(self, name)()
            except Exception as failure:  # every failure counts, whatever its type
                error = f"{type(failure).__name__}: {failure}".splitlines()[0]
            self.ops.append(Op(name, started, time.perf_counter(), error))
            next_start = max(next_start + INTERVAL, time.perf_counter())
            await asyncio.sleep(next_start - time.perf_counter())

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self.task(stop) for _ in range(TASKS)))


@dataclass(frozen=True)
class Wait:
    at: float  # time.perf_counter() of the sample
    seconds: float  # how long the lock had been waited for then
    what: str


WAITING = """
SELECT coalesce(extract(epoch FROM now() - l.waitstart), 0)::float8 AS waited,
       l.locktype || ' ' || l.mode || coalesce(' on ' || l.relation::regclass::text, '')
           || ' (blocked by ' || array_to_string(pg_blocking_pids(a.pid), ', ') || ')' AS what
  FROM pg_locks AS l
  JOIN pg_stat_activity AS a ON a.pid = l.pid
 WHERE NOT l.granted AND a.application_name = $1
"""


@dataclass
class LockWaits:
    url: str
    waits: list[Wait] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            while not stop.is_set():
                at = time.perf_counter()
                for row in await conn.fetch(WAITING, APPLICATION):
                    self.waits.append(Wait(at, row["waited"], row["what"]))
                await asyncio.sleep(SAMPLE)
        finally:
            await conn.close()

    def longest(self, start: float, end: float) -> Wait | None:
        inside = [wait for wait in self.waits if start <= wait.at <= end]
        return max(inside, key=lambda wait: wait.seconds, default=None)
