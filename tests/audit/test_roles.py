"""The least-privilege roles of migration 20261125000700: what each may and may not do.

The connection is the superuser's; each check runs inside a transaction that
switches to the role with SET LOCAL ROLE and is rolled back, so the roles
(cluster-wide, created by the migration) are used as they are and never changed.
"""

from __future__ import annotations

import json

import asyncpg
import pytest

from chip_quality_db.audit import verify_chain
from chip_quality_db.audit_partitions import maintain
from tests.schema.rows import BUSINESS_TABLES, create

from .support import (
    APP,
    AUDITOR,
    CHANGES,
    MIGRATOR,
    NO_ACTOR,
    OWNER,
    REPORTING,
    ROLES,
    acting_as,
    assert_chain_intact,
    audit_count,
    audit_log_partitions,
    chain_head,
    insert_part,
    part_number,
    rolled_back,
    set_actor,
    write_parts,
)

# The roles an application, a report or an auditor logs in as.
NON_OWNER_ROLES = (APP, REPORTING, AUDITOR)
non_owner_roles = pytest.mark.parametrize("role", NON_OWNER_ROLES)

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
ALL = frozenset(PRIVILEGES)
NONE: frozenset[str] = frozenset()
READ = frozenset({"SELECT"})
READ_WRITE = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})

# The whole grant matrix: table -> role -> the privileges it has (directly, by
# membership, or as owner). "public" is every role (PUBLIC).
_BUSINESS = {
    OWNER: ALL,
    MIGRATOR: ALL,  # a member of chipq_owner
    APP: READ_WRITE,
    REPORTING: READ,
    AUDITOR: READ,
    "public": NONE,
}
EXPECTED_GRANTS: dict[str, dict[str, frozenset[str]]] = {
    **{table: _BUSINESS for table in BUSINESS_TABLES},
    "audit_log": {
        OWNER: ALL,
        MIGRATOR: ALL,
        APP: READ,
        REPORTING: NONE,
        AUDITOR: READ,
        "public": NONE,
    },
    "audit_chain_head": {
        OWNER: ALL,
        MIGRATOR: ALL,
        APP: NONE,
        REPORTING: NONE,
        AUDITOR: READ,
        "public": NONE,
    },
    # When each materialized analytics view was refreshed: readable by every role.
    "analytics_refreshes": {
        OWNER: ALL,
        MIGRATOR: ALL,
        APP: READ,
        REPORTING: READ,
        AUDITOR: READ,
        "public": NONE,
    },
    "audit_checkpoints": {
        OWNER: ALL,
        MIGRATOR: ALL,
        APP: NONE,
        REPORTING: NONE,
        AUDITOR: READ,
        "public": NONE,
    },
    "idempotency_keys": {
        OWNER: ALL,
        MIGRATOR: ALL,
        APP: READ_WRITE,
        REPORTING: NONE,
        AUDITOR: READ,
        "public": NONE,
    },
    # dbmate's bookkeeping belongs to the owner, so chipq_migrator can record migrations.
    "schema_migrations": {
        OWNER: ALL,
        MIGRATOR: ALL,
        APP: NONE,
        REPORTING: NONE,
        AUDITOR: NONE,
        "public": NONE,
    },
}

# ALTER ROLE ... SET of each role, as pg_roles.rolconfig shows it.
EXPECTED_ROLE_SETTINGS = {
    OWNER: None,
    MIGRATOR: None,
    APP: ["statement_timeout=30s", "lock_timeout=5s", "idle_in_transaction_session_timeout=60s"],
    REPORTING: [
        "statement_timeout=5min",
        "lock_timeout=5s",
        "idle_in_transaction_session_timeout=5min",
    ],
    AUDITOR: [
        "statement_timeout=15min",
        "lock_timeout=5s",
        "idle_in_transaction_session_timeout=5min",
    ],
}


