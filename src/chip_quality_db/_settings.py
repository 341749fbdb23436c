"""Database settings from the environment, with the names and defaults services already use.

Connection: DATABASE_URL wins (`postgresql+asyncpg://` is accepted); without it
the URL is built from DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD (defaults
localhost, 5432, chip_quality, chip_quality_user, empty). DB_PASSWORD_FILE
names a file holding the password (the convention of container secrets), read
once here; the password, from either, fills in a DATABASE_URL that has none.
The password and the URL are kept as SecretStr: repr, str and model_dump show
the URL with its password masked, never the password.

Pool (_pool.py, our own; SQLAlchemy's names, not all of its behaviour):
- DB_POOL_SIZE (10): connections kept open (opened at start, topped up).
- DB_MAX_OVERFLOW (20): extra connections under load; at most size + overflow.
  SQLAlchemy closes overflow connections on release; this pool closes any
  connection idle for DB_POOL_IDLE_LIFETIME seconds (300; 0: never) down to
  DB_POOL_SIZE (the faults suite checks that the pool comes back to its floor).
- DB_POOL_RECYCLE (3600): seconds a connection may live; a checkout closes and
  replaces older ones (-1: never).
- DB_POOL_PRE_PING (true): a checkout runs `SELECT 1` on an idle connection first
  and replaces a dead one: one round trip per checkout.
- DB_POOL_TIMEOUT (30): seconds to wait for a free connection, then UnavailableError.
- DB_CONNECT_TIMEOUT (10): seconds one connection attempt may take (TCP, TLS, login,
  and with several hosts in the URL all of them together, as asyncpg counts it); a
  server that accepts TCP but never answers is then an UnavailableError naming it.

Sessions: DB_STATEMENT_TIMEOUT_MS (30000), DB_IDLE_IN_TRANSACTION_TIMEOUT_MS
(60000), DB_APPLICATION_NAME (chip-quality-db). TLS: DB_SSLMODE (prefer; or
disable, allow, require, verify-ca, verify-full), DB_SSLROOTCERT (CA file for
verify-ca / verify-full; without it the system's CAs), DB_SSLCERT and DB_SSLKEY
(client certificate and its key, for `cert` authentication); sslmode,
sslrootcert, sslcert and sslkey in DATABASE_URL win.
ENVIRONMENT (development, staging, production, test): production refuses
sslmode disable, allow and prefer.

High availability (docs/ha.md): DATABASE_URL may name every node of a formation,
`postgresql://u@h1:5432,h2:5432,h3:5432/db?target_session_attrs=read-write`: asyncpg
connects to whichever is the primary now.

Scale-out (see `Database` in _cluster.py): DB_REPLICA_URLS (comma-separated
streaming standbys; reads the generator classed read-only go there; an entry with
several hosts, such as DATABASE_URL's, stands for one replica per host, each in
rotation while it is a standby),
DB_REPLICA_MAX_LAG (5 s: a replica further behind the primary is skipped),
DB_REPLICA_CHECK_INTERVAL (0.5 s: how often the runtime measures each replica),
DB_PGBOUNCER (none; `transaction` when the URL is PgBouncer in transaction
pooling: asyncpg's statement cache off, no session parameters at connect).

Observability (see _telemetry.py): DB_TELEMETRY (true: a span per generated query
when the service sets an OpenTelemetry tracer provider; false: connections
without the check), DB_SLOW_QUERY_MS (unset: off; a generated query that takes
longer is logged to `chip_quality_db.slow_queries` with its name, time and rows).

Result cache (see _cache.py, docs/caching.md; on once a service calls enable_cache):
DB_CACHE_MAX_ENTRIES (10000) and DB_CACHE_MAX_BYTES (67108864, 64 MiB) bound it,
the least recently used entries going first; DB_CACHE_LISTENER_PING (5 s): how often
the listening connection is checked (a dead one stops the serving at once when the
driver sees the socket close; a silent network loss within this time);
DB_CACHE_REDIS_URL (unset: in-process; set: entries shared in Redis, the `redis` extra).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ._redact import redact_url, url_passwords

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
Environment = Literal["development", "staging", "production", "test"]


class SettingsError(ValueError):
    """An environment variable holds a value the layer cannot use; the message names it."""


class DatabaseSettings(BaseSettings):
    """Connection and pool settings; each field reads the environment variable in its alias."""

    # hide_input_in_errors: a refused DATABASE_URL must not be quoted (with its
    # password) in the validation error chained to SettingsError.
    model_config = SettingsConfigDict(
        populate_by_name=True, extra="ignore", frozen=True, hide_input_in_errors=True
    )

    database_url: SecretStr | None = Field(default=None, alias="DATABASE_URL")
    host: str = Field(default="localhost", alias="DB_HOST")
    port: int = Field(default=5432, alias="DB_PORT", ge=1, le=65535)
    name: str = Field(default="chip_quality", alias="DB_NAME", min_length=1)
    user: str = Field(default="chip_quality_user", alias="DB_USER", min_length=1)
    password: SecretStr = Field(default=SecretStr(""), alias="DB_PASSWORD")
    password_file: Path | None = Field(default=None, alias="DB_PASSWORD_FILE")

    pool_size: int = Field(default=10, alias="DB_POOL_SIZE", ge=1, le=1000)
    max_overflow: int = Field(default=20, alias="DB_MAX_OVERFLOW", ge=0, le=1000)
    pool_recycle: float = Field(default=3600, alias="DB_POOL_RECYCLE", ge=-1)
    pool_pre_ping: bool = Field(default=True, alias="DB_POOL_PRE_PING")
    pool_timeout: float = Field(default=30, alias="DB_POOL_TIMEOUT", gt=0)
    connect_timeout: float = Field(default=10, alias="DB_CONNECT_TIMEOUT", gt=0)
    pool_idle_lifetime: float = Field(default=300, alias="DB_POOL_IDLE_LIFETIME", ge=0)

    statement_timeout_ms: int = Field(default=30_000, alias="DB_STATEMENT_TIMEOUT_MS", ge=0)
    idle_in_transaction_timeout_ms: int = Field(
        default=60_000, alias="DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", ge=0
    )
    sslmode: SslMode = Field(default="prefer", alias="DB_SSLMODE")
    sslrootcert: str | None = Field(default=None, alias="DB_SSLROOTCERT")
    sslcert: str | None = Field(default=None, alias="DB_SSLCERT")
    sslkey: str | None = Field(default=None, alias="DB_SSLKEY")
    application_name: str = Field(default="chip-quality-db", alias="DB_APPLICATION_NAME")
    replica_urls: SecretStr | None = Field(default=None, alias="DB_REPLICA_URLS")
    replica_max_lag: float = Field(default=5.0, alias="DB_REPLICA_MAX_LAG", gt=0)
    replica_check_interval: float = Field(default=0.5, alias="DB_REPLICA_CHECK_INTERVAL", gt=0)
    pgbouncer: Literal["none", "transaction", "session"] = Field(
        default="none", alias="DB_PGBOUNCER"
    )
    telemetry: bool = Field(default=True, alias="DB_TELEMETRY")
    slow_query_ms: float | None = Field(default=None, alias="DB_SLOW_QUERY_MS", ge=0)
    cache_max_entries: int = Field(default=10_000, alias="DB_CACHE_MAX_ENTRIES", ge=1)
    cache_max_bytes: int = Field(default=64 * 1024 * 1024, alias="DB_CACHE_MAX_BYTES", ge=1024)
    cache_listener_ping: float = Field(default=5.0, alias="DB_CACHE_LISTENER_PING", gt=0)
    cache_redis_url: str | None = Field(default=None, alias="DB_CACHE_REDIS_URL")
    environment: Environment = Field(default="development", alias="ENVIRONMENT")

    @field_validator("database_url", mode="before")
    @classmethod
    def _url_is_postgres(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is None or not str(value).strip():
            return None
        url = str(value).strip()
        problem = _url_problem(url)
        if problem:
            raise ValueError(problem)
        return url

    @model_validator(mode="after")
    def _password_from_file(self) -> DatabaseSettings:
        if self.password_file is None:
            return self
        if self.password.get_secret_value():
            raise ValueError("DB_PASSWORD and DB_PASSWORD_FILE are both set: keep one")
        if self.database_url and url_passwords(self.database_url.get_secret_value()):
            raise ValueError("DATABASE_URL holds a password and DB_PASSWORD_FILE is set: keep one")
        try:
            secret = self.password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ValueError(
                f"DB_PASSWORD_FILE: cannot read {self.password_file}: {reason}"
            ) from None
        if not secret:
            raise ValueError(f"DB_PASSWORD_FILE: {self.password_file} is empty")
        object.__setattr__(self, "password", SecretStr(secret))  # frozen: set once, here
        return self

    @model_validator(mode="after")
    def _production_requires_tls(self) -> DatabaseSettings:
        if self.environment == "production" and self.effective_sslmode in (
            "disable",
            "allow",
            "prefer",
        ):
            raise ValueError(
                f"ENVIRONMENT=production needs DB_SSLMODE require, verify-ca or verify-full, "
                f"not {self.effective_sslmode!r}"
            )
        return self

    @model_validator(mode="after")
    def _client_certificate_needs_tls(self) -> DatabaseSettings:
        if self.effective_sslkey and not self.effective_sslcert:
            raise ValueError("DB_SSLKEY is set without DB_SSLCERT")
        if self.effective_sslcert and self.effective_sslmode in ("disable", "allow", "prefer"):
            raise ValueError(
                f"DB_SSLCERT needs DB_SSLMODE require, verify-ca or verify-full, "
                f"not {self.effective_sslmode!r}"
            )
        return self

    @field_validator("replica_urls", mode="before")
    @classmethod
    def _replicas_are_postgres(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is None or not str(value).strip():
            return None
        for url in _replica_entries(str(value)):
            problem = _url_problem(url)
            if problem:
                raise ValueError(f"the entry {redact_url(url)}: {problem}")
        return str(value).strip()

    def replica_dsns(self) -> list[str]:
        """The replicas' URLs, one per host, with DB_PASSWORD filled in where they
        carry none."""
        if self.replica_urls is None:
            return []
        urls = _replica_entries(self.replica_urls.get_secret_value())
        return [self._with_password(one) for url in urls for one in _one_url_per_host(url)]

    @property
    def max_size(self) -> int:
        return self.pool_size + self.max_overflow

    def _url_parameter(self, name: str) -> str | None:
        if self.database_url:
            for key, value in parse_qsl(urlsplit(self.database_url.get_secret_value()).query):
                if key == name and value:
                    return value
        return None

    @property
    def effective_sslmode(self) -> SslMode:
        """sslmode from the URL's query when DATABASE_URL carries one, else DB_SSLMODE."""
        value = self._url_parameter("sslmode")
        return value if value in _SSL_MODES else self.sslmode  # type: ignore[return-value]

    @property
    def effective_sslrootcert(self) -> str | None:
        """sslrootcert from DATABASE_URL's query, else DB_SSLROOTCERT."""
        return self._url_parameter("sslrootcert") or self.sslrootcert

    @property
    def effective_sslcert(self) -> str | None:
        """sslcert from DATABASE_URL's query, else DB_SSLCERT."""
        return self._url_parameter("sslcert") or self.sslcert

    @property
    def effective_sslkey(self) -> str | None:
        """sslkey from DATABASE_URL's query, else DB_SSLKEY."""
        return self._url_parameter("sslkey") or self.sslkey

    def dsn(self) -> str:
        """A URL asyncpg accepts, with the password: DATABASE_URL (its password filled in
        from DB_PASSWORD or DB_PASSWORD_FILE when it has none), or one built from the
        DB_* parts. Hand it to the driver only: `display_url` is the one to show."""
        password = self.password.get_secret_value()
        if self.database_url:
            return self._with_password(self.database_url.get_secret_value())
        auth = quote(self.user, safe="") + (f":{quote(password, safe='')}" if password else "")
        return f"postgresql://{auth}@{self.host}:{self.port}/{quote(self.name, safe='')}"

    def _with_password(self, url: str) -> str:
        password = self.password.get_secret_value()
        url = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        parts = urlsplit(url)
        userinfo, at, hosts = parts.netloc.rpartition("@")
        if password and at and ":" not in userinfo and not url_passwords(url):
            netloc = f"{userinfo}:{quote(password, safe='')}@{hosts}"
            url = urlunsplit(parts._replace(netloc=netloc))
        return url

    @property
    def display_url(self) -> str:
        """The server's URL with the password masked: for logs, messages and CLI output."""
        return redact_url(self.dsn())

    def secrets(self) -> list[str]:
        """Every password these settings hold, for scrubbing messages."""
        found = [p for url in (self.dsn(), *self.replica_dsns()) for p in url_passwords(url)]
        password = self.password.get_secret_value()
        return [*found, password] if password else found

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # The URL shown masked rather than as SecretStr('**********'): the host
        # and database are what a reader of a log needs.
        for name, value in super().__repr_args__():
            if name in ("database_url", "replica_urls") and value is not None:
                value = ",".join(map(redact_url, value.get_secret_value().split(",")))
            yield name, value


