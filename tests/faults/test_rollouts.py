"""Rollouts under contention: `make migrate` (chip_quality_dev.migrate) applies each
migration once when two run at once, even with a concurrent index build among them;
gives up on a lock within its lock_timeout, retries, then names the blocking session;
and reports the INVALID index an interrupted concurrent build leaves."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from chip_quality_dev.migrate import MigrateError, Settings, apply

from ..conftest import ROOT
from .conftest import record

# An index on an existing table, built the way the rule asks: its own transaction:false
# migration, one statement.
CONCURRENT_INDEX = """-- An index built CONCURRENTLY on a table earlier migrations made.
-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY defects_detected_by_test_idx ON defects (detected_by);
-- migrate:down
DROP INDEX defects_detected_by_test_idx;
"""


async def migrate(url: str, migrations: Path, **environment: str) -> tuple[int, str]:
    """`make migrate` without the schema dump: its return code and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chip_quality_dev.migrate",
        "--no-dump",
        env={
            **os.environ,
            "DATABASE_URL": url,
            "DBMATE_MIGRATIONS_DIR": str(migrations),
            **environment,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=ROOT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


def migrations_with(tmp_path: Path, **extra: str) -> Path:
    """The project's migrations plus `extra` ({file stem: text}) in a folder of the test's."""
    folder = tmp_path / "migrations"
    shutil.copytree(ROOT / "schema/migrations", folder)
    for stem, text in extra.items():
        (folder / f"{stem}.sql").write_text(text)
    return folder


async def versions(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
    finally:
        await conn.close()
    return [row["version"] for row in rows]


async def test_two_rollouts_at_once_apply_each_migration_once(
    empty_db_url: str, tmp_path: Path
) -> None:
    # With dbmate's own --migration-lock, the rollout waiting for the lock holds a
    # snapshot that the concurrent build waits out: PostgreSQL fails one of them.
    migrations = migrations_with(tmp_path, **{"29991231000000_index": CONCURRENT_INDEX})
    results = await asyncio.gather(*(migrate(empty_db_url, migrations) for _ in range(2)))
    assert [code for code, _ in results] == [0, 0], results
    applied = sum(output.count("migrate: applied ") for _, output in results)
    expected = sorted(path.name.split("_", 1)[0] for path in migrations.glob("*.sql"))
    assert await versions(empty_db_url) == expected  # each once: the version is the key
    assert applied == len(expected)  # and each applied by one of the two rollouts
    record(
        "rollouts: migrations applied by two concurrent `migrate`",
        f"{applied} of {len(expected)}, each once, a concurrent index build among them",
    )


# What a migration's session runs with, kept in a table for the test to read.
SESSION_SETTINGS = """-- The settings `make migrate` gives a migration's session.
-- migrate:up transaction:false
CREATE TABLE migrate_session_settings AS SELECT
  current_setting('lock_timeout') AS lock_timeout,
  current_setting('max_parallel_maintenance_workers') AS maintenance_workers;
-- migrate:down
DROP TABLE migrate_session_settings;
"""


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, ("5s", "0")),
        ({"MIGRATE_LOCK_TIMEOUT": "2s", "MIGRATE_MAINTENANCE_WORKERS": "2"}, ("2s", "2")),
    ],
)
async def test_a_migration_session_has_a_lock_timeout_and_no_parallel_index_build_workers(
    db_url: str, tmp_path: Path, environment: dict[str, str], expected: tuple[str, str]
) -> None:
    """Even in a transaction:false section, which cannot SET them: an index build under
    live traffic takes one core unless MIGRATE_MAINTENANCE_WORKERS says otherwise."""
    migrations = migrations_with(tmp_path, **{"29991231000000_settings": SESSION_SETTINGS})
    code, output = await migrate(db_url, migrations, **environment)
    assert code == 0, output
    conn = await asyncpg.connect(db_url)
    try:
        row = await conn.fetchrow("SELECT * FROM migrate_session_settings")
    finally:
        await conn.close()
    assert row is not None
    assert (row["lock_timeout"], row["maintenance_workers"]) == expected


async def test_a_migration_blocked_by_a_long_transaction_is_retried_then_names_the_blocker(
    db_url: str, tmp_path: Path
) -> None:
    migrations = migrations_with(
        tmp_path,
        **{
            "29991231000000_add_a_column": (
                "-- migrate:up\nALTER TABLE parts ADD COLUMN blocked_test text;\n"
                "-- migrate:down\nALTER TABLE parts DROP COLUMN blocked_test;\n"
            )
        },
    )
    holder = await asyncpg.connect(db_url, server_settings={"application_name": "long-report"})
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.fetch("SELECT * FROM parts LIMIT 1")  # ACCESS SHARE until the end
        blocker = holder.get_server_pid()
        started = time.perf_counter()
        code, output = await migrate(
            db_url,
            migrations,
            MIGRATE_LOCK_TIMEOUT="500ms",
            MIGRATE_RETRIES="2",
            MIGRATE_BACKOFF="0.2",
        )
        waited = time.perf_counter() - started
        await transaction.rollback()
    finally:
        await holder.close()
    assert code == 1, output
    assert output.count("lock not granted within its lock_timeout") == 2, output
    assert "MIGRATE_LOCK_TIMEOUT=500ms) for a lock in each of 3 attempts" in output
    assert f"pid {blocker} (user postgres, application long-report" in output
    assert "SELECT * FROM parts LIMIT 1" in output
    assert "29991231000000" not in await versions(db_url)
    # Three waits of 0.5 s and backoffs of 0.2 s and 0.4 s, plus dbmate's start-ups.
    assert waited < 8
    record("rollouts: migration blocked by a long transaction gave up after", f"{waited:.1f} s")