async def test_the_grant_matrix_is_exactly_the_expected_one(
    shared_conn: asyncpg.Connection,
) -> None:
    # Every partition of audit_log, the default one and those maintenance makes
    # later, has exactly audit_log's grants.
    await maintain(shared_conn, months_ahead=1)
    partitions = await audit_log_partitions(shared_conn)
    assert "audit_log_default" in partitions and len(partitions) >= 3
    tables = await shared_conn.fetchval(
        "SELECT array_agg(tablename::text ORDER BY tablename) FROM pg_tables"
        " WHERE schemaname = 'public'"
    )
    expected_grants = {**EXPECTED_GRANTS, **dict.fromkeys(partitions, EXPECTED_GRANTS["audit_log"])}
    assert sorted(expected_grants) == tables, "a table without expected grants, or one too many"
    rows = await shared_conn.fetch(
        """
        SELECT t.name AS table_name, r.name AS role, p.name AS privilege,
               has_table_privilege(r.name, 'public.' || t.name, p.name) AS granted
        FROM unnest($1::text[]) AS t(name), unnest($2::text[]) AS r(name),
             unnest($3::text[]) AS p(name)
        """,
        tables,
        [*ROLES, "public"],
        list(PRIVILEGES),
    )
    actual: dict[str, dict[str, set[str]]] = {}
    for row in rows:
        privileges = actual.setdefault(row["table_name"], {}).setdefault(row["role"], set())
        if row["granted"]:
            privileges.add(row["privilege"])
    expected = {
        table: {role: set(privileges) for role, privileges in grants.items()}
        for table, grants in expected_grants.items()
    }
    assert actual == expected


async def test_all_but_the_owner_log_in_and_none_holds_a_special_attribute(
    shared_conn: asyncpg.Connection,
) -> None:
    rows = await shared_conn.fetch(
        """
        SELECT rolname::text, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb,
               rolreplication, rolbypassrls
        FROM pg_roles WHERE rolname = ANY($1::text[])
        """,
        list(ROLES),
    )
    assert sorted(row["rolname"] for row in rows) == sorted(ROLES)
    for row in rows:
        assert row["rolcanlogin"] is (row["rolname"] != OWNER), row["rolname"]
        assert list(row.values())[2:] == [False] * 5, row["rolname"]


@pytest.mark.parametrize(
    ("role", "statement_timeout"),
    [(APP, "30s"), (REPORTING, "5min"), (AUDITOR, "15min")],
)
async def test_a_session_logged_in_as_a_role_gets_its_timeouts(
    shared_conn: asyncpg.Connection, role: str, statement_timeout: str
) -> None:
    params = shared_conn._params  # the test database's address, as the fixture connected
    address = shared_conn._addr
    try:
        session = await asyncpg.connect(
            host=address[0], port=address[1], user=role, database=params.database, ssl=False
        )
    except (asyncpg.InvalidAuthorizationSpecificationError, asyncpg.InvalidPasswordError) as exc:
        pytest.skip(f"this server does not let {role} log in without a password: {exc}")
    try:
        assert await session.fetchval("SHOW statement_timeout") == statement_timeout
        assert await session.fetchval("SHOW lock_timeout") == "5s"
        assert await session.fetchval("SELECT current_user") == role
    finally:
        await session.close()


async def test_the_owner_role_cannot_log_in(shared_conn: asyncpg.Connection) -> None:
    assert (
        await shared_conn.fetchval("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", OWNER)
        is False
    )


async def test_only_the_migrator_is_a_member_of_the_owner(shared_conn: asyncpg.Connection) -> None:
    rows = await shared_conn.fetch(
        """
        SELECT member.rolname::text AS member, granted.rolname::text AS role
        FROM pg_auth_members m
        JOIN pg_roles member ON member.oid = m.member
        JOIN pg_roles granted ON granted.oid = m.roleid
        WHERE member.rolname = ANY($1::text[]) OR granted.rolname = ANY($1::text[])
        """,
        list(ROLES),
    )
    assert [(row["member"], row["role"]) for row in rows] == [(MIGRATOR, OWNER)]
    for role in NON_OWNER_ROLES:
        for powerful in (OWNER, MIGRATOR, "pg_write_all_data", "pg_read_all_data"):
            assert not await shared_conn.fetchval(
                "SELECT pg_has_role($1, $2, 'MEMBER')", role, powerful
            ), f"{role} is a member of {powerful}"


