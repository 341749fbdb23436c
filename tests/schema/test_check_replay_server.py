"""The generator's CHECKs are the server's: the set of (table or domain, constraint)
of pg_constraint's CHECKs after a schema equals what read_checks reads from the same
text, translated or left to the database, for the replay's own cases
(tests/unit/test_check_replay.py) and for the project's migrations.

Partitions are left out of the project's side: the migrations make them in DO blocks
(dynamic SQL, which neither sqlc nor the replay reads), and each holds copies of its
parent's CHECKs under the parent's names; the parent's are in the set.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from sqlc_gen_asyncpg.constraints import read_checks
from sqlc_gen_asyncpg.inputs import parse_schema
from tests.unit.test_check_replay import SCHEMA, _read, constraint_names

ROOT = Path(__file__).resolve().parents[2]

SERVER_CHECKS = """
SELECT coalesce(c.relname, t.typname) AS owner, k.conname
FROM pg_constraint k
LEFT JOIN pg_class c ON c.oid = k.conrelid
LEFT JOIN pg_type t ON t.oid = k.contypid
WHERE k.contype = 'c'
  AND k.connamespace = 'public'::regnamespace
  AND NOT coalesce(c.relispartition, false)
"""


async def _server_checks(url: str, schema: str | None = None) -> set[tuple[str, str]]:
    conn = await asyncpg.connect(url)
    try:
        if schema is not None:
            await conn.execute(schema)
        return {(row["owner"], row["conname"]) for row in await conn.fetch(SERVER_CHECKS)}
    finally:
        await conn.close()


async def test_the_replays_cases_leave_the_servers_checks(empty_db_url: str) -> None:
    assert await _server_checks(empty_db_url, SCHEMA) == constraint_names(_read(SCHEMA))


async def test_the_migrations_leave_the_checks_the_generator_reads(db_url: str) -> None:
    migrations = sorted((ROOT / "schema/migrations").glob("*.sql"))
    generator = constraint_names(read_checks(parse_schema(migrations)))
    assert await _server_checks(db_url) == generator