def _url_problem(url: str) -> str | None:
    """What is wrong with a server URL (scheme, a port, sslmode), or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "postgresql+asyncpg"):
        return f"expected a postgresql:// URL, got scheme {parts.scheme!r}"
    for host in parts.netloc.rpartition("@")[2].split(","):
        port = host.rpartition("]")[2].partition(":")[2]
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            return f"the port {port!r} is not a number from 1 to 65535"
    for key, item in parse_qsl(parts.query):
        if key == "sslmode" and item not in _SSL_MODES:
            return f"sslmode {item!r} is not one of {', '.join(_SSL_MODES)}"
    return None


def _replica_entries(text: str) -> list[str]:
    """DB_REPLICA_URLS split into URLs. A comma separates entries, and also the hosts
    of one multi-host URL (`postgresql://u@h1:5432,h2:5432/db`): a piece that does
    not start a new URL (no `://`) belongs to the one before."""
    entries: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        if entries and "://" not in piece:
            entries[-1] += f",{piece}"
        else:
            entries.append(piece)
    return entries


def _one_url_per_host(url: str) -> list[str]:
    """A URL naming several hosts as one URL per host (the same user, database and
    parameters; target_session_attrs dropped: a replica is wanted as the host it is)."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if "," not in hosts:
        return [url]
    query = "&".join(
        f"{key}={quote(item, safe='')}"
        for key, item in parse_qsl(parts.query, keep_blank_values=True)
        if key != "target_session_attrs"
    )
    return [
        urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host.strip()}", query=query))
        for host in hosts.split(",")
        if host.strip()
    ]


def load_settings(**overrides: object) -> DatabaseSettings:
    """Read the environment; a bad value raises SettingsError naming the variable."""
    try:
        return DatabaseSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            location = ".".join(str(part) for part in error["loc"]) or "settings"
            field = DatabaseSettings.model_fields.get(location)
            variable = field.alias if field is not None and field.alias else location
            problems.append(f"{variable}: {error['msg']}")
        raise SettingsError("invalid database settings: " + "; ".join(problems)) from exc
