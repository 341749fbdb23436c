"""The audit trigger: one audit_log row per changed row, in the changing transaction,
naming the actor; audit_log itself is append-only."""

from __future__ import annotations

import os
import uuid
from datetime import date

import asyncpg
import pytest

from .rows import BUSINESS_TABLES, audit_rows, create


async def set_actor(conn: asyncpg.Connection, actor: str, session_id: str | None = None) -> None:
    """What the application does at the start of each transaction."""
    await conn.execute("SELECT set_config('app.actor', $1, true)", actor)
    if session_id is not None:
        await conn.execute("SELECT set_config('app.session_id', $1, true)", session_id)


async def test_insert_update_and_delete_of_a_part_are_audited_with_the_actor(
    conn: asyncpg.Connection,
) -> None:
    async with conn.transaction():
        await set_actor(conn, "alice", session_id="req-42")
        part_id = await create(
            conn,
            "parts",
            part_number="PCB-2025-001",
            part_name="High-Density PCB",
            specifications={"layers": 8, "thickness": "1.6mm"},
        )
        await conn.execute(
            "UPDATE parts SET part_name = 'HD PCB', is_active = false WHERE id = $1", part_id
        )
        await conn.execute("DELETE FROM parts WHERE id = $1", part_id)
        txid = await conn.fetchval("SELECT txid_current()")
        started = await conn.fetchval("SELECT now()")

    inserted, updated, deleted = await audit_rows(conn, part_id)

    for row in (inserted, updated, deleted):
        assert row["table_name"] == "parts"
        assert row["record_id"] == part_id
        assert row["actor"] == "alice"
        assert row["session_id"] == "req-42"
        assert row["txid"] == txid
        assert row["occurred_at"] == started
    assert inserted["recorded_at"] < updated["recorded_at"] < deleted["recorded_at"]

    assert inserted["action"] == "insert"
    assert inserted["old_values"] is None
    assert inserted["changed_fields"] is None
    assert inserted["new_values"]["id"] == str(part_id)
    assert inserted["new_values"]["part_number"] == "PCB-2025-001"
    assert inserted["new_values"]["part_name"] == "High-Density PCB"
    assert inserted["new_values"]["is_active"] is True
    assert inserted["new_values"]["revision"] == "A"
    assert inserted["new_values"]["specifications"] == {"layers": 8, "thickness": "1.6mm"}

    assert updated["action"] == "update"
    assert updated["old_values"]["part_name"] == "High-Density PCB"
    assert updated["old_values"]["is_active"] is True
    assert updated["new_values"]["part_name"] == "HD PCB"
    assert updated["new_values"]["is_active"] is False
    # updated_at is not among them: the transaction time did not move since the insert.
    assert updated["changed_fields"] == ["is_active", "part_name"]

    assert deleted["action"] == "delete"
    assert deleted["new_values"] is None
    assert deleted["changed_fields"] is None
    assert deleted["old_values"] == updated["new_values"]


async def test_a_rolled_back_transaction_leaves_no_audit_row(conn: asyncpg.Connection) -> None:
    transaction = conn.transaction()
    await transaction.start()
    await set_actor(conn, "alice")
    part_id = await create(conn, "parts")
    await conn.execute("UPDATE parts SET part_name = 'Renamed' WHERE id = $1", part_id)
    assert len(await audit_rows(conn, part_id)) == 2  # written, inside the transaction
    await transaction.rollback()

    assert await audit_rows(conn) == []
    assert await conn.fetchval("SELECT count(*) FROM parts") == 0


async def test_without_app_actor_the_actor_is_the_database_login(
    conn: asyncpg.Connection,
) -> None:
    login = await conn.fetchval("SELECT session_user")

    part_id = await create(conn, "parts")

    [row] = await audit_rows(conn, part_id)
    assert row["actor"] == f"db:{login}"
    assert row["session_id"] is None