async def test_each_role_has_its_timeouts(shared_conn: asyncpg.Connection) -> None:
    rows = await shared_conn.fetch(
        "SELECT rolname::text, rolconfig FROM pg_roles WHERE rolname = ANY($1::text[])",
        list(ROLES),
    )
    assert {row["rolname"]: row["rolconfig"] for row in rows} == EXPECTED_ROLE_SETTINGS
    # The same settings, as pg_db_role_setting holds them: for every database.
    rows = await shared_conn.fetch(
        """
        SELECT r.rolname::text, s.setdatabase, s.setconfig
        FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
        WHERE r.rolname = ANY($1::text[])
        """,
        list(ROLES),
    )
    assert {row["rolname"]: (row["setdatabase"], row["setconfig"]) for row in rows} == {
        role: (0, settings) for role, settings in EXPECTED_ROLE_SETTINGS.items() if settings
    }


# --- The audit log cannot be changed -----------------------------------------------------

AUDIT_LOG_CHANGES = [
    pytest.param("UPDATE audit_log SET actor = 'mallory'", id="update"),
    pytest.param("DELETE FROM audit_log", id="delete"),
    pytest.param("TRUNCATE audit_log", id="truncate"),
    pytest.param("UPDATE audit_chain_head SET seq = 0", id="update head"),
    pytest.param(
        "INSERT INTO audit_log (table_name, record_id, action, new_values, actor, seq,"
        " prev_hash, row_hash) VALUES ('parts', gen_random_uuid(), 'insert', '{}', 'mallory',"
        " 999, sha256(''), sha256(''))",
        id="insert",
    ),
]


@pytest.fixture(scope="module")
async def audited(shared_conn: asyncpg.Connection) -> None:
    """Some committed, audited rows for the changes below to aim at."""
    await write_parts(shared_conn, "seed", 3)


@non_owner_roles
@pytest.mark.parametrize("statement", AUDIT_LOG_CHANGES)
async def test_no_role_can_change_the_audit_log(
    audited: None, shared_conn: asyncpg.Connection, role: str, statement: str
) -> None:
    before = await shared_conn.fetch("SELECT * FROM audit_log ORDER BY seq")
    head = await chain_head(shared_conn)

    async with acting_as(shared_conn, role):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await shared_conn.execute(statement)

    assert await shared_conn.fetch("SELECT * FROM audit_log ORDER BY seq") == before
    assert await chain_head(shared_conn) == head


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE audit_log SET actor = 'mallory'", id="update"),
        pytest.param("DELETE FROM audit_log", id="delete"),
        pytest.param("TRUNCATE audit_log", id="truncate"),
    ],
)
async def test_the_migrator_is_stopped_by_the_append_only_trigger(
    audited: None, shared_conn: asyncpg.Connection, statement: str
) -> None:
    # As a member of the owner it holds the privileges; the trigger still refuses.
    async with acting_as(shared_conn, MIGRATOR):
        with pytest.raises(asyncpg.RestrictViolationError, match="audit_log is append-only"):
            await shared_conn.execute(statement)


@non_owner_roles
@pytest.mark.parametrize("table", BUSINESS_TABLES)
async def test_no_role_can_truncate_a_business_table(
    shared_conn: asyncpg.Connection, role: str, table: str
) -> None:
    # Refused by privilege already; the refuse_truncate trigger stops even the owner.
    async with acting_as(shared_conn, role):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await shared_conn.execute(f"TRUNCATE {table} CASCADE")


# --- Triggers cannot be switched off ---------------------------------------------------

TRIGGER_SWITCHES = [
    pytest.param("ALTER TABLE audit_log DISABLE TRIGGER audit_log_refuse_change", id="refuse"),
    pytest.param("ALTER TABLE audit_log DISABLE TRIGGER audit_log_advance_chain", id="advance"),
    pytest.param("ALTER TABLE audit_log DISABLE TRIGGER ALL", id="all on audit_log"),
    pytest.param("ALTER TABLE parts DISABLE TRIGGER parts_audit_row_change", id="audit parts"),
    pytest.param("ALTER TABLE lots DISABLE TRIGGER lots_refuse_truncate", id="truncate lots"),
    pytest.param("ALTER TABLE parts DISABLE TRIGGER USER", id="user on parts"),
    pytest.param("DROP TRIGGER parts_audit_row_change ON parts", id="drop"),
]


