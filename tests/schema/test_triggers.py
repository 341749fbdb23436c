"""The timestamp triggers of every business table: updated_at follows real changes,
created_at never changes.

Rows are inserted with created_at = updated_at = 2000-01-01 so that an update in
the same (rolled-back) transaction shows whether the trigger moved updated_at.
"""

from __future__ import annotations

import asyncpg
import pytest

from .rows import BUSINESS_TABLES, LONG_AGO, audit_rows, create

# A real change of one column per table: (column, new value as SQL).
CHANGES = {
    "parts": ("part_name", "'Renamed board'"),
    "lots": ("notes", "'moved to line B'"),
    "inspections": ("notes", "'rechecked'"),
    "defects": ("description", "'hairline'"),
    "inference_jobs": ("priority", "9"),
    "artifacts": ("size_bytes", "2048"),
    "reports": ("title", "'Renamed report'"),
}

# Every business table's triggers: suffix -> (timing, level, function).
TRIGGERS = {
    "keep_created_at": ("BEFORE UPDATE", "ROW", "keep_created_at()"),
    "set_updated_at": ("BEFORE UPDATE", "ROW", "set_updated_at()"),
    "audit_row_change": ("AFTER INSERT OR DELETE OR UPDATE", "ROW", "audit_row_change()"),
    # TRUNCATE fires no row triggers, so it would bypass the audit trail.
    "refuse_truncate": ("BEFORE TRUNCATE", "STATEMENT", "refuse_truncate()"),
    # pg_notify at commit for the query result cache (docs/caching.md).
    "notify_cache": (
        "AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE",
        "STATEMENT",
        "notify_cache_of_write()",
    ),
}

# The tables that are not business tables: the audit trail, dbmate's own table,
# and the idempotency keys (retry bookkeeping, not audited).
OTHER_TABLES = {
    "audit_log",
    "audit_log_default",  # audit_log's partition; month partitions come with `audit maintain`
    "audit_chain_head",
    "audit_checkpoints",
    "analytics_refreshes",
    "schema_migrations",
    "idempotency_keys",
}

tables = pytest.mark.parametrize("table", BUSINESS_TABLES)


async def timestamps(conn: asyncpg.Connection, table: str, row_id: object) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"SELECT created_at, updated_at, now() AS now FROM {table} WHERE id = $1", row_id
    )
    assert row is not None
    return row


async def test_the_business_tables_are_the_tables_besides_the_audit_and_bookkeeping_tables(
    shared_conn: asyncpg.Connection,
) -> None:
    names = await shared_conn.fetchval(
        "SELECT array_agg(tablename::text) FROM pg_tables WHERE schemaname = 'public'"
    )
    assert set(names) >= OTHER_TABLES
    assert set(names) - OTHER_TABLES == set(BUSINESS_TABLES)
    assert set(CHANGES) == set(BUSINESS_TABLES)


@tables
async def test_every_business_table_has_the_timestamp_audit_and_truncate_triggers(
    shared_conn: asyncpg.Connection, table: str
) -> None:
    rows = await shared_conn.fetch(
        """
        SELECT tgname::text AS name, pg_get_triggerdef(oid) AS definition,
               tgenabled::text AS enabled
        FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal
        """,
        table,
    )
    definitions = {row["name"]: row["definition"] for row in rows}
    assert {row["enabled"] for row in rows} == {"O"}  # enabled (in origin sessions)
    assert sorted(definitions) == sorted(f"{table}_{suffix}" for suffix in TRIGGERS)
    for suffix, (timing, level, function) in TRIGGERS.items():
        definition = definitions[f"{table}_{suffix}"]
        assert f" {timing} ON public.{table} FOR EACH {level} " in definition
        assert definition.endswith(f"EXECUTE FUNCTION {function}")


async def test_audit_log_has_the_append_only_and_chain_triggers(
    shared_conn: asyncpg.Connection,
) -> None:
    rows = await shared_conn.fetch(
        """
        SELECT tgname::text AS name, pg_get_triggerdef(oid) AS definition,
               tgenabled::text AS enabled
        FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal
        """
    )
    assert {row["enabled"] for row in rows} == {"O"}
    assert {row["name"]: row["definition"] for row in rows} == {
        "audit_log_refuse_change": "CREATE TRIGGER audit_log_refuse_change"
        " BEFORE DELETE OR UPDATE ON public.audit_log"
        " FOR EACH ROW EXECUTE FUNCTION refuse_audit_log_change()",
        "audit_log_refuse_truncate": "CREATE TRIGGER audit_log_refuse_truncate"
        " BEFORE TRUNCATE ON public.audit_log"
        " FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_log_change()",
        # Moves audit_chain_head at commit, once per transaction.
        "audit_log_advance_chain": "CREATE CONSTRAINT TRIGGER audit_log_advance_chain"
        " AFTER INSERT ON public.audit_log DEFERRABLE INITIALLY DEFERRED"
        " FOR EACH ROW EXECUTE FUNCTION audit_chain_advance()",
        # pg_notify at commit for the query result cache (docs/caching.md).
        "audit_log_notify_cache": "CREATE TRIGGER audit_log_notify_cache"
        " AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.audit_log"
        " FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_of_write()",
    }


