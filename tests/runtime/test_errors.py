"""Each driver error a service can meet arrives as the project's error, naming what broke."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from uuid import uuid4

import asyncpg
import pytest

from chip_quality_db import (
    AlreadyExistsError,
    DatabaseError,
    IntegrityError,
    MissingReferenceError,
    Pool,
    QueryTimeoutError,
    RetryableError,
    RuleViolationError,
    StillReferencedError,
    UnavailableError,
    acquire,
    create_pool,
    load_settings,
    transaction,
)
from chip_quality_db._connections import connect
from chip_quality_queries import defects, lots, parts
from chip_quality_queries.models import DefectSeverity, DefectType, PartType


def part_params(number: str = "PCB-E-001") -> parts.CreatePartParams:
    return parts.CreatePartParams(part_number=number, part_name="Err", part_type=PartType.PCB)


async def test_unique_violation_names_constraint_and_column(pool: Pool) -> None:
    async with transaction(pool, actor="t") as conn:
        await parts.create_part(conn, part_params())
    with pytest.raises(AlreadyExistsError) as caught:
        async with transaction(pool, actor="t") as conn:
            await parts.create_part(conn, part_params())
    assert caught.value.constraint == "parts_part_number_key"
    assert caught.value.column == "part_number"
    assert "part_number" in str(caught.value)
    assert isinstance(caught.value.__cause__, asyncpg.UniqueViolationError)


async def test_missing_and_still_referenced_rows(pool: Pool) -> None:
    from datetime import date
    from uuid import uuid4

    lot = lots.CreateLotParams(
        lot_number="LOT-E-1",
        part_id=uuid4(),
        production_date=date(2025, 1, 1),
        batch_size=5,
        production_line="L1",
    )
    with pytest.raises(MissingReferenceError) as missing:
        async with transaction(pool, actor="t") as conn:
            await lots.create_lot(conn, lot)
    assert missing.value.constraint == "lots_part_id_fkey"
    assert missing.value.column == "part_id"

    async with transaction(pool, actor="t") as conn:
        part = await parts.create_part(conn, part_params())
        assert part is not None
        await lots.create_lot(conn, lot.model_copy(update={"part_id": part.id}))
    with pytest.raises(StillReferencedError) as referenced:
        async with transaction(pool, actor="t") as conn:
            await parts.delete_part(conn, part_id=part.id)
    assert referenced.value.constraint == "lots_part_id_fkey"
    assert "lots" in str(referenced.value)
    # The server says it two ways: a RESTRICT action is restrict_violation since 18.
    restrict_sqlstate = (
        "23001" if int(await pool.fetchval("SHOW server_version_num")) >= 180000 else "23503"
    )
    assert referenced.value.sqlstate == restrict_sqlstate


async def test_check_not_null_and_bad_values_are_rule_violations(pool: Pool) -> None:
    # The Params model refuses a bad number first; built without validation, the
    # database's CHECK refuses it and the error names the constraint.
    unchecked = parts.CreatePartParams.model_construct(
        part_number="bad number", part_name="Err", part_type=PartType.PCB
    )
    with pytest.raises(RuleViolationError) as check:
        async with transaction(pool, actor="t") as conn:
            await parts.create_part(conn, unchecked)
    assert check.value.constraint == "parts_part_number_check"
    # The rule in the project's words (its definition), never the server's sentence.
    assert "CHECK (((part_number ~ " in str(check.value)
    assert "violates" not in str(check.value)
    with pytest.raises(RuleViolationError) as not_null:
        async with transaction(pool, actor="t") as conn:
            await conn.execute("INSERT INTO parts (part_number, part_type) VALUES ('PCB-X', 'pcb')")
    assert not_null.value.column == "part_name"
    with pytest.raises(RuleViolationError, match="a value is invalid"):
        async with transaction(pool, actor="t") as conn:
            await conn.execute("SELECT 'nope'::part_type")


async def test_serialization_failure_is_retryable(db_url: str) -> None:
    pool = await create_pool(load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=2))
    try:
        async with transaction(pool, actor="t") as conn:
            part = await parts.create_part(conn, part_params())
            assert part is not None
        first_read = asyncio.Event()

        async def bump(name: str) -> None:
            async with transaction(pool, actor=name, isolation="serializable") as conn:
                await conn.fetchval("SELECT revision FROM parts WHERE id = $1", part.id)
                first_read.set()
                await asyncio.sleep(0.1)
                await conn.execute("UPDATE parts SET revision = $2 WHERE id = $1", part.id, name)

        results = await asyncio.gather(bump("B"), bump("C"), return_exceptions=True)
        errors = [r for r in results if isinstance(r, Exception)]
        assert len(errors) == 1 and isinstance(errors[0], RetryableError), results
    finally:
        await pool.close()


async def test_statement_timeout_is_a_query_timeout(pool: Pool) -> None:
    with pytest.raises(QueryTimeoutError):
        async with transaction(pool, actor="t") as conn:
            await conn.execute("SET LOCAL statement_timeout = 50")
            await conn.execute("SELECT pg_sleep(2)")


async def test_a_killed_connection_is_unavailable(pool: Pool, conn: asyncpg.Connection) -> None:
    with pytest.raises(UnavailableError):
        async with acquire(pool) as pooled:
            pid = pooled.get_server_pid()
            await conn.execute("SELECT pg_terminate_backend($1)", pid)
            await pooled.fetchval("SELECT 1")


async def test_an_exhausted_pool_times_out_as_unavailable(db_url: str) -> None:
    pool = await create_pool(
        load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0, DB_POOL_TIMEOUT=0.2)
    )
    try:
        async with acquire(pool):
            with pytest.raises(UnavailableError, match="pool timeout"):
                async with acquire(pool):
                    pass
    finally:
        await pool.close()


async def test_an_artifact_with_a_wrong_checksum_is_refused(pool: Pool, tmp_path: object) -> None:
    from pathlib import Path

    from chip_quality_db import ChecksumMismatchError, register_artifact, sha256_of
    from chip_quality_queries import artifacts, inspections
    from chip_quality_queries.models import ArtifactType, InspectionType

    file = Path(str(tmp_path)) / "scan.png"
    file.write_bytes(b"\x89PNG fake image")
    async with transaction(pool, actor="t") as conn:
        part = await parts.create_part(conn, part_params())
        assert part is not None
        from datetime import date

        lot = await lots.create_lot(
            conn,
            lots.CreateLotParams(
                lot_number="LOT-A-1",
                part_id=part.id,
                production_date=date(2025, 1, 1),
                batch_size=5,
                production_line="L1",
            ),
        )
        assert lot is not None
        inspection = await inspections.create_inspection(
            conn,
            inspections.CreateInspectionParams(
                lot_id=lot.id, inspection_type=InspectionType.VISUAL
            ),
        )
        assert inspection is not None
    params = artifacts.CreateArtifactParams(
        inspection_id=inspection.id,
        artifact_type=ArtifactType.IMAGE,
        storage_uri="s3://b/scan.png",
        content_type="image/png",
        size_bytes=15,
        checksum_sha256="a" * 64,
    )
    with pytest.raises(ChecksumMismatchError, match="does not match"):
        async with transaction(pool, actor="t") as conn:
            await register_artifact(conn, params, file)
    assert await artifacts.count_artifacts(pool) == 0
    good = params.model_copy(update={"checksum_sha256": sha256_of(file)})
    async with transaction(pool, actor="t") as conn:
        stored = await register_artifact(conn, good, file)
    assert stored.checksum_sha256 == sha256_of(file)


async def test_require_turns_a_missing_row_into_not_found(pool: Pool) -> None:
    from uuid import uuid4

    from chip_quality_db import NotFoundError, require

    missing = uuid4()
    with pytest.raises(NotFoundError, match=f"part {missing} does not exist"):
        require(await parts.get_part(pool, part_id=missing), "part", missing)
    async with transaction(pool, actor="t") as conn:
        created = await parts.create_part(conn, part_params())
    assert created is not None
    found = require(await parts.get_part(pool, part_id=created.id), "part", created.id)
    assert found.id == created.id


# -- every failure names its query and parameter (issue: errors that explain themselves)


def nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(depth):
        value = {"n": value}
    return value


def defect_row(**changes: object) -> defects.IngestDefectsParams:
    row = defects.IngestDefectsParams(
        inspection_id=uuid4(),
        defect_type=DefectType.SCRATCH,
        severity=DefectSeverity.LOW,
        location={"x": 1},
        confidence=Decimal("0.5"),
        description=None,
        detected_by="test",
    )
    return row._replace(**changes)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        # Refused by the column's rules as the row is read (numeric(5,4) overflows; a
        # NaN breaks confidence <= 1), before the driver would fail to encode it.
        ("confidence", Decimal("NaN")),
        ("confidence", Decimal("1E+1000000")),
        ("inspection_id", "not-a-uuid"),
        ("description", "\ud800"),
        ("location", nested(300)),
    ],
)
@pytest.mark.parametrize("where", ["pool", "transaction"])
async def test_a_value_copy_cannot_encode_names_the_query_column_and_row(
    pool: Pool, where: str, column: str, value: object
) -> None:
    rows = [defect_row(), defect_row(**{column: value})]
    with pytest.raises(RuleViolationError) as caught:
        if where == "pool":
            await defects.ingest_defects(pool, rows)
        else:
            async with transaction(pool, actor="t") as conn:
                await defects.ingest_defects(conn, rows)
    message = str(caught.value)
    assert message.startswith("ingest_defects: parameter ")
    assert f"parameter {column} of row 1" in message
    assert caught.value.column == column
    assert caught.value.__cause__ is not None


async def test_a_value_a_bind_cannot_encode_names_the_parameter_not_its_number(
    pool: Pool,
) -> None:
    with pytest.raises(RuleViolationError) as caught:
        await lots.list_lots(pool, lots.ListLotsParams(page_size=2**70))
    message = str(caught.value)
    assert message.startswith("list_lots: parameter page_size cannot be sent")
    assert "int64" in message
    assert "$" not in message and "None" not in message


async def test_batch_rows_name_the_parameter_and_the_row(pool: Pool) -> None:
    rows = [defect_row(), defect_row(detected_by="\udfff")]
    with pytest.raises(RuleViolationError) as caught:
        async with transaction(pool, actor="t") as conn:
            await defects.insert_defects(conn, rows)
    assert "insert_defects: parameter detected_by of row 1" in str(caught.value)


async def test_server_side_value_errors_name_the_parameter(pool: Pool) -> None:
    with pytest.raises(RuleViolationError) as caught:
        await parts.get_part_by_number(pool, part_number="nul\x00byte")
    assert str(caught.value).startswith("get_part_by_number: parameter part_number is invalid")
    assert caught.value.sqlstate == "22021"


async def test_unique_violations_name_the_column_from_the_catalog(pool: Pool) -> None:
    async with transaction(pool, actor="t") as conn:
        await parts.create_part(conn, part_params("PCB-CAT-1"))
    with pytest.raises(AlreadyExistsError) as caught:
        await parts.create_part(pool, part_params("PCB-CAT-1"))
    assert caught.value.column == "part_number"
    assert str(caught.value).startswith("create_part: ")


async def test_a_unique_violation_of_a_constraint_nobody_read_says_these_values(
    pool: Pool,
) -> None:
    """A constraint created after the pool read the catalog: its column is not known
    (only the server's translated detail names it), and the sentence says so."""
    async with transaction(pool, actor="t") as conn:
        await conn.execute("CREATE TABLE later_codes (code text UNIQUE)")
        await conn.execute("INSERT INTO later_codes VALUES ('a')")
    with pytest.raises(AlreadyExistsError) as caught:
        async with transaction(pool, actor="t") as conn:
            await conn.execute("INSERT INTO later_codes VALUES ('a')")
    assert caught.value.column is None
    assert str(caught.value) == (
        "a row on later_codes with these values already exists (later_codes_code_key)"
    )


async def test_a_foreign_key_violation_from_hand_written_sql_is_an_integrity_error(
    pool: Pool,
) -> None:
    """Without a generated function, nothing says which side of the key moved: the
    class is the common parent, never a guess from the message text."""
    with pytest.raises(IntegrityError) as caught:
        async with transaction(pool, actor="t") as conn:
            await conn.execute(
                "INSERT INTO lots (lot_number, part_id, production_date, batch_size,"
                " production_line) VALUES ('LOT-RAW-1', $1, '2025-01-01', 1, 'L1')",
                uuid4(),
            )
    assert type(caught.value) is IntegrityError
    assert caught.value.constraint == "lots_part_id_fkey"
    assert caught.value.column == "part_id"


async def test_a_generated_function_on_a_plain_connection_raises_project_errors(
    db_url: str,
) -> None:
    conn = await connect(load_settings(DATABASE_URL=db_url))
    try:
        with pytest.raises(RuleViolationError, match="list_lots: parameter page_size"):
            await lots.list_lots(conn, lots.ListLotsParams(page_size=-(2**64)))
    finally:
        await conn.close()


async def test_a_change_a_trigger_forbids_is_a_rule_violation(pool: Pool) -> None:
    async with transaction(pool, actor="t") as conn:
        made = await parts.create_part(conn, part_params("PCB-IMM-1"))
    assert made is not None
    with pytest.raises(RuleViolationError) as caught:
        async with transaction(pool, actor="t") as conn:
            await conn.execute(
                "UPDATE parts SET created_at = created_at - interval '1 day' WHERE id = $1", made.id
            )
    assert caught.value.sqlstate == "23001"
    assert caught.value.column == "created_at"
    assert "not allowed" in str(caught.value)


async def test_a_row_its_sql_always_yields_but_a_trigger_suppressed_is_a_project_error(
    pool: Pool,
) -> None:
    async with transaction(pool, actor="t") as conn:
        await conn.execute(
            "CREATE FUNCTION swallow() RETURNS trigger LANGUAGE plpgsql"
            " AS $$BEGIN RETURN NULL; END$$;"
            " CREATE TRIGGER swallow BEFORE INSERT ON parts FOR EACH ROW EXECUTE FUNCTION swallow()"
        )
    with pytest.raises(DatabaseError, match="create_part: the query yielded no row"):
        async with transaction(pool, actor="t") as conn:
            await parts.create_part(conn, part_params("PCB-GONE-1"))