async def test_a_migration_whose_blocker_finishes_during_the_backoff_is_applied(
    db_url: str, tmp_path: Path
) -> None:
    migration = (
        migrations_with(
            tmp_path,
            **{
                "29991231000000_add_a_column": (
                    "-- migrate:up\nALTER TABLE lots ADD COLUMN retried_test text;\n"
                    "-- migrate:down\nALTER TABLE lots DROP COLUMN retried_test;\n"
                )
            },
        )
        / "29991231000000_add_a_column.sql"
    )
    holder = await asyncpg.connect(db_url)
    messages: list[str] = []
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.fetch("SELECT * FROM lots LIMIT 1")

        async def finish_later() -> None:
            while not any("retry 1 of" in message for message in messages):
                await asyncio.sleep(0.05)
            await transaction.rollback()

        finisher = asyncio.create_task(finish_later())
        applied = await apply(
            db_url,
            [migration],
            Settings(lock_timeout="300ms", retries=3, backoff=0.5),
            log=messages.append,
        )
        await finisher
    finally:
        await holder.close()
    assert [a.attempts for a in applied] == [2], messages
    # Sampled every 0.2 s: it saw the first attempt wait, and whom for.
    assert applied[0].longest_lock_wait > 0
    assert [session.query for session in applied[0].blockers] == ["SELECT * FROM lots LIMIT 1"]
    assert "29991231000000" in await versions(db_url)


async def test_a_migration_failed_to_break_a_deadlock_is_tried_again(
    db_url: str, tmp_path: Path
) -> None:
    """The migration locks deadlock_a then deadlock_b; a service's transaction holds
    deadlock_b and asks for deadlock_a. PostgreSQL fails the migration (its deadlock
    check runs after 1 s, the other session's after 30 s): rolled back whole, it is
    tried again once the other transaction is done, and applied."""
    migration = (
        migrations_with(
            tmp_path,
            **{
                "29991231000000_two_locks": (
                    "-- migrate:up\nLOCK TABLE deadlock_a IN ACCESS EXCLUSIVE MODE;\n"
                    "SELECT pg_sleep(0.3);\n"
                    "LOCK TABLE deadlock_b IN ACCESS EXCLUSIVE MODE;\n"
                    "ALTER TABLE deadlock_a ADD COLUMN migrated boolean;\n"
                    "-- migrate:down\nALTER TABLE deadlock_a DROP COLUMN migrated;\n"
                )
            },
        )
        / "29991231000000_two_locks.sql"
    )
    service = await asyncpg.connect(db_url)
    messages: list[str] = []
    try:
        await service.execute("CREATE TABLE deadlock_a (id int); CREATE TABLE deadlock_b (id int)")
        transaction = service.transaction()
        await transaction.start()
        await service.execute("SET LOCAL deadlock_timeout = '30s'")
        await service.execute("LOCK TABLE deadlock_b IN ACCESS EXCLUSIVE MODE")

        async def take_a_once_the_migration_has_it() -> None:
            while not await service.fetchval(
                "SELECT EXISTS (SELECT FROM pg_locks WHERE relation = 'deadlock_a'::regclass"
                " AND granted AND pid <> pg_backend_pid())"
            ):
                await asyncio.sleep(0.02)
            await service.execute("LOCK TABLE deadlock_a IN ACCESS EXCLUSIVE MODE")
            await transaction.commit()  # granted once the migration was failed

        service_side = asyncio.create_task(take_a_once_the_migration_has_it())
        applied = await apply(
            db_url,
            [migration],
            Settings(lock_timeout="10s", retries=3, backoff=0.5),
            log=messages.append,
        )
        await service_side
    finally:
        await service.close()
    assert [a.attempts for a in applied] == [2], messages
    assert any("failed to break a deadlock" in message for message in messages), messages
    assert "29991231000000" in await versions(db_url)


async def test_an_interrupted_concurrent_build_is_reported_with_what_to_do(
    db_url: str, tmp_path: Path
) -> None:
    # A unique index over duplicate values fails after its catalog entry is made:
    # what a cancelled or timed-out concurrent build leaves behind, an INVALID index.
    migration = (
        migrations_with(
            tmp_path,
            **{
                "29991231000000_unique_line": (
                    "-- migrate:up transaction:false\n"
                    "CREATE UNIQUE INDEX CONCURRENTLY lots_production_line_test_key"
                    " ON lots (production_line);\n"
                    "-- migrate:down\nDROP INDEX lots_production_line_test_key;\n"
                )
            },
        )
        / "29991231000000_unique_line.sql"
    )
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "SET app.actor = 'rollout-test';"
            "INSERT INTO parts (part_number, part_name, part_type) VALUES ('PCB-1', 'b', 'pcb');"
            "INSERT INTO lots (lot_number, part_id, production_date, batch_size, production_line)"
            " SELECT 'LOT-' || g, (SELECT id FROM parts), '2026-01-01', 10, 'LINE-A'"
            " FROM generate_series(1, 2) AS g"
        )
        with pytest.raises(MigrateError) as failure:
            await apply(db_url, [migration], Settings(retries=3), log=lambda _: None)
        message = str(failure.value)
        assert "could not create unique index" in message
        assert "1 INVALID index(es)" in message
        assert "DROP INDEX CONCURRENTLY lots_production_line_test_key;   -- on lots" in message
        # Following the advice clears it; the migration is not recorded as applied.
        await conn.execute("DROP INDEX CONCURRENTLY lots_production_line_test_key")
        assert "29991231000000" not in await versions(db_url)
    finally:
        await conn.close()
