"""The audit log's hash chain: it stays one unbroken line under concurrent writers,
savepoints and rollbacks, and every kind of tampering shows up where it happened.

Tampering is done as the superuser, with the append-only trigger switched off
for the length of one transaction (see support.tampering).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from chip_quality_db.audit import export_head, verify_chain

from .support import (
    assert_chain_intact,
    audit_count,
    chain_head,
    chain_links,
    insert_part,
    part_number,
    rehash_from,
    set_actor,
    tampering,
    write_parts,
)

WRITERS = 20
TRANSACTIONS_PER_WRITER = 50


# --- Concurrency --------------------------------------------------------------------------


async def _writer(url: str, number: int, start: asyncio.Event) -> int:
    """Many small transactions of 1-3 audited writes (inserts, updates, deletes of the
    writer's own parts); returns how many audit rows they must have left."""
    rng = random.Random(number)
    conn = await asyncpg.connect(url)
    try:
        mine: list[Any] = []
        written = 0
        await start.wait()
        for _ in range(TRANSACTIONS_PER_WRITER):
            async with conn.transaction():
                await set_actor(conn, f"writer-{number}")
                for _ in range(rng.randint(1, 3)):
                    choice = rng.random()
                    if mine and choice < 0.25:
                        await conn.execute(
                            "UPDATE parts SET part_name = $2 WHERE id = $1",
                            rng.choice(mine),
                            f"renamed {rng.random()}",
                        )
                    elif mine and choice < 0.35:
                        await conn.execute("DELETE FROM parts WHERE id = $1", mine.pop())
                    else:
                        mine.append(await insert_part(conn, part_number(f"W{number}")))
                    written += 1
        return written
    finally:
        await conn.close()


async def _verify_while_writing(url: str, done: asyncio.Event) -> list[str]:
    """verify_chain in a loop while the writers run: each snapshot must verify."""
    conn = await asyncpg.connect(url)
    failures: list[str] = []
    try:
        while not done.is_set():
            report = await verify_chain(conn)
            if not report.ok:
                failures.append(str(report))
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    return failures


async def test_concurrent_writers_leave_one_unbroken_chain(
    db_url: str, conn: asyncpg.Connection
) -> None:
    start, done = asyncio.Event(), asyncio.Event()
    writers = [asyncio.create_task(_writer(db_url, n, start)) for n in range(WRITERS)]
    verifier = asyncio.create_task(_verify_while_writing(db_url, done))
    await asyncio.sleep(0.2)  # let every writer connect, then start them together
    start.set()
    results = await asyncio.gather(*writers, return_exceptions=True)
    done.set()
    failed = [repr(result) for result in results if isinstance(result, BaseException)]
    assert failed == [], "writers failed"
    written = [result for result in results if isinstance(result, int)]

    assert await verifier == [], "a snapshot taken during the writes did not verify"
    links = await assert_chain_intact(conn, rows=sum(written))
    assert len(links) > WRITERS * TRANSACTIONS_PER_WRITER
    # The head is held from a transaction's first audited write to its commit, so
    # the rows of one transaction are consecutive.
    by_transaction: dict[int, list[int]] = {}
    for link in links:
        by_transaction.setdefault(link.txid, []).append(link.seq)
    assert len(by_transaction) == WRITERS * TRANSACTIONS_PER_WRITER
    for seqs in by_transaction.values():
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


# --- Tampering ------------------------------------------------------------------------------

ROWS = 10


@pytest.fixture
async def chained(conn: asyncpg.Connection) -> asyncpg.Connection:
    """A clean chain of ROWS entries from several transactions, actors and actions."""
    ids = await write_parts(conn, "alice", 4)  # seq 1-4
    async with conn.transaction():  # seq 5-7
        await set_actor(conn, "bob", session_id="req-5")
        await conn.execute("UPDATE parts SET part_name = 'Renamed' WHERE id = $1", ids[0])
        await conn.execute("UPDATE parts SET is_active = false WHERE id = $1", ids[1])
        await conn.execute("DELETE FROM parts WHERE id = $1", ids[2])
    await write_parts(conn, "carol", 3)  # seq 8-10
    await assert_chain_intact(conn, rows=ROWS)
    return conn


# Everything of an entry but its key and its place in the chain.
CONTENT = (
    "table_name, record_id, action, old_values, new_values, changed_fields, actor,"
    " session_id, txid, occurred_at, recorded_at"
)

TAMPERING = [
    pytest.param(
        [
            'UPDATE audit_log SET new_values = new_values || \'{"part_name": "Forged"}\''
            " WHERE seq = 5"
        ],
        5,
        id="edited new_values",
    ),
    pytest.param(["UPDATE audit_log SET actor = 'mallory' WHERE seq = 6"], 6, id="edited actor"),
    pytest.param(
        ["UPDATE audit_log SET session_id = NULL WHERE seq = 7"], 7, id="edited session_id"
    ),
    pytest.param(
        ["UPDATE audit_log SET occurred_at = occurred_at - interval '1 microsecond' WHERE seq = 2"],
        2,
        id="edited time",
    ),
    pytest.param(
        [
            "UPDATE audit_log SET action = 'delete', new_values = NULL, old_values = '{}'"
            " WHERE seq = 1"
        ],
        1,
        id="edited action of the first",
    ),
    pytest.param(
        [
            # The edited row is rehashed, so it verifies; the next one no longer follows it.
            "UPDATE audit_log SET actor = 'mallory' WHERE seq = 4",
            "UPDATE audit_log SET row_hash = audit_row_digest(prev_hash, seq, id, table_name,"
            " record_id, action, old_values, new_values, changed_fields, actor, session_id,"
            " txid, occurred_at, recorded_at) WHERE seq = 4",
        ],
        5,
        id="edited and rehashed one row",
    ),
    pytest.param(["DELETE FROM audit_log WHERE seq = 5"], 5, id="deleted a middle row"),
    pytest.param(["DELETE FROM audit_log WHERE seq = 1"], 1, id="deleted the first row"),
    pytest.param([f"DELETE FROM audit_log WHERE seq = {ROWS}"], ROWS, id="deleted the last row"),
    pytest.param(
        [
            # Renumbered to close the gap: the row after no longer follows.
            "DELETE FROM audit_log WHERE seq = 5",
            "UPDATE audit_log SET seq = seq - 1 WHERE seq > 5",
        ],
        5,
        id="deleted a row and renumbered",
    ),
    pytest.param(
        [
            f"INSERT INTO audit_log (table_name, record_id, action, new_values, actor, seq,"
            f" prev_hash, row_hash) SELECT 'parts', gen_random_uuid(), 'insert',"
            f" '{{\"part_name\": \"Forged\"}}', 'alice', seq + 1, row_hash, sha256('forged')"
            f" FROM audit_log WHERE seq = {ROWS}"
        ],
        ROWS + 1,
        id="forged row at the end",
    ),
    pytest.param(
        [
            f"INSERT INTO audit_log (table_name, record_id, action, new_values, actor, seq,"
            f" prev_hash, row_hash) SELECT 'parts', gen_random_uuid(), 'insert',"
            f" '{{\"part_name\": \"Forged\"}}', 'alice', seq + 3, row_hash, sha256('forged')"
            f" FROM audit_log WHERE seq = {ROWS}"
        ],
        ROWS + 1,
        id="forged row after a gap",
    ),
    pytest.param(
        [
            # The forged row hashes right; only the head knows the chain ended before it.
            f"INSERT INTO audit_log (table_name, record_id, action, new_values, actor, seq,"
            f" prev_hash, row_hash) SELECT 'parts', gen_random_uuid(), 'insert', '{{}}', 'alice',"
            f" seq + 1, row_hash, sha256('placeholder') FROM audit_log WHERE seq = {ROWS}",
            "UPDATE audit_log SET row_hash = audit_row_digest(prev_hash, seq, id, table_name,"
            " record_id, action, old_values, new_values, changed_fields, actor, session_id,"
            f" txid, occurred_at, recorded_at) WHERE seq = {ROWS + 1}",
        ],
        ROWS + 1,
        id="forged row at the end with a valid hash",
    ),
    pytest.param(
        [
            "UPDATE audit_chain_head SET seq = 8, last_hash = (SELECT row_hash FROM audit_log"
            " WHERE seq = 8)"
        ],
        9,
        id="head moved back",
    ),
    pytest.param(
        [
            "UPDATE audit_log SET seq = -3 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = 7",
            "UPDATE audit_log SET seq = 7 WHERE seq = -3",
        ],
        3,
        id="swapped the positions of two rows",
    ),
    pytest.param(
        [
            "CREATE TEMP TABLE original ON COMMIT DROP AS SELECT * FROM audit_log",
            f"UPDATE audit_log AS a SET ({CONTENT}) = (SELECT {CONTENT} FROM original WHERE"
            " seq = 7) WHERE a.seq = 3",
            f"UPDATE audit_log AS a SET ({CONTENT}) = (SELECT {CONTENT} FROM original WHERE"
            " seq = 3) WHERE a.seq = 7",
        ],
        3,
        id="swapped the contents of two rows",
    ),
]


@pytest.mark.parametrize(("statements", "broken_at"), TAMPERING)
async def test_tampering_is_detected_at_the_first_changed_entry(
    db_url: str, chained: asyncpg.Connection, statements: list[str], broken_at: int
) -> None:
    # The tamperer's own session (the one that wrote the chain trips over
    # test_the_owner_can_insert_an_audit_row_in_a_session_that_wrote_audited_rows).
    tamperer = await asyncpg.connect(db_url)
    try:
        async with tampering(tamperer):
            for statement in statements:
                await tamperer.execute(statement)
    finally:
        await tamperer.close()

    report = await verify_chain(chained)
    assert not report.ok
    assert report.broken_at == broken_at, report.reason


async def test_a_consistent_rewrite_of_the_tail_is_caught_only_against_an_exported_head(
    chained: asyncpg.Connection,
) -> None:
    conn = chained
    exported = await export_head(conn)
    async with tampering(conn):
        await conn.execute(
            'UPDATE audit_log SET new_values = new_values || \'{"part_name": "Forged"}\''
            " WHERE seq = 6"
        )
        await conn.execute(rehash_from(6))

    alone = await verify_chain(conn)
    assert alone.ok, "a consistent rewrite cannot be seen without an outside reference"
    assert alone.head != exported
    report = await verify_chain(conn, against=exported)
    assert not report.ok
    assert report.broken_at == exported.seq == ROWS


async def test_a_rewrite_before_an_earlier_export_is_caught_at_that_export(
    chained: asyncpg.Connection,
) -> None:
    conn = chained
    exported = await export_head(conn)  # seq 10
    await write_parts(conn, "dave", 3)  # seq 11-13, after the export
    assert (await verify_chain(conn, against=exported)).ok

    async with tampering(conn):
        await conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 8")
        await conn.execute(rehash_from(8))

    assert (await verify_chain(conn)).ok
    report = await verify_chain(conn, against=exported)
    assert report.broken_at == ROWS


async def test_a_cut_off_tail_is_caught_against_an_exported_head(
    chained: asyncpg.Connection,
) -> None:
    conn = chained
    exported = await export_head(conn)
    async with tampering(conn):
        await conn.execute("DELETE FROM audit_log WHERE seq > 7")
        await conn.execute(rehash_from(8))  # moves the head back to seq 7

    assert await chain_head(conn) == (7, (await chain_links(conn))[-1].row_hash)
    assert (await verify_chain(conn)).ok
    report = await verify_chain(conn, against=exported)
    assert report.broken_at == ROWS


async def test_an_untouched_chain_verifies_against_its_exported_head(
    chained: asyncpg.Connection,
) -> None:
    exported = await export_head(chained)
    await write_parts(chained, "erin", 2)

    report = await verify_chain(chained, against=exported)

    assert report.ok, str(report)
    assert report.rows == ROWS + 2


async def test_the_owner_can_insert_an_audit_row_in_a_session_that_wrote_audited_rows(
    chained: asyncpg.Connection,
) -> None:
    # What a reviewed repair migration would do, run by dbmate after a data migration.
    async with chained.transaction():
        await chained.execute(
            "INSERT INTO audit_log (table_name, record_id, action, new_values, actor, seq,"
            " prev_hash, row_hash) SELECT 'parts', gen_random_uuid(), 'insert', '{}', 'repair',"
            " seq + 1, row_hash, sha256('x') FROM audit_log WHERE seq = $1",
            ROWS,
        )
    assert await audit_count(chained) == ROWS + 1


# --- Savepoints, deferred and immediate constraints, rollbacks --------------------------------

# Scripts of one transaction: "write" (an audited insert), "savepoint", "rollback"
# (ROLLBACK TO and RELEASE the innermost savepoint), "release", "immediate" and
# "deferred" (SET CONSTRAINTS ALL ...).
SCRIPTS = {
    "write, rolled-back savepoint, write": "write savepoint write write rollback write",
    "first write in a rolled-back savepoint": "savepoint write rollback write write",
    "last write in a rolled-back savepoint": "write write savepoint write rollback",
    "released then rolled-back savepoint": (
        "write savepoint write release savepoint write rollback write"
    ),
    "nested savepoints": "savepoint write savepoint write rollback write release write",
    "inner released, outer rolled back": (
        "write savepoint write savepoint write release rollback write"
    ),
    "only a rolled-back savepoint": "savepoint write write rollback",
    "immediate midway": "write write immediate write savepoint write rollback deferred write",
    "immediate then rolled-back savepoint": "immediate write savepoint write write rollback",
}


def surviving_writes(script: list[str]) -> list[str]:
    """The names of the writes a script keeps, in order."""
    frames: list[list[str]] = [[]]
    for index, step in enumerate(script):
        if step == "write":
            frames[-1].append(f"step {index}")
        elif step == "savepoint":
            frames.append([])
        elif step == "rollback":
            frames.pop()
        elif step == "release":
            kept = frames.pop()
            frames[-1].extend(kept)
    assert len(frames) == 1, "the script leaves a savepoint open"
    return frames[0]


async def run_script(conn: asyncpg.Connection, script: list[str], actor: str) -> None:
    depth = 0
    async with conn.transaction():
        await set_actor(conn, actor)
        for index, step in enumerate(script):
            if step == "write":
                await insert_part(conn, part_number(), name=f"step {index}")
            elif step == "savepoint":
                depth += 1
                await conn.execute(f"SAVEPOINT s{depth}")
            elif step == "rollback":
                await conn.execute(f"ROLLBACK TO SAVEPOINT s{depth}")
                await conn.execute(f"RELEASE SAVEPOINT s{depth}")
                depth -= 1
            elif step == "release":
                await conn.execute(f"RELEASE SAVEPOINT s{depth}")
                depth -= 1
            else:
                await conn.execute(f"SET CONSTRAINTS ALL {step.upper()}")


@pytest.mark.parametrize("immediate", [False, True], ids=["deferred", "immediate"])
@pytest.mark.parametrize("script", list(SCRIPTS.values()), ids=list(SCRIPTS))
async def test_savepoints_and_constraint_timing_leave_a_valid_chain(
    conn: asyncpg.Connection, script: str, immediate: bool
) -> None:
    steps = (["immediate"] if immediate else []) + script.split()
    kept = surviving_writes(steps)
    await write_parts(conn, "before", 2)

    await run_script(conn, steps, actor="scripted")
    await write_parts(conn, "after", 2)  # the chain goes on from where the script left it

    await assert_chain_intact(conn, rows=2 + len(kept) + 2)
    rows = await conn.fetch(
        "SELECT actor, new_values ->> 'part_name' AS name FROM audit_log ORDER BY seq"
    )
    assert [row["actor"] for row in rows] == ["before"] * 2 + ["scripted"] * len(kept) + [
        "after"
    ] * 2
    assert [row["name"] for row in rows[2 : 2 + len(kept)]] == kept


async def test_an_open_audited_transaction_holds_the_head_until_it_ends(
    db_url: str, conn: asyncpg.Connection
) -> None:
    other = await asyncpg.connect(db_url)
    try:
        await other.execute("SET lock_timeout = '300ms'")
        async with conn.transaction():
            await set_actor(conn, "alice")
            await insert_part(conn, part_number())
            with pytest.raises(asyncpg.LockNotAvailableError):
                await write_parts(other, "bob", 1)
        await write_parts(other, "bob", 1)
    finally:
        await other.close()

    await assert_chain_intact(conn, rows=2)


async def test_a_rolled_back_savepoint_lets_another_writer_append_first(
    db_url: str, conn: asyncpg.Connection
) -> None:
    other = await asyncpg.connect(db_url)
    try:
        await other.execute("SET lock_timeout = '5s'")
        async with conn.transaction():
            await set_actor(conn, "alice")
            await conn.execute("SAVEPOINT s")
            await insert_part(conn, part_number())  # locks the head inside the savepoint
            await conn.execute("ROLLBACK TO SAVEPOINT s")
            await write_parts(other, "bob", 2)  # the head is free again
            await insert_part(conn, part_number())  # chains after bob's rows
    finally:
        await other.close()

    await assert_chain_intact(conn, rows=3)
    actors = await conn.fetchval("SELECT array_agg(actor ORDER BY seq) FROM audit_log")
    assert actors == ["bob", "bob", "alice"]


@pytest.mark.parametrize("ending", ["rollback", "error"])
async def test_a_rolled_back_transaction_leaves_no_audit_row_and_the_head_unchanged(
    conn: asyncpg.Connection, ending: str
) -> None:
    await write_parts(conn, "alice", 3)
    before = await chain_links(conn)
    head = await chain_head(conn)

    transaction = conn.transaction()
    await transaction.start()
    await set_actor(conn, "bob")
    for _ in range(3):
        await insert_part(conn, part_number(), name="rolled back")
    if ending == "error":
        with pytest.raises(asyncpg.UniqueViolationError):
            await insert_part(conn, "AUD-DUPLICATE")
            await insert_part(conn, "AUD-DUPLICATE")
    await transaction.rollback()

    assert await chain_links(conn) == before
    assert await chain_head(conn) == head
    assert await conn.fetchval("SELECT count(*) FROM parts WHERE part_name = 'rolled back'") == 0
    await write_parts(conn, "carol", 1)
    await assert_chain_intact(conn, rows=4)


# --- Scale ------------------------------------------------------------------------------------

LARGE = 100_000


async def test_a_clean_chain_of_100000_rows_raises_no_false_alarm(conn: asyncpg.Connection) -> None:
    started = time.monotonic()
    async with conn.transaction():
        await set_actor(conn, "bulk-loader")
        # Each row fires the audit trigger: 100,000 chained entries.
        await conn.execute(
            """
            INSERT INTO parts (part_number, part_name, part_type)
            SELECT 'BULK-' || g, 'Bulk board ' || g, 'pcb' FROM generate_series(1, $1) AS g
            """,
            LARGE,
        )
    written = time.monotonic()

    report = await verify_chain(conn)
    verified = time.monotonic()

    assert report.ok, str(report)
    assert report.rows == LARGE
    assert report.head.seq == LARGE
    await assert_chain_intact(conn, rows=LARGE)
    print(
        f"{LARGE} audited inserts {written - started:.1f} s, verified in {verified - written:.1f} s"
    )


# --- The command line -------------------------------------------------------------------------


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`chip-quality-db ARGS` with DATABASE_URL set to the test database."""
    executable = shutil.which("chip-quality-db") or str(
        Path(sys.executable).with_name("chip-quality-db")
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DB_") and key != "ENVIRONMENT"
    }
    env["DATABASE_URL"] = url
    return subprocess.run(
        [executable, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


async def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(_cli, url, *args)


async def test_the_cli_verifies_a_clean_chain_and_fails_at_the_first_broken_entry(
    db_url: str, chained: asyncpg.Connection
) -> None:
    clean = await cli(db_url, "audit", "verify")
    assert (clean.returncode, clean.stdout.strip()) == (
        0,
        f"audit chain OK: {ROWS} entries, head seq {ROWS}",
    ), clean.stderr

    async with tampering(chained):
        await chained.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 4")
    broken = await cli(db_url, "audit", "verify")

    assert broken.returncode == 1, broken.stderr
    assert broken.stdout.startswith("audit chain BROKEN at seq 4:"), broken.stdout


async def test_the_cli_exports_the_head_and_catches_a_rewrite_against_it(
    db_url: str, chained: asyncpg.Connection, tmp_path: Path
) -> None:
    exported = tmp_path / "head.json"
    export = await cli(db_url, "audit", "export-head", "--out", str(exported))
    assert export.returncode == 0, export.stderr
    written = json.loads(exported.read_text())
    assert {k: written[k] for k in ("seq", "hash")} == (await export_head(chained)).as_dict()
    assert "not signed" in export.stderr

    async with tampering(chained):
        await chained.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 6")
        await chained.execute(rehash_from(6))
    alone = await cli(db_url, "audit", "verify")
    against = await cli(db_url, "audit", "verify", "--against", str(exported))

    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert against.returncode == 1, against.stdout + against.stderr
    assert against.stdout.startswith(f"audit chain BROKEN at seq {ROWS}:"), against.stdout