@non_owner_roles
@pytest.mark.parametrize("statement", TRIGGER_SWITCHES)
async def test_no_role_can_disable_or_drop_a_trigger(
    shared_conn: asyncpg.Connection, role: str, statement: str
) -> None:
    async with acting_as(shared_conn, role):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="must be owner"):
            await shared_conn.execute(statement)


@pytest.mark.parametrize("role", [*NON_OWNER_ROLES, MIGRATOR])
@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("SET session_replication_role = replica", id="set"),
        pytest.param("SET LOCAL session_replication_role = replica", id="set local"),
        pytest.param("SELECT set_config('session_replication_role', 'replica', true)", id="func"),
    ],
)
async def test_no_role_can_turn_triggers_off_with_session_replication_role(
    shared_conn: asyncpg.Connection, role: str, statement: str
) -> None:
    async with acting_as(shared_conn, role):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="session_replication_role"):
            await shared_conn.execute(statement)
    assert await shared_conn.fetchval("SHOW session_replication_role") == "origin"


# --- No DDL ----------------------------------------------------------------------------

DDL = [
    pytest.param("CREATE TABLE public.scratch (id int)", id="create table in public"),
    pytest.param("CREATE TABLE scratch (id int)", id="create table on search_path"),
    pytest.param("CREATE VIEW public.all_parts AS SELECT * FROM parts", id="create view"),
    pytest.param(
        "CREATE FUNCTION public.noop() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        id="create function",
    ),
    pytest.param(
        "CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger LANGUAGE plpgsql"
        " AS 'BEGIN RETURN NULL; END'",
        id="replace the audit function",
    ),
    pytest.param("CREATE SCHEMA scratch", id="create schema"),
    pytest.param("ALTER TABLE parts ADD COLUMN smuggled int", id="add column"),
    pytest.param("ALTER TABLE audit_log DROP COLUMN row_hash", id="drop column"),
    pytest.param("ALTER TABLE audit_log OWNER TO chipq_app_rw", id="take ownership"),
    pytest.param(
        "CREATE TRIGGER sneaky BEFORE INSERT ON parts FOR EACH ROW"
        " EXECUTE FUNCTION set_updated_at()",
        id="create trigger",
    ),
    pytest.param("DROP TABLE parts", id="drop table"),
    pytest.param("DROP TABLE audit_log", id="drop audit_log"),
    pytest.param("DROP TABLE audit_chain_head", id="drop the head"),
    pytest.param("DROP FUNCTION audit_row_digest", id="drop the digest"),
    pytest.param("COMMENT ON TABLE audit_log IS 'mine'", id="comment"),
]


@non_owner_roles
@pytest.mark.parametrize("statement", DDL)
async def test_no_role_can_run_ddl(
    shared_conn: asyncpg.Connection, role: str, statement: str
) -> None:
    async with acting_as(shared_conn, role):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await shared_conn.execute(statement)


# --- Writes: attributed or refused ------------------------------------------------------

business_tables = pytest.mark.parametrize("table", BUSINESS_TABLES)


@business_tables
async def test_the_app_role_writes_business_tables_audited_with_its_actor(
    shared_conn: asyncpg.Connection, table: str
) -> None:
    async with acting_as(shared_conn, APP):
        await set_actor(shared_conn, "alice@fab1", session_id="req-7")
        row_id = await create(shared_conn, table)
        await shared_conn.execute(f"UPDATE {table} SET {CHANGES[table]} WHERE id = $1", row_id)
        await shared_conn.execute(f"DELETE FROM {table} WHERE id = $1", row_id)
        rows = await shared_conn.fetch(
            "SELECT action::text, actor, session_id FROM audit_log"
            " WHERE table_name = $1 AND record_id = $2 ORDER BY seq",
            table,
            row_id,
        )
        # The app role may read the audit log: it sees its own entries.
        assert [tuple(row.values()) for row in rows] == [
            ("insert", "alice@fab1", "req-7"),
            ("update", "alice@fab1", "req-7"),
            ("delete", "alice@fab1", "req-7"),
        ]


