"""Concurrent rollouts: each migration applied exactly once; a blocked migration gives up."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import asyncpg
import pytest

from ..conftest import ROOT
from .conftest import record

pytestmark = pytest.mark.integration


async def dbmate(url: str, migrations: Path, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "dbmate",
        "--url",
        url,
        "--migrations-dir",
        str(migrations),
        "--no-dump-schema",
        "--migration-lock",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_two_rollouts_at_once_apply_each_migration_once(empty_db_url: str) -> None:
    migrations = ROOT / "schema/migrations"
    results = await asyncio.gather(*(dbmate(empty_db_url, migrations, "up") for _ in range(2)))
    assert [code for code, _ in results] == [0, 0], results
    applied = sum(output.count("Applied:") for _, output in results)
    conn = await asyncpg.connect(empty_db_url)
    try:
        versions = [
            r["version"]
            for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        ]
    finally:
        await conn.close()
    expected = sorted(p.name.split("_", 1)[0] for p in migrations.glob("*.sql"))
    assert versions == expected  # each once: the version is the primary key
    assert applied == len(expected)  # and each applied by one of the two rollouts
    record(
        "rollouts: migrations applied by two concurrent `migrate`",
        f"{applied} of {len(expected)}, each once",
    )


async def test_a_migration_blocked_by_a_long_transaction_fails_within_lock_timeout(
    db_url: str, tmp_path: Path
) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(ROOT / "schema/migrations", migrations)
    (migrations / "29991231000000_add_a_column.sql").write_text(
        "-- migrate:up\nSET LOCAL lock_timeout = '2s';\n"
        "ALTER TABLE parts ADD COLUMN blocked_test text;\n"
        "-- migrate:down\nALTER TABLE parts DROP COLUMN blocked_test;\n"
    )
    holder = await asyncpg.connect(db_url)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.fetch("SELECT * FROM parts LIMIT 1")  # ACCESS SHARE until the end
        started = time.perf_counter()
        code, output = await dbmate(db_url, migrations, "up")
        waited = time.perf_counter() - started
        await transaction.rollback()
    finally:
        await holder.close()
    assert code != 0 and "lock timeout" in output
    assert waited < 5
    record("rollouts: migration blocked by a long transaction gave up after", f"{waited:.1f} s")
