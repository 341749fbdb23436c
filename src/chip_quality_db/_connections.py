"""Opening one connection as the pool, the cluster handle and the CLI all open theirs:
TLS, server settings, the statement cache, the codecs, and the connection class.

The connection class is asyncpg's, subclassed through `connect(connection_class=)`,
its public way to add to a connection: it remembers when it was opened (for
DB_POOL_RECYCLE), where it is connected (for telemetry, which asyncpg does not
say publicly), and whether its user registered listeners (the pool then resets it
before anyone else gets it). With DB_TELEMETRY on, its query methods also put
each generated query in a span (_telemetry.py).
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

import asyncpg

from chip_quality_queries import init_connection

from . import _telemetry
from ._errors import DatabaseError, UnavailableError, load_constraint_columns, mapped_errors
from ._redact import leaks, scrub
from ._settings import DatabaseSettings, SettingsError, SslMode, load_settings
from ._telemetry import tracing

ResetPolicy = Literal["transaction-local", "full"]

if TYPE_CHECKING:
    _Driver = asyncpg.Connection[asyncpg.Record]
else:
    _Driver = asyncpg.Connection


@dataclass(frozen=True, slots=True)
class Address:
    """Where a connection goes, as its DSN says (telemetry's server.address, .port and
    db.namespace). A DSN naming several hosts leaves host and port unknown: which one
    asyncpg chose is not in its public API."""

    host: str | None
    port: int | None
    database: str | None


def address_of(dsn: str) -> Address:
    parts = urlsplit(dsn)
    netloc = parts.netloc.rpartition("@")[2]
    database = unquote(parts.path.lstrip("/")) or None
    if "," in netloc or not netloc:
        return Address(None, None, database)
    try:
        port = parts.port or 5432
    except ValueError:
        port = None
    return Address(parts.hostname, port, database)


def hosts_of(dsn: str) -> str:
    """The host:port list of a DSN, for messages ("127.0.0.1:5432, 10.0.0.2:5432")."""
    hosts = urlsplit(dsn).netloc.rpartition("@")[2]
    if not hosts:
        return "the server the URL's parameters name"
    return ", ".join(h if ":" in h.rpartition("]")[2] else f"{h}:5432" for h in hosts.split(","))


class Connection(_Driver):
    """An asyncpg connection of this layer (see the module docstring)."""

    # Set by `open_connection` right after connecting; class defaults for the rest.
    opened_at: float = 0.0
    idle_since: float = 0.0  # monotonic time it last went back to the pool
    slow_query_after: float | None = None  # seconds; from DB_SLOW_QUERY_MS
    address: Address = Address(None, None, None)
    needs_reset = False  # a listener was added: the pool resets it on return
    retired = False  # its server turned read-only (a demoted primary): closed on return
    keeps_session_state = False  # the transaction-local reset policy (_pool.py)

    def get_settings_value(self, name: str) -> str | None:
        """A server parameter as the server last reported it (ParameterStatus), or None."""
        value = getattr(self.get_settings(), name, None)
        return value if isinstance(value, str) else None

    def get_reset_query(self) -> str:
        # Connection.reset() (asyncpg 0.30+) runs what this returns after rolling back
        # an open transaction. Under the transaction-local policy there is no session
        # state to undo, so nothing is sent beyond that rollback.
        return "" if self.keeps_session_state else super().get_reset_query()

    async def add_listener(self, channel: str, callback: Any) -> None:
        self.needs_reset = True
        await super().add_listener(channel, callback)

    def add_log_listener(self, callback: Any) -> None:
        self.needs_reset = True
        super().add_log_listener(callback)


def _observing(method: str) -> Callable[..., Any]:
    """A connection method that hands back the driver's own coroutine when nothing
    observes (no tracer provider, no slow-query threshold), else one that observes
    it. The driver's signature (*args/**kwargs): asyncpg checks the arguments."""
    driver = getattr(asyncpg.Connection, method)

    def call(self: ObservedConnection, query: str, *args: Any, **kwargs: Any) -> Any:
        coroutine = driver(self, query, *args, **kwargs)
        if self.slow_query_after is None and not tracing():
            return coroutine
        return self.observed(method, query, coroutine)

    call.__name__ = method
    return call


