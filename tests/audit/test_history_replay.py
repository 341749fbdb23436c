"""The audit log is a complete history: replaying it rebuilds the tables exactly.

Hypothesis drives random transactions of inserts, updates and deletes of parts
and lots through the generated query functions, each transaction with its own
actor, some committed and some rolled back, some operations refused by a
constraint inside a savepoint. Replaying the audit rows of those tables in seq
order (insert: take new_values, update: old_values must be what we have, then
take new_values, delete: old_values must be what we have, then drop it) must
give exactly the rows the tables hold, compared as to_jsonb(row).

All examples share one database; each works on its own part and lot numbers,
and the replay always covers the whole history. A scripted test does the same
for all seven audited tables, through their state transitions and a cascade.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chip_quality_db import RuleViolationError, StillReferencedError, transaction
from chip_quality_db.audit import verify_chain
from chip_quality_queries import (
    artifacts,
    defects,
    inference_jobs,
    init_connection,
    inspections,
    lots,
    parts,
    reports,
)
from chip_quality_queries.models import (
    ArtifactType,
    DefectReviewStatus,
    DefectSeverity,
    DefectType,
    LotStatus,
    PartType,
    ReportFormat,
    ReportType,
)
from tests.queries.factories import finish_inspection, make_inspection_chain, make_job

REPLAYED_TABLES = ("parts", "lots")

_examples = itertools.count(1)


class RollbackRequestedError(Exception):
    """Raised to end a transaction of the script with a rollback."""


# --- Operations -------------------------------------------------------------------------------

keys = st.integers(min_value=0, max_value=2)
# Any clean name (name_is_clean: no control, format or separator character but the
# space): quotes, backslashes, non-BMP characters (the hash covers the canonical JSON
# text, so escaping must agree between the trigger and the replay).
texts = st.text(
    alphabet=st.characters(
        codec="utf-8",
        exclude_categories=("Cs", "Cc", "Cf", "Zs", "Zl", "Zp"),
        include_characters=" ",
    ),
    min_size=1,
    max_size=24,
).filter(lambda text: text.strip(" ") != "")
json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    texts,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=3)


@dataclass(frozen=True)
class CreatePart:
    key: int
    name: str
    part_type: PartType
    specifications: dict[str, Any]


@dataclass(frozen=True)
class UpdatePart:
    key: int
    name: str | None
    description: str | None
    is_active: bool | None
    specifications: dict[str, Any] | None


@dataclass(frozen=True)
class DeletePart:
    key: int


@dataclass(frozen=True)
class CreateLot:
    key: int
    part_key: int
    batch_size: int


@dataclass(frozen=True)
class UpdateLot:
    key: int
    status: LotStatus | None
    quantity_inspected: int | None
    quantity_rejected: int | None
    notes: str | None
    metadata: dict[str, Any] | None


@dataclass(frozen=True)
class DeleteLot:
    key: int


create_part = st.builds(CreatePart, keys, texts, st.sampled_from(PartType), json_objects)
create_lot = st.builds(CreateLot, keys, keys, st.integers(min_value=1, max_value=500))
# Creations weigh double: most keys then name a row for the updates and deletes.
operations = st.one_of(
    create_part,
    create_part,
    st.builds(
        UpdatePart,
        keys,
        st.none() | texts,
        st.none() | texts,
        st.none() | st.booleans(),
        st.none() | json_objects,
    ),
    st.builds(DeletePart, keys),
    create_lot,
    create_lot,
    st.builds(
        UpdateLot,
        keys,
        st.none() | st.sampled_from(LotStatus),
        st.none() | st.integers(min_value=0, max_value=600),
        st.none() | st.integers(min_value=0, max_value=600),
        st.none() | texts,
        st.none() | json_objects,
    ),
    st.builds(DeleteLot, keys),
)


@dataclass(frozen=True)
class Transaction:
    actor: str
    commit: bool
    operations: list[Any]


transactions = st.lists(
    st.builds(
        Transaction,
        st.sampled_from(["alice", "bob@fab1", "svc:inference", "Zoë O'Brien"]),
        st.sampled_from([True, True, True, False]),  # commit, else roll back
        st.lists(operations, min_size=2, max_size=8),
    ),
    min_size=2,
    max_size=8,
)


# --- Running a script ---------------------------------------------------------------------------


@dataclass
class Ids:
    """Which part and lot each key of the script names now."""

    example: int
    parts: dict[int, UUID] = field(default_factory=dict)
    lots: dict[int, UUID] = field(default_factory=dict)

    def copy(self) -> Ids:
        return Ids(self.example, dict(self.parts), dict(self.lots))


async def apply(conn: Any, ids: Ids, op: Any) -> None:
    """One operation through the generated functions; a no-op where its key is unused."""
    if isinstance(op, CreatePart) and op.key not in ids.parts:
        part = await parts.create_part(
            conn,
            parts.CreatePartParams(
                part_number=f"HX{ids.example}-P{op.key}",
                part_name=op.name,
                part_type=op.part_type,
                specifications=op.specifications,
            ),
        )
        assert part is not None
        ids.parts[op.key] = part.id
    elif isinstance(op, UpdatePart) and op.key in ids.parts:
        await parts.update_part(
            conn,
            parts.UpdatePartParams(
                part_id=ids.parts[op.key],
                part_name=op.name,
                description=op.description,
                is_active=op.is_active,
                specifications=op.specifications,
            ),
        )
    elif isinstance(op, DeletePart) and op.key in ids.parts:
        # Refused (StillReferencedError) while the part has lots.
        assert await parts.delete_part(conn, part_id=ids.parts[op.key]) == 1
        del ids.parts[op.key]
    elif isinstance(op, CreateLot) and op.key not in ids.lots and op.part_key in ids.parts:
        lot = await lots.create_lot(
            conn,
            lots.CreateLotParams(
                lot_number=f"LOT-HX{ids.example}-L{op.key}",
                part_id=ids.parts[op.part_key],
                production_date=date(2025, 11, 3),
                batch_size=op.batch_size,
                production_line="LINE-A",
            ),
        )
        assert lot is not None
        ids.lots[op.key] = lot.id
    elif isinstance(op, UpdateLot) and op.key in ids.lots:
        # Refused when the quantities break the lot's checks: by the Params model when
        # its row check can tell (ValidationError), else by the database.
        await lots.update_lot(
            conn,
            lots.UpdateLotParams(
                lot_id=ids.lots[op.key],
                status=op.status,
                quantity_inspected=op.quantity_inspected,
                quantity_rejected=op.quantity_rejected,
                notes=op.notes,
                metadata=op.metadata,
            ),
        )
    elif isinstance(op, DeleteLot) and op.key in ids.lots:
        assert await lots.delete_lot(conn, lot_id=ids.lots[op.key]) == 1
        del ids.lots[op.key]


async def run(conn: asyncpg.Connection, ids: Ids, script: list[Transaction]) -> Ids:
    for step in script:
        before = ids.copy()
        try:
            async with transaction(conn, actor=step.actor) as tx:
                for op in step.operations:
                    attempt = ids.copy()
                    try:
                        async with transaction(tx):  # a savepoint
                            await apply(tx, attempt, op)
                    except (StillReferencedError, RuleViolationError, ValidationError) as refused:
                        event(f"refused: {type(refused).__name__}")
                        continue
                    ids = attempt
                if not step.commit:
                    raise RollbackRequestedError
        except RollbackRequestedError:
            event("rolled back")
            ids = before
    return ids


# --- Replaying the audit log --------------------------------------------------------------------


async def replay(
    conn: asyncpg.Connection, tables: tuple[str, ...] = REPLAYED_TABLES
) -> dict[str, dict[UUID, Any]]:
    state: dict[str, dict[UUID, Any]] = {table: {} for table in tables}
    rows = await conn.fetch(
        """
        SELECT table_name, record_id, action::text, old_values, new_values FROM audit_log
        WHERE table_name = ANY($1::text[]) ORDER BY seq
        """,
        list(tables),
    )
    for row in rows:
        table, record = state[row["table_name"]], row["record_id"]
        if row["action"] == "insert":
            assert record not in table, f"{record} inserted twice"
            assert row["old_values"] is None
        else:
            assert table.get(record) == row["old_values"], f"{record}: history skips a change"
        if row["action"] == "delete":
            assert row["new_values"] is None
            del table[record]
        else:
            assert row["new_values"]["id"] == str(record)
            table[record] = row["new_values"]
    return state


async def current(
    conn: asyncpg.Connection, tables: tuple[str, ...] = REPLAYED_TABLES
) -> dict[str, dict[UUID, Any]]:
    return {
        table: {
            row["id"]: row["content"]
            for row in await conn.fetch(f"SELECT id, to_jsonb(t) AS content FROM {table} AS t")
        }
        for table in tables
    }


@pytest.fixture
async def qconn(conn: asyncpg.Connection) -> asyncpg.Connection:
    """`conn` with the codecs of the generated queries (jsonb as Python data)."""
    await init_connection(conn)
    return conn


@settings(
    max_examples=25,
    deadline=None,
    database=None,  # no example database in the checkout
    # No shrinking: each attempt replays the whole history, which grows with every
    # example, so shrinking a failure would run for minutes. A failure prints the
    # script as generated (a few transactions of a few operations).
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=transactions)
async def test_replaying_the_audit_log_rebuilds_parts_and_lots_exactly(
    qconn: asyncpg.Connection, script: list[Transaction]
) -> None:
    entries = await qconn.fetchval("SELECT count(*) FROM audit_log")
    ids = await run(qconn, Ids(next(_examples)), script)

    written = await qconn.fetchval("SELECT count(*) FROM audit_log") - entries
    event(f"audit entries written: {'none' if not written else '1-5' if written <= 5 else '6+'}")
    replayed = await replay(qconn)
    assert replayed == await current(qconn)
    # What the script ended with is what the tables hold of this example.
    held = await qconn.fetchval(
        "SELECT count(*) FROM parts WHERE part_number LIKE $1", f"HX{ids.example}-P%"
    )
    assert held == len(ids.parts)
    report = await verify_chain(qconn)
    assert report.ok, str(report)


async def test_replay_notices_a_missing_entry(qconn: asyncpg.Connection) -> None:
    """The replay is strict: with one update's entry gone it no longer matches."""
    ids = await run(
        qconn,
        Ids(next(_examples)),
        [
            Transaction(
                "alice",
                True,
                [
                    CreatePart(0, "Board", PartType.PCB, {}),
                    UpdatePart(0, "Renamed", None, None, None),
                ],
            )
        ],
    )
    assert await replay(qconn) == await current(qconn)
    async with qconn.transaction():
        await qconn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_refuse_change")
        await qconn.execute(
            "DELETE FROM audit_log WHERE action = 'update' AND record_id = $1", ids.parts[0]
        )
        await qconn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_refuse_change")

    assert await replay(qconn) != await current(qconn)