async def test_a_blank_app_actor_counts_as_none(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        await set_actor(conn, "   ", session_id=" ")
        part_id = await create(conn, "parts")

    [row] = await audit_rows(conn, part_id)
    assert row["actor"] == f"db:{await conn.fetchval('SELECT session_user')}"
    assert row["session_id"] is None


async def test_app_actor_does_not_survive_into_the_next_transaction(
    conn: asyncpg.Connection,
) -> None:
    async with conn.transaction():
        await set_actor(conn, "alice", session_id="req-1")
        first = await create(conn, "parts")
    async with conn.transaction():
        second = await create(conn, "parts")

    assert [row["actor"] for row in await audit_rows(conn, first)] == ["alice"]
    [row] = await audit_rows(conn, second)
    assert row["actor"] == f"db:{await conn.fetchval('SELECT session_user')}"
    assert row["session_id"] is None


async def test_each_transaction_has_its_own_txid(conn: asyncpg.Connection) -> None:
    first = await create(conn, "parts")
    second = await create(conn, "parts")

    [one] = await audit_rows(conn, first)
    [two] = await audit_rows(conn, second)
    assert one["txid"] != two["txid"]


@pytest.mark.parametrize("table", BUSINESS_TABLES)
async def test_every_business_table_is_audited(conn: asyncpg.Connection, table: str) -> None:
    async with conn.transaction():
        await set_actor(conn, "bob")
        row_id = await create(conn, table)
        await conn.execute(f"DELETE FROM {table} WHERE id = $1", row_id)

    rows = await audit_rows(conn, row_id)
    assert [(r["table_name"], r["action"], r["actor"]) for r in rows] == [
        (table, "insert", "bob"),
        (table, "delete", "bob"),
    ]
    assert rows[1]["old_values"]["id"] == str(row_id)


async def test_a_lot_update_records_its_changed_fields(conn: asyncpg.Connection) -> None:
    lot_id = await create(conn, "lots", batch_size=500)
    async with conn.transaction():
        await set_actor(conn, "carol")
        await conn.execute(
            """
            UPDATE lots SET quantity_inspected = 200, quantity_rejected = 3,
                            production_date = $2, status = 'quarantined'
            WHERE id = $1
            """,
            lot_id,
            date(2025, 11, 5),
        )

    update = (await audit_rows(conn, lot_id))[-1]
    assert update["changed_fields"] == [
        "production_date",
        "quantity_inspected",
        "quantity_rejected",
        "status",
        "updated_at",
    ]
    assert update["old_values"]["status"] == "active"
    assert update["new_values"]["status"] == "quarantined"
    assert update["new_values"]["quantity_inspected"] == 200
    assert update["new_values"]["production_date"] == "2025-11-05"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
async def test_audit_log_refuses_changes(conn: asyncpg.Connection, statement: str) -> None:
    part_id = await create(conn, "parts")
    before = await audit_rows(conn)
    assert len(before) == 1

    with pytest.raises(asyncpg.RestrictViolationError, match="audit_log is append-only"):
        await conn.execute(statement)

    assert await audit_rows(conn) == before
    assert before[0]["record_id"] == part_id


async def test_a_role_without_audit_log_privileges_is_still_audited(
    conn: asyncpg.Connection,
) -> None:
    role = f"chipq_app_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await conn.execute(f'CREATE ROLE "{role}" NOLOGIN')
    try:
        await conn.execute(f'GRANT SELECT, INSERT, UPDATE ON parts TO "{role}"')
        async with conn.transaction():
            await conn.execute(f'SET LOCAL ROLE "{role}"')
            await set_actor(conn, "dave")
            part_id = await create(conn, "parts")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():  # a savepoint
                    await conn.execute("SELECT count(*) FROM audit_log")
            await conn.execute("UPDATE parts SET part_name = 'As app' WHERE id = $1", part_id)

        rows = await audit_rows(conn, part_id)
        assert [(row["action"], row["actor"]) for row in rows] == [
            ("insert", "dave"),
            ("update", "dave"),
        ]
    finally:
        await conn.execute(f'DROP OWNED BY "{role}"')
        await conn.execute(f'DROP ROLE "{role}"')
