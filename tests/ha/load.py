"""The workload of the failover tests: writers and readers through the cluster handle.

Each writer makes audited writes (a part each) through `run_once` with an idempotency
key, and retries a failed one with the SAME key, as a client retries a request whose
answer it did not get, until it is acknowledged (or the run's retry budget ends).
The part's number is new at every attempt and its description is the key: a write
that ran twice would leave two parts with one description, which `verify` counts.
Readers read parts by id through the handle (generated read-only queries: the
standbys serve them). `event` runs once, `event_at` seconds in (a kill, a switchover).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from chip_quality_db import (
    Database,
    RetryableError,
    UnavailableError,
    create_database,
    load_settings,
    run_once,
)
from chip_quality_db.audit import verify_chain
from chip_quality_queries import parts
from chip_quality_queries.models import PartType

RETRY_BUDGET = 90.0  # seconds a writer keeps retrying one write before it gives up


@dataclass
class Ack:
    key: str
    part_id: UUID
    attempt_began: float  # monotonic time the acknowledged attempt started
    acked_at: float
    attempts: int
    replayed: bool  # a retry found the first attempt committed (the ambiguous case)


@dataclass
class Figures:
    acks: list[Ack] = field(default_factory=list)
    write_errors: list[str] = field(default_factory=list)  # raised after retries / not retryable
    retried_attempts: int = 0
    reads_ok: int = 0
    read_errors: list[tuple[float, str]] = field(default_factory=list)
    event_at: float | None = None  # monotonic time the event happened
    event_done_at: float | None = None
    started: float = 0.0

    def write_outage(self) -> float | None:
        """Seconds from the event to the first write acknowledged whose attempt began
        after it (so it ran on the new primary), or None when none was."""
        if self.event_at is None:
            return None
        after = [a.acked_at for a in self.acks if a.attempt_began >= self.event_at]
        return min(after) - self.event_at if after else None

    def longest_write_gap(self) -> float:
        times = sorted(a.acked_at for a in self.acks)
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


async def open_handle(url: str) -> Database:
    """The cluster handle a service would hold: the formation's multi-host URL as the
    primary, the same host list as its replicas (roles discovered)."""
    return await create_database(
        load_settings(
            DATABASE_URL=url,
            DB_REPLICA_URLS=url,
            DB_POOL_SIZE=4,
            DB_MAX_OVERFLOW=16,
            DB_POOL_TIMEOUT=5,
            DB_CONNECT_TIMEOUT=2,
            DB_REPLICA_CHECK_INTERVAL=0.2,
            DB_APPLICATION_NAME="ha-load",
        )
    )


async def _writer(db: Database, run: str, index: int, until: float, figures: Figures) -> None:
    for n in itertools.count():
        if time.monotonic() >= until:
            return
        key = f"{run}-w{index}-{n}"
        attempt = 0
        first_try = time.monotonic()
        while True:
            attempt += 1
            began = time.monotonic()
            number = f"HA{run.upper()}-W{index}-{n}-A{attempt}"

            async def create(conn: Any, number: str = number, key: str = key) -> Any:
                return await parts.create_part(
                    conn,
                    parts.CreatePartParams(
                        part_number=number,
                        part_name="failover load",
                        part_type=PartType.PCB,
                        description=key,
                    ),
                )

            try:
                outcome = await run_once(db, key, create, actor=f"writer-{index}@ha")
            except (UnavailableError, RetryableError) as exc:
                figures.retried_attempts += 1
                if time.monotonic() - first_try > RETRY_BUDGET:
                    figures.write_errors.append(f"{key}: gave up after {attempt} attempts: {exc}")
                    break
                await asyncio.sleep(random.uniform(0.1, 0.5))
                continue
            except Exception as exc:  # not an outage: a bug the test must show
                figures.write_errors.append(f"{key}: {type(exc).__name__}: {exc}")
                break
            result = outcome.result
            figures.acks.append(
                Ack(
                    key=key,
                    part_id=UUID(str(result["id"])),
                    attempt_began=began,
                    acked_at=time.monotonic(),
                    attempts=attempt,
                    replayed=outcome.replayed,
                )
            )
            break


async def _reader(db: Database, until: float, figures: Figures) -> None:
    while time.monotonic() < until:
        known = figures.acks
        part_id = random.choice(known).part_id if known else UUID(int=0)
        try:
            await parts.get_part(db, part_id=part_id)
            figures.reads_ok += 1
        except Exception as exc:
            figures.read_errors.append((time.monotonic(), f"{type(exc).__name__}: {exc}"))
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.005)


async def run_load(
    db: Database,
    run: str,
    *,
    seconds: float,
    event_at: float,
    event: Callable[[], Awaitable[None]],
    writers: int = 16,
    readers: int = 8,
) -> Figures:
    figures = Figures(started=time.monotonic())
    until = figures.started + seconds

    async def fire() -> None:
        await asyncio.sleep(event_at)
        figures.event_at = time.monotonic()
        await event()
        figures.event_done_at = time.monotonic()

    await asyncio.gather(
        fire(),
        *(_writer(db, run, i, until, figures) for i in range(writers)),
        *(_reader(db, until, figures) for _ in range(readers)),
    )
    return figures


@dataclass
class Verdict:
    acknowledged: int
    lost: list[str]
    duplicates: list[str]
    missing_audit: list[str]
    chain: str
    chain_ok: bool


async def verify(primary_url: str, run: str, figures: Figures) -> Verdict:
    """On the (new) primary: every acknowledged key's part and audit row is there,
    no key has two parts, and the audit chain verifies."""
    conn = await asyncpg.connect(primary_url)
    try:
        rows = await conn.fetch(
            "SELECT description, id FROM parts WHERE description LIKE $1", f"{run}-%"
        )
        by_key: dict[str, list[UUID]] = {}
        for row in rows:
            by_key.setdefault(row["description"], []).append(row["id"])
        audited = {
            r["record_id"]
            for r in await conn.fetch(
                "SELECT record_id FROM audit_log WHERE table_name = 'parts' AND action = 'insert'"
            )
        }
        lost = [a.key for a in figures.acks if a.part_id not in by_key.get(a.key, [])]
        duplicates = [key for key, ids in by_key.items() if len(ids) > 1]
        missing_audit = [a.key for a in figures.acks if a.part_id not in audited]
        report = await verify_chain(conn)
    finally:
        await conn.close()
    return Verdict(
        acknowledged=len(figures.acks),
        lost=lost,
        duplicates=duplicates,
        missing_audit=missing_audit,
        chain=str(report),
        chain_ok=report.ok,
    )