ALL_AUDITED = ("parts", "lots", "inspections", "defects", "inference_jobs", "artifacts", "reports")


async def test_replay_rebuilds_all_seven_audited_tables(qconn: asyncpg.Connection) -> None:
    """Every kind of change each table sees in the platform's life (creations, partial
    updates, state transitions, deletes, a cascade, a rolled-back transaction) replays
    to exactly the rows the seven tables hold."""
    async with transaction(qconn, actor="alice") as tx:
        _, lot, inspection = await make_inspection_chain(tx)
        _, _, doomed = await make_inspection_chain(tx)
        defect_ids = []
        for target, detected_by in ((inspection, "aoi-v3"), (doomed, "aoi-v3"), (doomed, "op")):
            defect = await defects.create_defect(
                tx,
                defects.CreateDefectParams(
                    inspection_id=target.id,
                    defect_type=DefectType.SCRATCH,
                    severity=DefectSeverity.HIGH,
                    location={"x": 1.5, "die": "R1C1"},
                    confidence=Decimal("0.9100"),
                    detected_by=detected_by,
                ),
            )
            assert defect is not None
            defect_ids.append(defect.id)
        await make_job(tx, inspection_id=inspection.id)
        artifact = await artifacts.create_artifact(
            tx,
            artifacts.CreateArtifactParams(
                inspection_id=inspection.id,
                artifact_type=ArtifactType.IMAGE,
                storage_uri="s3://fab/replay.png",
                content_type="image/png",
                size_bytes=10,
                checksum_sha256=hashlib.sha256(b"replay").hexdigest(),
            ),
        )
        assert artifact is not None
        report, kept = [
            await reports.create_report(
                tx,
                reports.CreateReportParams(
                    report_type=ReportType.DEFECT_PARETO,
                    title=title,
                    format_=ReportFormat.PDF,
                    generated_by="alice",
                ),
            )
            for title in ("Week 47", "Week 48")
        ]
        assert report is not None and kept is not None
    async with transaction(qconn, actor="bob@fab1") as tx:
        await inspections.update_inspection(
            tx, inspections.UpdateInspectionParams(inspection_id=inspection.id, notes="re-run")
        )
        await finish_inspection(tx, inspection.id, passed=False)
        await defects.review_defect(
            tx,
            defects.ReviewDefectParams(
                review_status=DefectReviewStatus.RECLASSIFIED,
                reviewed_by="bob@fab1",
                reviewed_at=datetime.now(UTC),
                severity=DefectSeverity.CRITICAL,
                defect_id=defect_ids[0],
            ),
        )
        [claimed] = await inference_jobs.claim_inference_jobs(tx, worker_id="w1", max_jobs=1)
        await inference_jobs.complete_inference_job(
            tx, results={"defects": 1}, inference_ms=42, job_id=claimed.id, worker_id="w1"
        )
        await artifacts.update_artifact_metadata(
            tx,
            artifacts.UpdateArtifactMetadataParams(
                metadata={"camera": "AOI-3"}, artifact_id=artifact.id
            ),
        )
        await reports.start_report(tx, report_id=report.id)
        await reports.complete_report(tx, output_location="s3://r/47.pdf", report_id=report.id)
        await lots.set_lot_status(tx, status=LotStatus.QUARANTINED, lot_id=lot.id)
    async with transaction(qconn, actor="carol") as tx:
        assert await inspections.delete_inspection(tx, inspection_id=doomed.id) == 1  # + defects
        assert await reports.delete_report(tx, report_id=report.id) == 1
    with pytest.raises(RollbackRequestedError):
        async with transaction(qconn, actor="mallory") as tx:
            await lots.set_lot_status(tx, status=LotStatus.RELEASED, lot_id=lot.id)
            await defects.delete_defect(tx, defect_id=defect_ids[0])
            raise RollbackRequestedError

    cascaded = await qconn.fetchval(
        "SELECT count(*) FROM audit_log WHERE table_name = 'defects' AND action = 'delete'"
    )
    assert cascaded == 2  # the doomed inspection's defects, recorded as they went
    assert await replay(qconn, ALL_AUDITED) == await current(qconn, ALL_AUDITED)
    assert all((await current(qconn, ALL_AUDITED)).values())  # every table holds rows
