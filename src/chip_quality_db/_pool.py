"""The connection pool: codecs, server settings, the reset policy, pre-ping and recycle.

Reset policy. asyncpg resets every connection it takes back with
`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`: one
round trip per release, about 40% of pool throughput under load here. This
layer keeps all session state transaction-local (`set_config(..., true)` for
the actor; no session-level SET, LISTEN, advisory locks or WITH HOLD cursors),
so that query has nothing to undo. asyncpg still rolls back any transaction left
open before our reset runs (Connection._reset), so a connection never goes back
to the pool inside a transaction. tests/runtime/test_pool.py proves that no
state leaks between users of a connection. A service that needs session state
must use `reset_policy="full"`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import asyncpg

from chip_quality_queries import init_connection

from . import _fast_checkout, _telemetry
from ._errors import (
    DatabaseError,
    UnavailableError,
    load_constraint_columns,
    mapped_errors,
    raise_mapped,
)
from ._redact import leaks, scrub
from ._settings import DatabaseSettings, SettingsError, SslMode, load_settings
from ._telemetry import tracing as _tracing


class Pool(asyncpg.Pool):
    """asyncpg's pool, remembering the settings it was made with (for `acquire`).

    Its query methods (what a generated function runs when handed the pool
    itself) take their connection through `acquire`, as `transaction()` does:
    pre-ping and recycle apply, and errors arrive as the project's. asyncpg's
    own would skip both.
    """

    settings: DatabaseSettings
    keeps_sessions = False
    """True under the transaction-local reset policy (set by `open_pool`)."""

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._run("execute", query, *args, **kwargs)

    async def executemany(self, command: str, args: Any, **kwargs: Any) -> Any:
        return await self._run("executemany", command, args, **kwargs)

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._run("fetch", query, *args, **kwargs)

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._run("fetchrow", query, *args, **kwargs)

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._run("fetchval", query, *args, **kwargs)

    async def fetchmany(self, query: str, args: Any, **kwargs: Any) -> Any:
        return await self._run("fetchmany", query, args, **kwargs)

    async def copy_records_to_table(self, table_name: str, **kwargs: Any) -> Any:
        return await self._run("copy_records_to_table", table_name, **kwargs)

    async def _initialize(self) -> None:
        await super()._initialize()  # type: ignore[misc]  # asyncpg's, untyped
        _fast_checkout.install(self)

    async def _run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        # The same steps as `acquire()`, without its context-manager machinery: this
        # is the hot path of every generated function handed the pool.
        conn = await _check_out(self)
        try:
            return await getattr(conn, method)(*args, **kwargs)
        except Exception as exc:
            raise_mapped(exc)
        finally:
            await _give_back(self, conn)


class _Connection(asyncpg.Connection):
    """asyncpg's connection, stamped with the time it was opened (for DB_POOL_RECYCLE)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.opened_at = time.monotonic()
        self.slow_query_after: float | None = None  # seconds; set from DB_SLOW_QUERY_MS


_DRIVER = asyncpg.Connection


def _observing(method: str) -> Callable[..., Any]:
    """A connection method that hands back the driver's own coroutine when nothing
    observes (no tracer provider, no slow-query threshold), else one that observes
    it. The driver's signature (*args/**kwargs): asyncpg checks the arguments."""
    driver = getattr(_DRIVER, method)

    def call(self: _ObservedConnection, query: str, *args: Any, **kwargs: Any) -> Any:
        coroutine = driver(self, query, *args, **kwargs)
        if self.slow_query_after is None and not _tracing():
            return coroutine
        return self._observed(method, query, coroutine)

    call.__name__ = method
    return call


class _ObservedConnection(_Connection):
    """A connection that puts each generated query in a span and logs it when slow
    (_telemetry.py). Its query methods are plain functions (`_observing`): no extra
    coroutine per call when nothing observes."""

    def _observed(self, method: str, query: object, call: Any) -> Any:
        if not isinstance(query, str):
            return call
        name = _telemetry.query_name(query)
        if name is None:  # not a generated query: BEGIN, a ping, hand-written SQL
            return call
        return _telemetry.observed(self, method, name, query, call, self.slow_query_after)

    execute = _observing("execute")
    executemany = _observing("executemany")
    fetch = _observing("fetch")
    fetchrow = _observing("fetchrow")
    fetchval = _observing("fetchval")

    def copy_records_to_table(self, table_name: str, **kwargs: Any) -> Any:
        call = _DRIVER.copy_records_to_table(self, table_name, **kwargs)
        if self.slow_query_after is None and not _tracing():
            return call
        # A generated :copyfrom sends no SQL; its CopyRows carries the query's.
        return self._observed("copy", getattr(kwargs.get("records"), "query", None), call)


def _connection_class(settings: DatabaseSettings) -> type[_Connection]:
    """Connections that observe generated queries, unless DB_TELEMETRY is off."""
    return _ObservedConnection if settings.telemetry else _Connection


