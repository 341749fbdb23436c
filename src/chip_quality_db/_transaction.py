"""Transactions that carry the acting user into the database for the audit trail.

    async with transaction(pool, actor="alice@fab1") as conn:
        lot = await lots.create_lot(conn, ...)
        async with transaction(conn) as inner:   # a savepoint inside the outer transaction
            ...

The actor is set with `set_config('app.actor', ..., true)`: transaction-local,
so it ends with the transaction and never leaks to the next user of the
pooled connection (see _pool.py's reset policy).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Literal, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from ._actor import check_actor
from ._cluster import Database
from ._errors import mapped_errors
from ._pool import Lender, acquire

Isolation = Literal["read_committed", "repeatable_read", "serializable"]

SET_ACTOR = "SELECT set_config('app.actor', $1, true), set_config('app.session_id', $2, true)"

AnyConnection: TypeAlias = (
    "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
)


@asynccontextmanager
async def transaction(
    db: Lender | AnyConnection,
    *,
    actor: str | None = None,
    session_id: str | None = None,
    isolation: Isolation | None = None,
    readonly: bool = False,
) -> AsyncIterator[AnyConnection]:
    """A connection inside a transaction; on a connection already in one, a savepoint.

    `db` is a pool, the cluster handle (its primary) or a connection. Commits when
    the block ends, rolls back when it raises. Errors arrive as the project's errors
    (chip_quality_db.DatabaseError and its subclasses).
    """
    if actor is not None:
        actor = check_actor(actor)  # InvalidActorError before anything reaches the database
    if isinstance(db, asyncpg.Connection | PoolConnectionProxy):
        async with _begin(db, actor, session_id, isolation, readonly):
            yield db
        return
    async with acquire(db) as conn:
        async with _begin(conn, actor, session_id, isolation, readonly):
            yield conn
        if isinstance(db, Database) and not readonly:
            # Committed: later reads in this context must see it (read-your-writes).
            await db.advance_read_floor(conn)
        cache = getattr(db, "result_cache", None)
        if cache is not None and not readonly:
            # Committed: this process's cache must have heard it before anyone reads (_cache.py).
            await cache.heard_own_writes(conn)


@asynccontextmanager
async def _begin(
    conn: AnyConnection,
    actor: str | None,
    session_id: str | None,
    isolation: Isolation | None,
    readonly: bool,
) -> AsyncIterator[None]:
    with mapped_errors():
        async with conn.transaction(isolation=isolation, readonly=readonly):
            if actor is not None or session_id is not None:
                await conn.execute(SET_ACTOR, actor or "", session_id or "")
            yield


def transaction_dependency(
    pool_getter: Callable[[], Lender],
    actor_getter: Callable[[], str | None] | None = None,
) -> Callable[[], AsyncIterator[AnyConnection]]:
    """A FastAPI-style dependency yielding a connection in a transaction.

        get_db = transaction_dependency(lambda: app.state.pool, current_user_name)
        @app.post("/lots")
        async def create(..., db = Depends(get_db)): ...

    FastAPI is not needed: the result is a plain async generator function.
    """

    async def dependency() -> AsyncIterator[AnyConnection]:
        actor = actor_getter() if actor_getter else None
        async with transaction(pool_getter(), actor=actor) as conn:
            yield conn

    return dependency
