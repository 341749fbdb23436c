"""A span and, when slow, a log line per generated query, at the connection.

Every generated query's SQL starts with `-- name: <Query> <command>`, so the
connection itself can tell a generated query from anything else (BEGIN, the
pre-ping, a health check) and name it, whatever the caller handed the generated
function: the pool, a connection, a transaction's connection or the cluster
handle. Only `opentelemetry-api` is used: a service that sets a tracer provider
(the SDK's, with its exporters) sees a CLIENT span per query with the stable
database semantic conventions; one that does not pays one check per call.
No attribute holds a parameter value or anything from the connection string.

Slow queries (above DB_SLOW_QUERY_MS) are logged to `chip_quality_db.slow_queries`
with their name, duration and rows, with or without tracing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from . import __name__ as _package

slow_query_log = logging.getLogger("chip_quality_db.slow_queries")
# (provider, its tracer): a tracer is made once per provider that is set.
_current: tuple[trace.TracerProvider, trace.Tracer] | None = None
_NAME_PREFIX = "-- name: "
_names: dict[str, str] = {}


# What get_tracer_provider() returns while no service has set a provider: the API's
# proxy (or an explicit no-op).
_NOT_RECORDING = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
# While no provider is set, get_tracer_provider() looks up an environment variable on
# every call, and os.environ answers a missing key by raising and catching KeyError:
# about 1.4 us, and allocations that make the cyclic GC run more often in a process
# with a large heap (a get by primary key through the pool took 7% longer in
# `make bench`). So "no provider" stands for a second before the API is asked again:
# a provider a service sets while it runs is picked up within a second.
_RECHECK_AFTER = 1.0
_no_provider_until = 0.0  # monotonic time


def tracing() -> bool:
    """Whether a tracer provider that records is set (not the API's default proxy
    or its explicit no-op): the one check paid per call when nothing observes."""
    global _no_provider_until
    if time.monotonic() < _no_provider_until:
        return False
    if isinstance(trace.get_tracer_provider(), _NOT_RECORDING):
        _no_provider_until = time.monotonic() + _RECHECK_AFTER
        return False
    return True


def provider_changed() -> None:
    """Ask the API at the next query, not within a second (for code, such as tests,
    that sets and resets tracer providers)."""
    global _no_provider_until
    _no_provider_until = 0.0


def _tracer() -> trace.Tracer:
    """The tracer of the provider set now (a service sets one at start-up; tests
    set one per test)."""
    global _current
    provider = trace.get_tracer_provider()
    if _current is None or _current[0] is not provider:
        _current = (provider, provider.get_tracer(_package))
    return _current[1]


def query_name(sql: str) -> str | None:
    """`GetLot` for a generated query's SQL (`-- name: GetLot :one ...`), else None."""
    name = _names.get(sql)
    if name is None and sql.startswith(_NAME_PREFIX):
        line = sql[len(_NAME_PREFIX) : sql.find("\n")]
        name = _names.setdefault(sql, line.split(" ", 1)[0])
    return name


def returned_rows(method: str, result: object) -> int | None:
    """How many rows the call returned, where the result says."""
    if method == "fetch" and isinstance(result, list):
        return len(result)
    if method == "fetchrow":
        return 0 if result is None else 1
    return None


async def observed(
    method: str,
    name: str,
    sql: str,
    call: Awaitable[Any],
    slow_after: float | None,
    host: str | None = None,
    port: int | None = None,
    database: str | None = None,
) -> Any:
    """Await `call` (the driver's `method`, not started yet, running query `name`)
    in a span, and log it when it took longer than `slow_after` seconds. `host`,
    `port` and `database` are where the connection goes, when known."""
    started = time.perf_counter()
    rows: int | None = None
    if not tracing():
        result = await call
        rows = returned_rows(method, result)
        _log_if_slow(name, started, rows, slow_after)
        return result
    with _tracer().start_as_current_span(
        name,
        kind=SpanKind.CLIENT,
        attributes=_attributes(name, sql, host, port, database),
        end_on_exit=True,
        record_exception=True,
        set_status_on_exception=False,
    ) as span:
        try:
            result = await call
        except Exception as error:
            span.set_attribute("error.type", type(error).__name__)
            code = getattr(error, "sqlstate", None)
            if code:
                span.set_attribute("db.response.status_code", code)
            span.set_status(StatusCode.ERROR, type(error).__name__)
            _log_if_slow(name, started, None, slow_after)
            raise
        rows = returned_rows(method, result)
        if rows is not None:
            span.set_attribute("db.response.returned_rows", rows)
    _log_if_slow(name, started, rows, slow_after)
    return result


def _attributes(
    name: str, sql: str, host: str | None, port: int | None, database: str | None
) -> dict[str, str | int]:
    attributes: dict[str, str | int] = {
        "db.system.name": "postgresql",
        "db.operation.name": name,
        "db.query.text": sql,
    }
    if host:
        attributes["server.address"] = host
    if port:
        attributes["server.port"] = port
    if database:
        attributes["db.namespace"] = database
    return attributes


def _log_if_slow(name: str, started: float, rows: int | None, slow_after: float | None) -> None:
    if slow_after is None:
        return
    elapsed = time.perf_counter() - started
    if elapsed >= slow_after:
        slow_query_log.warning(
            "slow query %s: %.1f ms, rows %s",
            name,
            elapsed * 1000,
            "?" if rows is None else rows,
            extra={"query": name, "duration_ms": elapsed * 1000, "rows": rows},
        )


def cache_event(name: str, outcome: str) -> None:
    """A span of its own for a query the result cache answered (no connection did)."""
    with cache_span(name, outcome):
        pass


def cache_span(name: str, outcome: str) -> AbstractContextManager[trace.Span]:
    """The span of a query marked cached, `db.cache.result` saying what the cache did:
    hit (answered without the database), miss (the connection's span is a child), or
    bypass (the cache could not be used: its listener was away)."""
    return _tracer().start_as_current_span(
        name,
        kind=SpanKind.CLIENT,
        attributes={
            "db.system.name": "postgresql",
            "db.operation.name": name,
            "db.cache.result": outcome,
        },
    )