def _initializer(
    settings: DatabaseSettings,
) -> Callable[[asyncpg.Connection], Coroutine[Any, Any, None]]:
    """The codecs every connection needs, and its slow-query threshold."""
    slow_after = None if settings.slow_query_ms is None else settings.slow_query_ms / 1000

    async def init(conn: asyncpg.Connection) -> None:
        await init_connection(conn)
        if isinstance(conn, _Connection):
            conn.slow_query_after = slow_after

    return init


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset: see the module docstring (asyncpg already rolled back)."""


def _server_settings(settings: DatabaseSettings) -> dict[str, str]:
    if settings.pgbouncer != "none":
        # PgBouncer refuses startup parameters it does not know, and a session
        # setting would not follow the client across server connections anyway:
        # the timeouts come from the role (ALTER ROLE ... SET, see the audit migration).
        return {"application_name": settings.application_name}
    return {
        "application_name": settings.application_name,
        "statement_timeout": str(settings.statement_timeout_ms),
        "idle_in_transaction_session_timeout": str(settings.idle_in_transaction_timeout_ms),
    }


def _statement_cache_size(settings: DatabaseSettings) -> int:
    """asyncpg's named prepared statements break behind PgBouncer in transaction mode
    (the next statement may reach another server connection; asyncpg issues #121,
    #339, #945): the cache is off there. PgBouncer 1.21+ with max_prepared_statements
    tracks them itself; leave DB_PGBOUNCER at none to keep the cache on."""
    return 0 if settings.pgbouncer == "transaction" else 100


def _ssl_argument(settings: DatabaseSettings) -> ssl.SSLContext | SslMode:
    """asyncpg's `ssl`: a context for verify-ca / verify-full (the root certificate, else
    the system's CAs: asyncpg alone would demand ~/.postgresql/root.crt) and for a
    client certificate; otherwise the mode name."""
    mode = settings.effective_sslmode
    rootcert, cert = settings.effective_sslrootcert, settings.effective_sslcert
    if mode not in ("verify-ca", "verify-full") and not (mode == "require" and cert):
        return mode
    try:
        context = ssl.create_default_context(cafile=rootcert)
    except OSError as exc:
        raise SettingsError(f"DB_SSLROOTCERT: cannot load {rootcert}: {exc}") from exc
    context.check_hostname = mode == "verify-full"
    if mode == "require" and not rootcert:
        context.verify_mode = ssl.CERT_NONE  # require: encryption, no verification
    if cert:
        try:
            context.load_cert_chain(cert, settings.effective_sslkey)
        except OSError as exc:
            raise SettingsError(f"DB_SSLCERT/DB_SSLKEY: cannot load {cert}: {exc}") from exc
    return context


async def create_pool(
    settings: DatabaseSettings | None = None,
    *,
    reset_policy: Literal["transaction-local", "full"] = "transaction-local",
) -> Pool:
    """A pool whose connections have the codecs the generated queries rely on."""
    settings = settings or load_settings()
    return await open_pool(settings, settings.dsn(), Pool, reset_policy)


async def open_pool(
    settings: DatabaseSettings,
    dsn: str,
    pool_class: type[Pool],
    reset_policy: Literal["transaction-local", "full"] = "transaction-local",
) -> Pool:
    """A pool of `pool_class` on `dsn` with `settings`' sizes, TLS and codecs."""
    keeps_sessions = reset_policy == "transaction-local"
    with without_secrets(settings), mapped_errors():
        # asyncpg.create_pool(...) is `Pool(...)` awaited; built directly for our subclass.
        pool = pool_class(
            dsn,
            min_size=settings.pool_size,
            max_size=settings.max_size,
            max_inactive_connection_lifetime=settings.pool_idle_lifetime,
            init=_initializer(settings),
            reset=_keep_session if keeps_sessions else None,
            connection_class=_connection_class(settings),  # type: ignore[arg-type]  # stubs tie it to the class
            server_settings=_server_settings(settings),
            ssl=_ssl_argument(settings),
            timeout=settings.pool_timeout,
            max_queries=50_000,
            statement_cache_size=_statement_cache_size(settings),
            setup=None,
            loop=None,
            connect=None,
            record_class=asyncpg.Record,
        )
        pool.settings = settings
        pool.keeps_sessions = keeps_sessions
        await pool
        async with pool.acquire() as conn:
            await load_constraint_columns(conn)
    return pool


async def connect(settings: DatabaseSettings | None = None) -> asyncpg.Connection:
    """One connection outside the pool (for tools such as the CLI), opened as the
    pool opens its own: the same TLS, server settings and codecs."""
    settings = settings or load_settings()
    with without_secrets(settings), mapped_errors():
        conn: asyncpg.Connection = await asyncpg.connect(
            settings.dsn(),
            ssl=_ssl_argument(settings),
            server_settings=_server_settings(settings),
            timeout=settings.pool_timeout,
            statement_cache_size=_statement_cache_size(settings),
            connection_class=_connection_class(settings),
        )
    await _initializer(settings)(conn)
    with mapped_errors():
        await load_constraint_columns(conn)
    return conn


@contextlib.contextmanager
def without_secrets(settings: DatabaseSettings) -> Iterator[None]:
    """Re-raise an error whose text, or that of any error chained to it, quotes a
    password of `settings` with the password masked and the chain cut."""
    try:
        yield
    except Exception as exc:
        secrets = settings.secrets()
        if not leaks(exc, secrets):
            raise
        kind = type(exc) if isinstance(exc, DatabaseError) else DatabaseError
        message = scrub(str(exc), secrets)
        raise kind(message, sqlstate=getattr(exc, "sqlstate", None)) from None


def _settings_of(pool: asyncpg.Pool) -> DatabaseSettings:
    return pool.settings if isinstance(pool, Pool) else load_settings()


def _too_old(conn: asyncpg.pool.PoolConnectionProxy, settings: DatabaseSettings) -> bool:
    opened_at = getattr(conn, "opened_at", None)
    return (
        settings.pool_recycle >= 0
        and opened_at is not None
        and time.monotonic() - opened_at > settings.pool_recycle
    )


async def _answers_ping(conn: asyncpg.pool.PoolConnectionProxy, timeout: float) -> bool:
    try:
        await conn.fetchval("SELECT 1", timeout=timeout)
    except Exception:
        # Whatever the failure (a dead socket, a timeout, or asyncpg issue 784's
        # InternalClientError on a connection broken by a restart), this one is done.
        return False
    return True


async def _discard(pool: asyncpg.Pool, conn: asyncpg.pool.PoolConnectionProxy) -> None:
    """Close a connection that failed its check and hand its slot back to the pool.

    A connection that broke may have been handed back by asyncpg already (its
    close callback releases it), and then both calls refuse: nothing is left to do.
    """
    with contextlib.suppress(asyncpg.InterfaceError):
        conn.terminate()
    with contextlib.suppress(asyncpg.InterfaceError):
        await pool.release(conn)


def _keeps_sessions(pool: asyncpg.Pool) -> bool:
    """Whether `pool` is ours with the transaction-local reset policy: a release
    has nothing to reset then (the module docstring), so it may skip asyncpg's."""
    return isinstance(pool, Pool) and pool.keeps_sessions


def _free_now(pool: asyncpg.Pool) -> bool:
    """Whether `acquire()` can return without waiting for someone's release: a slot
    is in asyncpg's queue of free ones (its `_queue`, read defensively: without it,
    every checkout is timed). A timer per checkout cost about 3% of a pool's
    throughput here."""
    queue = getattr(pool, "_queue", None)
    return isinstance(queue, asyncio.Queue) and queue.qsize() > 0


async def _check_out(pool: asyncpg.Pool) -> asyncpg.pool.PoolConnectionProxy:
    """A connection that passed DB_POOL_RECYCLE and DB_POOL_PRE_PING; a failing one
    is closed and replaced (the pool opens the replacement)."""
    settings = _settings_of(pool)
    for _ in range(pool.get_max_size() + 1):
        try:
            conn = await _fast_checkout.take(pool, settings.pool_timeout)
            if conn is None and _free_now(pool):
                # Nothing to wait for, so no timer (as in _fast_checkout.take).
                conn = await pool.acquire()
            elif conn is None:  # not our pool, or not open: asyncpg's acquire says why
                async with asyncio.timeout(settings.pool_timeout):
                    conn = await pool.acquire()
        except Exception as exc:
            raise_mapped(exc)
        try:
            usable = not _too_old(conn, settings) and (
                not settings.pool_pre_ping or await _answers_ping(conn, settings.pool_timeout)
            )
        except BaseException:
            # Cancelled during the ping: the connection must still go back.
            await pool.release(conn)
            raise
        if usable:
            return conn
        await _discard(pool, conn)
    raise UnavailableError("no working database connection could be opened")


async def _give_back(pool: asyncpg.Pool, conn: asyncpg.pool.PoolConnectionProxy) -> None:
    # Releasing a connection that broke (server restart) fails after asyncpg has
    # terminated it; the pool opens a new one. The caller's own outcome, committed
    # or raised, is what it must see, not this. (asyncpg shields release from
    # cancellation.)
    if _keeps_sessions(pool) and _fast_checkout.release_now(pool, conn):
        return
    with contextlib.suppress(Exception):
        await pool.release(conn)


@asynccontextmanager
async def acquire(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.pool.PoolConnectionProxy]:
    """A connection from the pool, checked as DB_POOL_PRE_PING and DB_POOL_RECYCLE promise.

    A connection that is too old or fails the ping is closed and replaced; the
    pool opens the replacement. Errors arrive as the project's errors.
    """
    conn = await _check_out(pool)
    try:
        with mapped_errors():
            yield conn
    finally:
        await _give_back(pool, conn)