async def test_the_app_role_commits_an_audited_write_and_the_chain_stays_intact(
    conn: asyncpg.Connection,
) -> None:
    async with conn.transaction():
        await conn.execute(f"SET LOCAL ROLE {APP}")
        await set_actor(conn, "alice@fab1")
        part_id = await insert_part(conn, part_number())

    row = await conn.fetchrow(
        "SELECT actor, new_values FROM audit_log WHERE record_id = $1", part_id
    )
    assert row["actor"] == "alice@fab1"
    assert json.loads(row["new_values"])["id"] == str(part_id)
    await assert_chain_intact(conn, rows=1)


# The foreign keys of each business table: a refused insert reuses the parents of
# a row made by the superuser, so that only the row itself is written as the role.
PARENTS = {
    "parts": [],
    "lots": ["part_id"],
    "inspections": ["lot_id"],
    "defects": ["inspection_id"],
    "inference_jobs": ["inspection_id"],
    "artifacts": ["inspection_id"],
    "reports": [],
}

WRITES = {
    "insert": None,
    "update": "UPDATE {table} SET {change} WHERE id = $1",
    "delete": "DELETE FROM {table} WHERE id = $1",
}


@business_tables
@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("actor", [None, "", "   "], ids=["unset", "empty", "blank"])
async def test_the_app_role_without_an_actor_is_refused_with_cq001(
    shared_conn: asyncpg.Connection, table: str, write: str, actor: str | None
) -> None:
    async with rolled_back(shared_conn):
        row_id = await create(shared_conn, table)  # as the superuser, in this transaction
        rows = await shared_conn.fetch(f"SELECT * FROM {table} ORDER BY id")
        audit_rows = await audit_count(shared_conn)
        head = await chain_head(shared_conn)

        await shared_conn.execute(f"SET LOCAL ROLE {APP}")
        if actor is not None:
            await shared_conn.execute("SELECT set_config('app.actor', $1, true)", actor)
        with pytest.raises(asyncpg.PostgresError) as caught:
            async with shared_conn.transaction():  # a savepoint
                if write == "insert":
                    parents = await shared_conn.fetchrow(
                        f"SELECT {', '.join(PARENTS[table]) or 1} FROM {table} WHERE id = $1",
                        row_id,
                    )
                    await create(shared_conn, table, **{c: parents[c] for c in PARENTS[table]})
                else:
                    sql = WRITES[write] or ""
                    await shared_conn.execute(
                        sql.format(table=table, change=CHANGES[table]), row_id
                    )
        await shared_conn.execute("RESET ROLE")

        assert caught.value.sqlstate == NO_ACTOR
        assert f"a write to {table} must name who makes it" in str(caught.value)
        assert caught.value.table_name == table
        assert await shared_conn.fetch(f"SELECT * FROM {table} ORDER BY id") == rows
        assert await audit_count(shared_conn) == audit_rows
        assert await chain_head(shared_conn) == head


async def test_a_write_refused_for_want_of_an_actor_commits_nothing(
    conn: asyncpg.Connection,
) -> None:
    await write_parts(conn, "alice", 2)
    before = await conn.fetch("SELECT * FROM audit_log ORDER BY seq")
    head = await chain_head(conn)

    with pytest.raises(asyncpg.PostgresError) as caught:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL ROLE {APP}")
            await insert_part(conn, part_number(), name="written without an actor")
    assert caught.value.sqlstate == NO_ACTOR

    assert (
        await conn.fetchval(
            "SELECT count(*) FROM parts WHERE part_name = 'written without an actor'"
        )
        == 0
    )
    assert await conn.fetch("SELECT * FROM audit_log ORDER BY seq") == before
    assert await chain_head(conn) == head
    await assert_chain_intact(conn, rows=2)


