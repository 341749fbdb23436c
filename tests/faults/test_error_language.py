"""Error classes and fields do not depend on the server's language.

PostgreSQL translates its messages and details under lc_messages; the runtime
decides classes by SQLSTATE and structured fields (constraint, table, column,
schema), the statement of the generated function and the catalog. The same
failing calls against two databases of one server, Debian's PostgreSQL 15 (the
wheels carry no translations), one speaking English (lc_messages=C) and one German
(de_DE.UTF-8), give the same class and the same fields. Both are of one major, so
language is the only difference: the SQLSTATE of some failures differs by major
(a RESTRICT foreign key: 23001 on 18, 23503 before; docs/server-versions.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from chip_quality_db import DatabaseError, Pool, create_pool, load_settings, transaction
from chip_quality_queries import defects, lots, parts
from chip_quality_queries.models import DefectSeverity, DefectType, PartType
from tests.conftest import run_dbmate, with_database

from .conftest import GERMAN_LOCALE, record

Scenario = Callable[[Pool], Awaitable[object]]


def part(number: str) -> parts.CreatePartParams:
    return parts.CreatePartParams(part_number=number, part_name="lang", part_type=PartType.PCB)


async def _part_with_a_lot(pool: Pool) -> Any:
    async with transaction(pool, actor="lang") as tx:
        made = await parts.create_part(tx, part(f"PCB-LANG-{uuid4().hex[:6].upper()}"))
        assert made is not None
        await lots.create_lot(tx, lot(made.id))
    return made


def lot(part_id: Any) -> lots.CreateLotParams:
    return lots.CreateLotParams(
        lot_number=f"LOT-LANG-{uuid4().hex[:6].upper()}",
        part_id=part_id,
        production_date=date(2025, 1, 1),
        batch_size=5,
        production_line="L1",
    )


async def duplicate_part(pool: Pool) -> object:
    async with transaction(pool, actor="lang") as tx:
        await parts.create_part(tx, part("PCB-LANG-1"))
        return await parts.create_part(tx, part("PCB-LANG-1"))


async def lot_of_a_missing_part(pool: Pool) -> object:
    async with transaction(pool, actor="lang") as tx:
        return await lots.create_lot(tx, lot(uuid4()))


async def delete_a_referenced_part(pool: Pool) -> object:
    made = await _part_with_a_lot(pool)
    async with transaction(pool, actor="lang") as tx:
        return await parts.delete_part(tx, part_id=made.id)


async def part_number_breaking_its_rule(pool: Pool) -> object:
    # Built without validation: the Params model would refuse it before the server's
    # CHECK (and its translated message) could.
    unchecked = parts.CreatePartParams.model_construct(
        part_number="not a part number", part_name="lang", part_type=PartType.PCB
    )
    async with transaction(pool, actor="lang") as tx:
        return await parts.create_part(tx, unchecked)


async def nul_in_a_text_parameter(pool: Pool) -> object:
    return await parts.get_part_by_number(pool, part_number="PCB\x00")


async def integer_out_of_range(pool: Pool) -> object:
    return await lots.list_lots(pool, lots.ListLotsParams(page_size=2**70))


async def confidence_above_one(pool: Pool) -> object:
    async with transaction(pool, actor="lang") as tx:
        return await defects.create_defect(
            tx,
            # Built without validation: the Params model itself refuses 1.5 before the
            # round trip (defects_confidence_check); this asks the server.
            defects.CreateDefectParams.model_construct(
                inspection_id=uuid4(),
                defect_type=DefectType.SCRATCH,
                severity=DefectSeverity.LOW,
                location=None,
                confidence=Decimal("1.5"),
                description=None,
                detected_by="lang",
            ),
        )


async def invisible_actor_set_by_hand(pool: Pool) -> object:
    async with transaction(pool) as tx:
        await tx.execute("SELECT set_config('app.actor', $1, true)", "\u200b")
        return await parts.create_part(tx, part("PCB-LANG-3"))


SCENARIOS: list[Scenario] = [
    duplicate_part,
    lot_of_a_missing_part,
    delete_a_referenced_part,
    part_number_breaking_its_rule,
    nul_in_a_text_parameter,
    integer_out_of_range,
    confidence_above_one,
    invisible_actor_set_by_hand,
]


async def outcome(url: str, scenario: Scenario) -> tuple[object, ...]:
    pool = await create_pool(load_settings(DATABASE_URL=url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=1))
    try:
        await scenario(pool)
    except DatabaseError as error:
        assert error.__cause__ is not None
        return (
            type(error).__name__,
            error.sqlstate,
            error.constraint,
            error.table,
            error.column,
            str(error).partition(":")[0],  # the query the message names
        )
    finally:
        await pool.close()
    raise AssertionError(f"{scenario.__name__} raised nothing")


async def migrated_database(server_url: str, lc_messages: str | None) -> str:
    """A migrated database of the German server; lc_messages given: the database's own
    setting, which overrides the server's for every session in it."""
    name = f"chipq_lang_{uuid4().hex[:8]}"
    url = with_database(server_url, name)
    run_dbmate(url, "up")
    conn = await asyncpg.connect(url)
    try:
        if lc_messages is not None:
            await conn.execute(f"ALTER DATABASE {name} SET lc_messages = '{lc_messages}'")
    finally:
        await conn.close()
    return url


async def spoken(url: str) -> tuple[str, str]:
    """The database's lc_messages and the words of its division-by-zero error."""
    conn = await asyncpg.connect(url)
    try:
        with pytest.raises(asyncpg.DivisionByZeroError) as caught:
            await conn.fetchval("SELECT 1/0")
        return str(await conn.fetchval("SHOW lc_messages")), caught.value.message
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def german_db_url(german_server_url: str) -> str:
    url = await migrated_database(german_server_url, None)
    assert await spoken(url) == (GERMAN_LOCALE, "Division durch Null")
    return url


@pytest.fixture(scope="module")
async def english_db_url(german_server_url: str) -> str:
    url = await migrated_database(german_server_url, "C")
    assert await spoken(url) == ("C", "division by zero")
    return url


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
async def test_the_same_failure_gets_the_same_class_and_fields_in_german(
    english_db_url: str, german_db_url: str, scenario: Scenario
) -> None:
    english = await outcome(english_db_url, scenario)
    german = await outcome(german_db_url, scenario)
    assert german == english
    record(
        "error classes compared in",
        f"English (lc_messages=C) and German ({GERMAN_LOCALE}), one PG 15 server",
    )
