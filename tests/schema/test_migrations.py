"""The migrations go up, come down one at a time, and go up again to the same schema."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import asyncpg
import pytest
from pglast import ast, parse_sql
from pglast.stream import RawStream

from chip_quality_dev.migrations import Migration, read_migrations
from tests.conftest import ROOT, run_dbmate

from .catalog import Snapshot, snapshot, snapshot_of, without_migrations_table

MIGRATIONS = read_migrations(ROOT / "schema/migrations")
VERSIONS = [migration.version for migration in MIGRATIONS]
PG_ATTVER = re.compile(r"pg_attver=\d+")
TABLES = {"parts", "lots", "inspections", "defects", "inference_jobs", "artifacts", "reports"}
AUDIT_TABLES = {"audit_log", "audit_chain_head"}
# Per business table: keep_created_at, set_updated_at, audit_row_change and
# refuse_truncate; on audit_log: refuse_change, refuse_truncate and advance_chain.
# Per business table 4; audit_log 3; its default partition 3 (two row triggers
# cloned from audit_log, its own TRUNCATE refusal); audit_checkpoints 3. And the
# result cache's notify_cache (statement level, not cloned to partitions) on each
# business table, idempotency_keys, audit_log, audit_checkpoints and analytics_refreshes.
TRIGGER_COUNT = 4 * len(TABLES) + 3 + 3 + 3 + len(TABLES) + 4


def up_in_a_transaction(migration: Migration) -> str:
    """The up section, runnable inside a transaction: CREATE/DROP INDEX CONCURRENTLY
    (a transaction:false section) made plain, which leaves the same schema behind."""
    if migration.transaction:
        return migration.up
    statements = parse_sql(migration.up)
    for raw in statements:
        if isinstance(raw.stmt, ast.IndexStmt | ast.DropStmt):
            raw.stmt.concurrent = False
    return ";\n".join(RawStream()(raw) for raw in statements)


async def applied_versions(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
    finally:
        await conn.close()
    return [row["version"] for row in rows]


def relation_names(snap: Snapshot) -> set[str | None]:
    return {row[0] for row in snap["relations"]}


async def roll_back_everything(url: str) -> list[Snapshot]:
    """One `dbmate rollback` per migration file, newest first; checks that each
    removes exactly the newest applied version. Returns the snapshot after each."""
    snapshots = []
    for remaining in reversed(range(len(VERSIONS))):
        run_dbmate(url, "rollback")
        assert await applied_versions(url) == VERSIONS[:remaining]
        snapshots.append(await snapshot_of(url))
    with pytest.raises(subprocess.CalledProcessError):
        run_dbmate(url, "rollback")  # nothing left to roll back
    return snapshots


@pytest.fixture
def rollback_db_url(empty_db_url: str) -> Iterator[str]:
    """`empty_db_url` for a test that rolls migrations back; migrated up again afterwards.

    Roles are cluster-wide, and 20261125000700's down revokes chipq_owner from
    chipq_migrator for every database of the server (see
    test_rolling_back_the_audit_migration_leaves_the_cluster_wide_roles_alone):
    migrating up again grants it back before other tests rely on it.
    """
    try:
        yield empty_db_url
    finally:
        run_dbmate(empty_db_url, "up")


def test_there_are_migrations_to_test() -> None:
    assert len(VERSIONS) == 18
    assert len(set(VERSIONS)) == len(VERSIONS)
    assert sorted(VERSIONS) == VERSIONS


async def test_rolling_back_every_migration_leaves_only_schema_migrations(
    rollback_db_url: str,
) -> None:
    empty_db_url = rollback_db_url
    run_dbmate(empty_db_url, "up")
    assert await applied_versions(empty_db_url) == VERSIONS
    migrated = await snapshot_of(empty_db_url)
    assert relation_names(migrated) >= TABLES | AUDIT_TABLES

    snapshots = await roll_back_everything(empty_db_url)

    for previous, current, version in zip(
        [migrated, *snapshots[:-1]], snapshots, reversed(VERSIONS), strict=True
    ):
        assert current != previous, f"rolling back {version} removed nothing"
    empty = snapshots[-1]
    assert relation_names(empty) == {"schema_migrations", "schema_migrations_pkey"}
    assert {row[0] for row in empty["types"]} == {"schema_migrations", "_schema_migrations"}
    assert empty["functions"] == []
    assert empty["triggers"] == []
    assert [row[0] for row in empty["extensions"]] == ["plpgsql"]
    assert {row[0] for row in empty["schemas"]} == {"public"}


async def test_migrating_up_again_after_a_full_rollback_gives_an_identical_schema(
    rollback_db_url: str,
) -> None:
    empty_db_url = rollback_db_url
    run_dbmate(empty_db_url, "up")
    first = await snapshot_of(empty_db_url)
    first_dump = schema_dump(empty_db_url)
    await roll_back_everything(empty_db_url)

    run_dbmate(empty_db_url, "up")

    assert await applied_versions(empty_db_url) == VERSIONS
    second = await snapshot_of(empty_db_url)
    assert len(second["constraints"]) > 50 and len(second["triggers"]) == TRIGGER_COUNT
    for category in first:
        assert second[category] == first[category], category
    assert schema_dump(empty_db_url) == first_dump


async def test_each_rollback_restores_the_schema_as_it_was_before_that_migration(
    rollback_db_url: str,
) -> None:
    empty_db_url = rollback_db_url
    # The schema before each migration: the up sections applied one after the
    # other in one transaction, snapshot after each, then all rolled back.
    conn = await asyncpg.connect(empty_db_url)
    try:
        before: list[Snapshot] = []
        transaction = conn.transaction()
        await transaction.start()
        try:
            # As dbmate does before the first migration (migration 700 hands it over).
            await conn.execute("CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY)")
            for migration in MIGRATIONS:
                before.append(without_migrations_table(await snapshot(conn)))
                await conn.execute(up_in_a_transaction(migration))
            fully_migrated = without_migrations_table(await snapshot(conn))
        finally:
            await transaction.rollback()
    finally:
        await conn.close()

    run_dbmate(empty_db_url, "up")
    assert without_migrations_table(await snapshot_of(empty_db_url)) == fully_migrated
    snapshots = await roll_back_everything(empty_db_url)

    for version, expected, actual in zip(
        reversed(VERSIONS), reversed(before), snapshots, strict=True
    ):
        actual = without_migrations_table(actual)
        for category in expected:
            assert actual[category] == expected[category], f"after rolling back {version}"


async def test_rolling_back_the_audit_migration_leaves_the_cluster_wide_roles_alone(
    rollback_db_url: str, server_url: str
) -> None:
    run_dbmate(rollback_db_url, "up")
    while (await applied_versions(rollback_db_url))[-1] >= "20261125000700":
        run_dbmate(rollback_db_url, "rollback")

    # Asked on another database of the same server: the roles are the server's.
    admin = await asyncpg.connect(server_url)
    try:
        member = await admin.fetchval(
            "SELECT pg_has_role('chipq_migrator', 'chipq_owner', 'MEMBER')"
        )
    finally:
        await admin.close()
    assert member, "chipq_migrator lost chipq_owner in every database of the server"


def schema_dump(url: str) -> str:
    """pg_dump --schema-only of the database, by the pg_dump on PATH (`localdb run` and
    `make test-matrix` put the server's own first). One that cannot dump this server
    fails the test: a round trip compared without its dump would pass unproven."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.fail("no pg_dump on PATH: run through `make test` (localdb run puts one there)")
    result = subprocess.run(
        [pg_dump, "--schema-only", "--no-owner", url], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"{pg_dump} cannot dump this server: {result.stderr.strip()} (LOCALDB_BINDIR: "
            "point it at binaries of the server's major)"
        )
    dumped = result.stdout
    # Newer pg_dump versions fence the dump with a random \restrict key, and some
    # server builds stamp each column with a pg_attver option that differs per
    # creation: neither is part of what the migrations define.
    lines = (
        PG_ATTVER.sub("pg_attver=N", line)
        for line in dumped.splitlines()
        if not line.startswith(("\\restrict", "\\unrestrict"))
    )
    return "\n".join(lines)