@pytest.mark.parametrize("role", [REPORTING, AUDITOR])
@business_tables
async def test_the_read_only_roles_cannot_write_even_with_an_actor(
    shared_conn: asyncpg.Connection, role: str, table: str
) -> None:
    async with acting_as(shared_conn, role):
        await set_actor(shared_conn, "reporter")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await create(shared_conn, table)


async def test_the_migrator_may_write_without_an_actor_and_is_named_by_its_role(
    conn: asyncpg.Connection,
) -> None:
    async with conn.transaction():
        await conn.execute(f"SET LOCAL ROLE {MIGRATOR}")
        part_id = await insert_part(conn, part_number())

    actor = await conn.fetchval("SELECT actor FROM audit_log WHERE record_id = $1", part_id)
    assert actor == f"db:{MIGRATOR}"
    await assert_chain_intact(conn, rows=1)


async def test_the_superuser_may_write_without_an_actor_and_is_named_by_its_login(
    conn: asyncpg.Connection,
) -> None:
    part_id = await insert_part(conn, part_number())

    actor = await conn.fetchval("SELECT actor FROM audit_log WHERE record_id = $1", part_id)
    assert actor == f"db:{await conn.fetchval('SELECT session_user')}"


# --- Reading the chain ------------------------------------------------------------------


async def test_the_auditor_can_verify_the_chain(conn: asyncpg.Connection) -> None:
    await write_parts(conn, "alice", 3)

    await conn.execute(f"SET ROLE {AUDITOR}")
    try:
        report = await verify_chain(conn)
    finally:
        await conn.execute("RESET ROLE")

    assert report.ok, str(report)
    assert report.rows == 3


@pytest.mark.parametrize("role", [APP, REPORTING])
async def test_only_the_auditor_reads_the_chain_head(
    shared_conn: asyncpg.Connection, role: str
) -> None:
    async with acting_as(shared_conn, role):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await shared_conn.fetch("SELECT * FROM audit_chain_head")


async def test_the_reporting_role_cannot_read_the_audit_log(
    shared_conn: asyncpg.Connection,
) -> None:
    async with acting_as(shared_conn, REPORTING):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await shared_conn.fetch("SELECT * FROM audit_log")


# --- The chain's transaction-local settings -------------------------------------------------

FORGERIES = [
    pytest.param(
        [
            # Claims to hold the head already, at a position and hash of its choosing.
            "SELECT set_config('audit.chain_txid', pg_current_xact_id()::text, true),"
            " set_config('audit.chain_seq', '41', true),"
            " set_config('audit.chain_hash', repeat('ab', 32), true)",
            "INSERT INTO parts (part_number, part_name, part_type) VALUES ('FORGED-1', 'x', 'pcb')",
        ],
        id="chain position of its choosing",
    ),
    pytest.param(
        [
            "INSERT INTO parts (part_number, part_name, part_type) VALUES ('FORGED-2', 'x', 'pcb')",
            # At commit audit_log_advance_chain then finds no row "last": the head stays.
            "SELECT set_config('audit.chain_seq', '0', true)",
        ],
        id="head that never moves",
    ),
]


@pytest.mark.parametrize("statements", FORGERIES)
async def test_the_app_role_cannot_steer_the_chain_through_its_settings(
    conn: asyncpg.Connection, statements: list[str]
) -> None:
    await write_parts(conn, "alice", 2)

    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL ROLE {APP}")
            await set_actor(conn, "mallory")
            for statement in statements:
                await conn.execute(statement)
    except asyncpg.PostgresError:
        pass  # refusing the forged settings is as good as ignoring them

    await write_parts(conn, "bob", 1)  # the next honest writer still appends
    await assert_chain_intact(conn)


async def test_the_migrator_can_apply_a_migration(shared_conn: asyncpg.Connection) -> None:
    async with acting_as(shared_conn, MIGRATOR):
        await shared_conn.execute("CREATE TABLE public.migrated (id int PRIMARY KEY)")
        await shared_conn.execute("ALTER TABLE public.migrated OWNER TO chipq_owner")
        await shared_conn.execute(
            "INSERT INTO schema_migrations (version) VALUES ('29991231000000')"
        )