class ObservedConnection(Connection):
    """A connection that puts each generated query in a span and logs it when slow
    (_telemetry.py). Its query methods are plain functions (`_observing`): no extra
    coroutine per call when nothing observes."""

    def observed(self, method: str, query: object, call: Any) -> Any:
        if not isinstance(query, str):
            return call
        name = _telemetry.query_name(query)
        if name is None:  # not a generated query: BEGIN, a ping, hand-written SQL
            return call
        address = self.address
        return _telemetry.observed(
            method,
            name,
            query,
            call,
            self.slow_query_after,
            address.host,
            address.port,
            address.database,
        )

    execute = _observing("execute")
    executemany = _observing("executemany")
    fetch = _observing("fetch")
    fetchrow = _observing("fetchrow")
    fetchval = _observing("fetchval")

    def copy_records_to_table(self, table_name: str, **kwargs: Any) -> Any:
        call = asyncpg.Connection.copy_records_to_table(self, table_name, **kwargs)
        if self.slow_query_after is None and not tracing():
            return call
        # A generated :copyfrom sends no SQL; its CopyRows carries the query's.
        return self.observed("copy", getattr(kwargs.get("records"), "query", None), call)


def connection_class(settings: DatabaseSettings) -> type[Connection]:
    """Connections that observe generated queries, unless DB_TELEMETRY is off."""
    return ObservedConnection if settings.telemetry else Connection


def server_settings(settings: DatabaseSettings) -> dict[str, str]:
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


def statement_cache_size(settings: DatabaseSettings) -> int:
    """asyncpg's named prepared statements break behind PgBouncer in transaction mode
    (the next statement may reach another server connection; asyncpg issues #121,
    #339, #945): the cache is off there. PgBouncer 1.21+ with max_prepared_statements
    tracks them itself; leave DB_PGBOUNCER at none to keep the cache on."""
    return 0 if settings.pgbouncer == "transaction" else 100


def ssl_argument(settings: DatabaseSettings) -> ssl.SSLContext | SslMode:
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


class Opener:
    """Opens connections to one server with one set of settings: what a pool calls.
    The TLS context and the address are worked out once, not per connection."""

    def __init__(
        self, settings: DatabaseSettings, dsn: str, reset_policy: ResetPolicy = "transaction-local"
    ) -> None:
        self.settings = settings
        self.dsn = dsn
        self.reset_policy = reset_policy
        self._ssl = ssl_argument(settings)
        self._address = address_of(dsn)
        self.hosts = hosts_of(dsn)

    async def __call__(self) -> Connection:
        settings = self.settings
        with without_secrets(settings), mapped_errors():
            try:
                conn = await asyncpg.connect(
                    self.dsn,
                    ssl=self._ssl,
                    server_settings=server_settings(settings),
                    timeout=settings.connect_timeout,
                    statement_cache_size=statement_cache_size(settings),
                    connection_class=connection_class(settings),
                    record_class=asyncpg.Record,
                )
            except TimeoutError:
                # Left to translate(), a timeout reads as "pool timeout": the wrong cause,
                # and no host named (issue #25: a server that accepts TCP, never answers).
                raise UnavailableError(
                    f"connecting to {self.hosts} timed out after "
                    f"{settings.connect_timeout:g} s (DB_CONNECT_TIMEOUT)"
                ) from None
        assert isinstance(conn, Connection)
        try:
            with mapped_errors():
                await init_connection(conn)
        except BaseException:
            conn.terminate()
            raise
        conn.opened_at = time.monotonic()
        conn.address = self._address
        conn.keeps_session_state = self.reset_policy == "transaction-local"
        if settings.slow_query_ms is not None:
            conn.slow_query_after = settings.slow_query_ms / 1000
        return conn


async def connect(settings: DatabaseSettings | None = None) -> Connection:
    """One connection outside the pool (for tools such as the CLI), opened as the
    pool opens its own: the same TLS, server settings and codecs."""
    settings = settings or load_settings()
    conn = await Opener(settings, settings.dsn(), "full")()
    try:
        with mapped_errors():
            await load_constraint_columns(conn)
    except BaseException:
        conn.terminate()
        raise
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
