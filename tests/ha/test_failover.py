"""Losing the primary, handing it over, and losing a standby, under load (issue #25).

16 writers (audited writes, each with an idempotency key, retried as a client would)
and 8 readers run through the cluster handle for HA_LOAD_SECONDS (60 by default);
at HA_EVENT_AT seconds (15) something happens to the formation:

- the primary's PostgreSQL and its keeper are killed with SIGKILL: a standby is
  promoted; afterwards the old primary's keeper is started again and it must rejoin
  as a standby;
- `pg_autoctl perform switchover`: the primary hands over to a standby;
- a standby is killed: the other keeps synchronous replication, writes continue.

Each reports, and asserts: acknowledged writes lost (0: every acknowledged key's part
is on the primary afterwards), duplicates (0), every acknowledged part's audit row
there and the audit chain verifying, the write outage (event to the first write
acknowledged that began after it; at most 30 s), read errors.
"""

from __future__ import annotations

import asyncio
import os
import time

from chip_quality_db import health_check
from chip_quality_dev import ha
from chip_quality_dev.ha import Formation

from .conftest import record
from .load import Figures, open_handle, run_load, verify

SECONDS = float(os.environ.get("HA_LOAD_SECONDS", "60"))
EVENT_AT = float(os.environ.get("HA_EVENT_AT", "15"))
MAX_WRITE_OUTAGE = 30.0


def report(scenario: str, figures: Figures, verdict_text: dict[str, object]) -> None:
    outage = figures.write_outage()
    record(f"{scenario}: writes acknowledged", len(figures.acks))
    record(f"{scenario}: write attempts retried", figures.retried_attempts)
    record(
        f"{scenario}: retries that found the write committed (replayed)",
        sum(a.replayed for a in figures.acks),
    )
    record(f"{scenario}: write outage (s)", None if outage is None else round(outage, 2))
    record(
        f"{scenario}: longest gap between acknowledged writes (s)",
        round(figures.longest_write_gap(), 2),
    )
    record(f"{scenario}: reads ok", figures.reads_ok)
    record(f"{scenario}: read errors", len(figures.read_errors))
    if figures.read_errors:
        kinds = sorted({text[:120] for _, text in figures.read_errors})
        record(f"{scenario}: read errors, kinds", kinds[:4])
        if figures.event_at is not None:
            times = [at - figures.event_at for at, _ in figures.read_errors]
            record(
                f"{scenario}: read errors, from/to (s after the event)",
                f"{min(times):.1f} / {max(times):.1f}",
            )
    for name, value in verdict_text.items():
        record(f"{scenario}: {name}", value)


async def test_the_primary_killed_under_load(formation: Formation, ha_database: str) -> None:
    old = ha.primary_node(formation)
    assert old is not None
    db = await open_handle(formation.url(ha_database))
    try:
        before = await health_check(db)
        assert before.ok and before.primary == f"127.0.0.1:{old.port}", before

        async def kill() -> None:
            ha.kill_node(old)

        figures = await run_load(db, "kill", seconds=SECONDS, event_at=EVENT_AT, event=kill)
        after = await health_check(db)
    finally:
        await db.close()
    new = ha.primary_node(formation)
    assert new is not None and new != old, ha.states(formation)
    verdict = await verify(new.url(ha_database), "kill", figures)

    # The old primary comes back as a standby.
    began = time.monotonic()
    ha.restart_node(formation, old)
    rejoin = await ha.wait_for("the old primary to rejoin", lambda: ha.settled(formation), 180)
    role = ha.states(formation)[old.name]
    report(
        "primary killed",
        figures,
        {
            "lost": len(verdict.lost),
            "duplicates": len(verdict.duplicates),
            "acknowledged parts without an audit row": len(verdict.missing_audit),
            "audit chain": verdict.chain,
            "health_check primary after": after.primary,
            "old primary rejoined as": role[0],
            "old primary rejoined in (s)": round(rejoin, 1),
            "restart to rejoined (s)": round(time.monotonic() - began, 1),
        },
    )
    assert not figures.write_errors, figures.write_errors[:5]
    assert verdict.acknowledged > 0
    assert verdict.lost == [] and verdict.duplicates == [] and verdict.missing_audit == []
    assert verdict.chain_ok, verdict.chain
    outage = figures.write_outage()
    assert outage is not None and outage <= MAX_WRITE_OUTAGE, outage
    assert after.ok and after.primary == f"127.0.0.1:{new.port}", after
    assert role == ("secondary", "secondary")


async def test_a_switchover_under_load(formation: Formation, ha_database: str) -> None:
    old = ha.primary_node(formation)
    assert old is not None
    db = await open_handle(formation.url(ha_database))
    try:

        async def switch() -> None:
            await asyncio.to_thread(ha.switchover, formation)

        figures = await run_load(db, "switch", seconds=SECONDS, event_at=EVENT_AT, event=switch)
    finally:
        await db.close()
    await ha.wait_for("the formation to settle", lambda: ha.settled(formation))
    new = ha.primary_node(formation)
    assert new is not None and new != old, ha.states(formation)
    verdict = await verify(new.url(ha_database), "switch", figures)
    report(
        "switchover",
        figures,
        {
            "lost": len(verdict.lost),
            "duplicates": len(verdict.duplicates),
            "acknowledged parts without an audit row": len(verdict.missing_audit),
            "audit chain": verdict.chain,
            "switchover took (s)": round((figures.event_done_at or 0) - (figures.event_at or 0), 1),
        },
    )
    assert not figures.write_errors, figures.write_errors[:5]
    assert verdict.lost == [] and verdict.duplicates == [] and verdict.missing_audit == []
    assert verdict.chain_ok, verdict.chain
    outage = figures.write_outage()
    assert outage is not None and outage <= MAX_WRITE_OUTAGE, outage


async def test_a_standby_lost_while_the_primary_goes_on(
    formation: Formation, ha_database: str
) -> None:
    primary = ha.primary_node(formation)
    assert primary is not None
    standby = next(node for node in formation.nodes if node != primary)
    db = await open_handle(formation.url(ha_database))
    try:

        async def kill() -> None:
            ha.kill_node(standby)

        figures = await run_load(db, "standby", seconds=SECONDS, event_at=EVENT_AT, event=kill)
    finally:
        await db.close()
    assert ha.primary_node(formation) == primary, ha.states(formation)
    verdict = await verify(primary.url(ha_database), "standby", figures)
    ha.restart_node(formation, standby)
    rejoin = await ha.wait_for("the standby to rejoin", lambda: ha.settled(formation), 180)
    after_kill = [a for a in figures.acks if figures.event_at and a.acked_at > figures.event_at]
    report(
        "standby lost",
        figures,
        {
            "lost": len(verdict.lost),
            "duplicates": len(verdict.duplicates),
            "writes acknowledged after the kill": len(after_kill),
            "audit chain": verdict.chain,
            "standby rejoined in (s)": round(rejoin, 1),
        },
    )
    assert not figures.write_errors, figures.write_errors[:5]
    assert verdict.lost == [] and verdict.duplicates == [] and verdict.missing_audit == []
    assert verdict.chain_ok, verdict.chain
    assert len(after_kill) > 0
    outage = figures.write_outage()
    # The primary keeps its other synchronous standby: writes do not stop.
    assert outage is not None and outage <= 5.0, outage
