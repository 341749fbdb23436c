"""What PostgreSQL checks in an INSERT ... ON CONFLICT DO UPDATE, which the generator's
row checks rely on (analysis.row_values): the proposed row is checked whole, even
when the statement then updates the row it conflicts with, and the conflict's SET
values are checked with the conflicting row's other columns, never with the
proposed row's. So a Params model checks a CHECK over several columns only with
values of the proposed row (golden case `checks`, UpsertHigh)."""

from __future__ import annotations

import asyncpg
import pytest

UPSERT = (
    "INSERT INTO upsert_rows (id, high) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET low = $3"
)


@pytest.fixture
async def upsert_rows(conn: asyncpg.Connection) -> asyncpg.Connection:
    await conn.execute(
        "CREATE TEMPORARY TABLE upsert_rows (id int PRIMARY KEY, low int, high int,"
        " CONSTRAINT upsert_rows_order_check CHECK (low <= high))"
    )
    return conn


async def test_a_set_value_is_not_checked_with_the_proposed_row(
    upsert_rows: asyncpg.Connection,
) -> None:
    # Inserted: the proposed row (1, NULL, 1) passes; low = 5 would only go into a
    # conflicting row. A client check of low <= high with (5, 1) would refuse it.
    await upsert_rows.execute(UPSERT, 1, 1, 5)
    assert await upsert_rows.fetchrow("SELECT low, high FROM upsert_rows") == (None, 1)
    # Updated: low = 5 is checked with the row's own high (1), not the proposed 9.
    with pytest.raises(asyncpg.CheckViolationError):
        await upsert_rows.execute(UPSERT, 1, 9, 5)


async def test_the_proposed_row_is_checked_when_the_conflict_updates_instead(
    upsert_rows: asyncpg.Connection,
) -> None:
    await upsert_rows.execute("INSERT INTO upsert_rows VALUES (1, 0, 10)")
    with pytest.raises(asyncpg.CheckViolationError):
        await upsert_rows.execute(
            "INSERT INTO upsert_rows (id, low, high) VALUES ($1, $2, $3) "
            "ON CONFLICT (id) DO UPDATE SET low = 1",
            1,
            7,
            3,
        )
    assert await upsert_rows.fetchrow("SELECT low, high FROM upsert_rows") == (0, 10)