@tables
async def test_truncating_a_business_table_is_refused_even_to_a_superuser(
    tx: asyncpg.Connection, table: str
) -> None:
    row_id = await create(tx, table)

    # CASCADE: a plain TRUNCATE of a referenced table stops at the foreign keys first.
    with pytest.raises(asyncpg.RestrictViolationError, match="would bypass the audit trail"):
        async with tx.transaction():  # a savepoint
            await tx.execute(f"TRUNCATE {table} CASCADE")

    assert await tx.fetchval(f"SELECT count(*) FROM {table} WHERE id = $1", row_id) == 1


@tables
async def test_an_update_moves_updated_at_and_keeps_created_at(
    tx: asyncpg.Connection, table: str
) -> None:
    row_id = await create(tx, table, created_at=LONG_AGO, updated_at=LONG_AGO)
    column, value = CHANGES[table]

    await tx.execute(f"UPDATE {table} SET {column} = {value} WHERE id = $1", row_id)

    row = await timestamps(tx, table, row_id)
    assert row["created_at"] == LONG_AGO
    assert row["updated_at"] == row["now"] > LONG_AGO


@tables
async def test_changing_created_at_is_refused(tx: asyncpg.Connection, table: str) -> None:
    row_id = await create(tx, table)

    with pytest.raises(asyncpg.RestrictViolationError, match="created_at is immutable") as caught:
        await tx.execute(
            f"UPDATE {table} SET created_at = created_at - interval '1 day' WHERE id = $1",
            row_id,
        )
    assert caught.value.sqlstate == "23001"
    assert (caught.value.table_name, caught.value.column_name) == (table, "created_at")


async def test_setting_created_at_to_its_own_value_is_allowed(tx: asyncpg.Connection) -> None:
    row_id = await create(tx, "parts", created_at=LONG_AGO)

    status = await tx.execute(
        "UPDATE parts SET created_at = $2, part_name = 'Renamed' WHERE id = $1", row_id, LONG_AGO
    )

    assert status == "UPDATE 1"
    assert (await timestamps(tx, "parts", row_id))["created_at"] == LONG_AGO


@tables
async def test_an_update_that_changes_nothing_keeps_updated_at_and_writes_no_audit_row(
    tx: asyncpg.Connection, table: str
) -> None:
    row_id = await create(tx, table, created_at=LONG_AGO, updated_at=LONG_AGO)
    column, _ = CHANGES[table]
    assert [row["action"] for row in await audit_rows(tx, row_id)] == ["insert"]

    status = await tx.execute(f"UPDATE {table} SET {column} = {column} WHERE id = $1", row_id)

    assert status == "UPDATE 1"
    assert (await timestamps(tx, table, row_id))["updated_at"] == LONG_AGO
    assert [row["action"] for row in await audit_rows(tx, row_id)] == ["insert"]


async def test_an_explicit_updated_at_is_replaced_by_the_transaction_time(
    tx: asyncpg.Connection,
) -> None:
    row_id = await create(tx, "parts", created_at=LONG_AGO, updated_at=LONG_AGO)

    await tx.execute(
        "UPDATE parts SET updated_at = '1999-12-31T00:00:00Z', is_active = false WHERE id = $1",
        row_id,
    )

    row = await timestamps(tx, "parts", row_id)
    assert row["updated_at"] == row["now"]


async def test_updated_at_moves_in_a_later_transaction(conn: asyncpg.Connection) -> None:
    # Committed insert, then an update in its own transaction: a real clock step.
    row_id = await create(conn, "parts")
    inserted = await timestamps(conn, "parts", row_id)

    await conn.execute("UPDATE parts SET description = 'revised' WHERE id = $1", row_id)

    updated = await timestamps(conn, "parts", row_id)
    assert updated["created_at"] == inserted["created_at"]
    assert updated["updated_at"] > inserted["updated_at"]
    last = (await audit_rows(conn, row_id))[-1]
    assert last["changed_fields"] == ["description", "updated_at"]
