"""Every audit entry names who acted, through the runtime's transaction():
interleaved actors on shared pooled connections, no actor, session ids, times."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from chip_quality_db import (
    AuditError,
    InvalidActorError,
    Pool,
    create_pool,
    load_settings,
    transaction,
)
from chip_quality_db._actor import MAX_ACTOR_LENGTH, check_actor, forbidden_in_actor
from chip_quality_queries import parts
from chip_quality_queries.models import PartType

from .support import APP, NO_ACTOR, assert_chain_intact, audit_count, chain_head, part_number

TASKS = 30
TRANSACTIONS_PER_TASK = 3


async def _pool(db_url: str, size: int) -> Pool:
    return await create_pool(
        load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=size, DB_MAX_OVERFLOW=0)
    )


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[Pool]:
    """Three connections for thirty tasks: every connection serves many actors."""
    pool = await _pool(db_url, 3)
    yield pool
    await pool.close()


@pytest.fixture
async def one_connection_pool(db_url: str) -> AsyncIterator[Pool]:
    pool = await _pool(db_url, 1)
    yield pool
    await pool.close()


def new_part(name: str) -> parts.CreatePartParams:
    return parts.CreatePartParams(part_number=part_number(), part_name=name, part_type=PartType.PCB)


async def _act(pool: Pool, actor: str) -> set[int]:
    """A few transactions of `actor`, each naming it in the part_name it writes;
    returns the backend pids that served them."""
    pids = set()
    for round_ in range(TRANSACTIONS_PER_TASK):
        async with transaction(pool, actor=actor, session_id=f"session of {actor}") as conn:
            await conn.execute(f"SET LOCAL ROLE {APP}")  # as a service would log in
            pids.add(conn.get_server_pid())
            part = await parts.create_part(conn, new_part(f"by {actor}"))
            assert part is not None
            await asyncio.sleep(0)  # let the other tasks interleave
            if round_ % 2:
                await parts.update_part(
                    conn, parts.UpdatePartParams(part_id=part.id, part_name=f"by {actor} again")
                )
    return pids


async def test_interleaved_actors_on_shared_connections_are_never_misattributed(
    pool: Pool, conn: asyncpg.Connection
) -> None:
    actors = [f"user-{n:02d}@fab{n % 3}" for n in range(TASKS)]
    results = await asyncio.gather(*(_act(pool, actor) for actor in actors), return_exceptions=True)
    assert [repr(result) for result in results if isinstance(result, BaseException)] == []
    served = [result for result in results if isinstance(result, set)]

    assert len(set().union(*served)) <= 3
    rows = await conn.fetch("SELECT seq, actor, session_id, new_values FROM audit_log ORDER BY seq")
    assert len(rows) == TASKS * (TRANSACTIONS_PER_TASK + TRANSACTIONS_PER_TASK // 2)
    misattributed = [
        row["seq"]
        for row in rows
        if not json.loads(row["new_values"])["part_name"].startswith(f"by {row['actor']}")
        or row["session_id"] != f"session of {row['actor']}"
    ]
    assert misattributed == []
    assert {row["actor"] for row in rows} == set(actors)
    await assert_chain_intact(conn, rows=len(rows))


async def test_an_actor_never_leaks_to_the_next_transaction_on_the_connection(
    one_connection_pool: Pool, conn: asyncpg.Connection
) -> None:
    async with transaction(one_connection_pool, actor="alice", session_id="req-1") as tx:
        first = tx.get_server_pid()
        await parts.create_part(tx, new_part("by alice"))
    # The same connection, no actor: the superuser's write names the login, not alice.
    async with transaction(one_connection_pool) as tx:
        assert tx.get_server_pid() == first
        assert await tx.fetchval("SELECT current_setting('app.actor', true)") in (None, "")
        await parts.create_part(tx, new_part("by nobody"))

    rows = await conn.fetch("SELECT actor, session_id FROM audit_log ORDER BY seq")
    login = await conn.fetchval("SELECT session_user")
    assert [tuple(row.values()) for row in rows] == [("alice", "req-1"), (f"db:{login}", None)]


@pytest.mark.parametrize("session_id", [None, "req-9"], ids=["no session", "session only"])
async def test_a_write_without_an_actor_as_the_app_role_raises_audit_error(
    pool: Pool, conn: asyncpg.Connection, session_id: str | None
) -> None:
    async with transaction(pool, actor="alice") as tx:
        await parts.create_part(tx, new_part("by alice"))
    head = await chain_head(conn)

    with pytest.raises(AuditError) as caught:
        async with transaction(pool, session_id=session_id) as tx:
            await tx.execute(f"SET LOCAL ROLE {APP}")
            await parts.create_part(tx, new_part("by nobody"))

    assert caught.value.sqlstate == NO_ACTOR
    assert caught.value.table == "parts"
    assert isinstance(caught.value.__cause__, asyncpg.PostgresError)
    assert await conn.fetchval("SELECT count(*) FROM parts WHERE part_name = 'by nobody'") == 0
    assert await audit_count(conn) == 1
    assert await chain_head(conn) == head


INVISIBLE_ACTORS = ["  ", "\u200b", "\u202e\u202d", "a\u200db", "bob\u00a0", "x\ty", "\ufeffeve"]


@pytest.mark.parametrize("actor", INVISIBLE_ACTORS)
async def test_an_actor_that_names_nobody_visible_is_refused_before_the_database(
    pool: Pool, conn: asyncpg.Connection, actor: str
) -> None:
    before = await audit_count(conn)
    with pytest.raises(InvalidActorError) as caught:
        async with transaction(pool, actor=actor) as tx:
            await parts.create_part(tx, new_part("invisible"))
    assert caught.value.sqlstate == "CQ002"
    assert "actor" in str(caught.value)
    assert await audit_count(conn) == before


async def test_an_actor_longer_than_the_audit_trail_holds_is_refused_before_the_database(
    pool: Pool, conn: asyncpg.Connection
) -> None:
    """The audit log's CHECK takes 200 characters: the longest actor writes, one more is
    InvalidActorError before any SQL runs (not a CHECK violation naming a partition)."""
    longest = "é" * MAX_ACTOR_LENGTH
    async with transaction(pool, actor=longest) as tx:
        await parts.create_part(tx, new_part("longest-actor"))
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE actor = $1", longest) == 1
    before = await audit_count(conn)
    with pytest.raises(InvalidActorError, match="201 characters") as caught:
        async with transaction(pool, actor=longest + "x") as tx:
            await parts.create_part(tx, new_part("too-long-actor"))
    assert caught.value.sqlstate == "CQ002"
    assert await audit_count(conn) == before


@pytest.mark.parametrize("actor", INVISIBLE_ACTORS[1:])  # blank is "no actor": CQ001's rule
async def test_the_database_refuses_them_too_when_set_by_hand(pool: Pool, actor: str) -> None:
    with pytest.raises(InvalidActorError) as caught:
        async with transaction(pool) as tx:
            await tx.execute("SELECT set_config('app.actor', $1, true)", actor)
            await parts.create_part(tx, new_part("by-hand"))
    assert caught.value.sqlstate == "CQ002"
    assert caught.value.table == "parts"


async def test_the_runtime_and_the_database_apply_one_rule(conn: asyncpg.Connection) -> None:
    """Every code point the runtime refuses in an actor, both SQL functions refuse (the
    audit trigger's audit_actor_is_readable and the name CHECKs' name_is_clean), and a
    spread of others (letters of many scripts, symbols, emoji) all three accept."""
    storable = [c for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    forbidden = [chr(c) for c in storable if forbidden_in_actor(chr(c))]
    allowed = [chr(c) for c in storable[0x20::97] if not forbidden_in_actor(chr(c))]
    verdicts = await conn.fetch(
        "SELECT c, audit_actor_is_readable('a' || c || 'b') AS actor_ok,"
        " name_is_clean('a' || c || 'b') AS name_ok FROM unnest($1::text[]) AS c",
        forbidden + allowed,
    )
    assert {r["c"] for r in verdicts if not r["actor_ok"]} == set(forbidden)
    assert {r["c"] for r in verdicts if not r["name_ok"]} == set(forbidden)
    assert len(forbidden) > 200


def runtime_accepts(actor: str) -> bool:
    try:
        check_actor(actor)
    except InvalidActorError:
        return False
    return True


async def test_the_three_agree_on_whole_names(conn: asyncpg.Connection) -> None:
    """Blank or not, each character alone and amid spaces: the runtime's check_actor,
    audit_actor_is_readable and name_is_clean give one verdict for every string."""
    storable = [chr(c) for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    singles = [c for c in storable if forbidden_in_actor(c) or c.isspace()] + storable[::251]
    names = ["", " ", "   ", "a", " a ", "a b", *singles, *(f" {c} " for c in singles)]
    rows = await conn.fetch(
        "SELECT n, audit_actor_is_readable(n) AS actor_ok, name_is_clean(n) AS name_ok"
        " FROM unnest($1::text[]) AS n",
        names,
    )
    disagreements = [
        (f"{r['n']!r}", runtime_accepts(r["n"]), r["actor_ok"], r["name_ok"])
        for r in rows
        if not runtime_accepts(r["n"]) == r["actor_ok"] == r["name_ok"]
    ]
    assert disagreements == []
    assert sum(1 for r in rows if r["name_ok"]) > 100  # the spread was not all refused


async def test_the_actor_is_stored_in_nfc(
    one_connection_pool: Pool, conn: asyncpg.Connection
) -> None:
    decomposed = "Jose\u0301 Mu\u0308ller"  # "José Müller" with combining accents
    async with transaction(one_connection_pool, actor=decomposed) as tx:
        await parts.create_part(tx, new_part("nfc"))
    async with transaction(one_connection_pool) as tx:  # raw set_config skips the runtime
        await tx.execute("SELECT set_config('app.actor', $1, true)", decomposed)
        await parts.create_part(tx, new_part("nfc-raw"))
    actors = await conn.fetch("SELECT DISTINCT actor FROM audit_log")
    assert [r["actor"] for r in actors] == ["Jos\u00e9 M\u00fcller"]


async def test_the_session_id_is_recorded_and_ends_with_its_transaction(
    one_connection_pool: Pool, conn: asyncpg.Connection
) -> None:
    async with transaction(one_connection_pool, actor="alice", session_id="req-42") as tx:
        await parts.create_part(tx, new_part("first"))
        async with transaction(tx) as inner:  # a savepoint keeps the transaction's settings
            await parts.create_part(inner, new_part("second"))
    async with transaction(one_connection_pool, actor="alice") as tx:
        await parts.create_part(tx, new_part("third"))

    rows = await conn.fetch("SELECT actor, session_id FROM audit_log ORDER BY seq")
    assert [row["session_id"] for row in rows] == ["req-42", "req-42", None]
    assert {row["actor"] for row in rows} == {"alice"}


async def test_occurred_at_is_the_transaction_start_and_recorded_at_the_wall_clock(
    pool: Pool, conn: asyncpg.Connection
) -> None:
    async with transaction(pool, actor="alice") as tx:
        started = await tx.fetchval("SELECT now()")
        txid = await tx.fetchval("SELECT pg_current_xact_id()::text::bigint")
        for n in range(3):
            await asyncio.sleep(0.02)
            before = await tx.fetchval("SELECT clock_timestamp()")
            await parts.create_part(tx, new_part(f"write {n}"))
            after = await tx.fetchval("SELECT clock_timestamp()")
            row = await tx.fetchrow(
                "SELECT occurred_at, recorded_at FROM audit_log ORDER BY seq DESC LIMIT 1"
            )
            assert row["occurred_at"] == started
            assert before <= row["recorded_at"] <= after

    rows = await conn.fetch("SELECT occurred_at, recorded_at, txid FROM audit_log ORDER BY seq")
    assert [row["occurred_at"] for row in rows] == [started] * 3
    assert {row["txid"] for row in rows} == {txid}
    recorded = [row["recorded_at"] for row in rows]
    assert recorded == sorted(recorded) and len(set(recorded)) == 3
    # Each write came at least one sleep after the transaction started.
    assert all((at - started).total_seconds() >= 0.02 * (n + 1) for n, at in enumerate(recorded))
