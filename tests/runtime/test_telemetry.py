"""A span per generated query (opentelemetry-api; spans recorded by the SDK's
in-memory exporter), and slow queries logged."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import asyncpg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from chip_quality_db import (
    AlreadyExistsError,
    Connection,
    Pool,
    _telemetry,
    create_pool,
    load_settings,
    transaction,
)
from chip_quality_queries import defects, parts
from chip_quality_queries.models import DefectSeverity, DefectType, PartType
from tests.queries.factories import make_inspection_chain


@pytest.fixture
async def observed_pool(db_url: str) -> AsyncIterator[Pool]:
    settings = load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1, DB_SLOW_QUERY_MS=0)
    pool = await create_pool(settings)
    yield pool
    await pool.close()


def _query_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT]


def _new_part(number: str) -> parts.CreatePartParams:
    return parts.CreatePartParams(part_number=number, part_name="Die", part_type=PartType.PCB)


async def test_each_generated_query_is_a_span_under_the_callers_span(
    spans: InMemorySpanExporter, pool: Pool, db_url: str
) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("POST /parts") as request:
        async with transaction(pool, actor="alice") as conn:
            part = await parts.create_part(conn, _new_part("PCB-OTEL-1"))
        listed = await parts.list_parts(pool, page_size=10)
    names = [s.name for s in _query_spans(spans)]
    # The pool's opening read the constraints' columns: a named query, so a span, the
    # request's parent of none. BEGIN, COMMIT, pings: no span.
    assert names == ["ConstraintColumns", "CreatePart", "ListParts"]
    opening, create, list_ = _query_spans(spans)
    assert opening.parent is None
    parent = request.get_span_context()
    assert create.parent is not None and create.parent.span_id == parent.span_id
    assert list_.parent is not None and list_.parent.span_id == parent.span_id
    attributes = dict(create.attributes or {})
    assert attributes["db.system.name"] == "postgresql"
    assert attributes["db.operation.name"] == "CreatePart"
    assert str(attributes["db.query.text"]).startswith("-- name: CreatePart :one\nINSERT")
    assert attributes["db.response.returned_rows"] == 1
    assert attributes["server.address"] == urlsplit(db_url).hostname
    assert attributes["server.port"] == urlsplit(db_url).port
    assert attributes["db.namespace"] == urlsplit(db_url).path.lstrip("/")
    assert dict(list_.attributes or {})["db.response.returned_rows"] == len(listed) >= 1
    assert part.part_number == "PCB-OTEL-1"


async def test_no_attribute_carries_a_value_or_a_secret(
    spans: InMemorySpanExporter, pool: Pool
) -> None:
    secret_number = f"PCB-{uuid.uuid4().hex[:8].upper()}"
    async with transaction(pool, actor="alice") as conn:
        await parts.create_part(conn, _new_part(secret_number))
    text = repr([dict(s.attributes or {}) for s in spans.get_finished_spans()])
    assert secret_number not in text  # parameters travel separately, never in spans
    assert "alice" not in text
    password = pool.settings.password.get_secret_value()
    assert not password or password not in text


async def test_a_failed_query_has_its_error_type(spans: InMemorySpanExporter, pool: Pool) -> None:
    async with transaction(pool, actor="alice") as conn:
        await parts.create_part(conn, _new_part("PCB-OTEL-DUP"))
    with pytest.raises(AlreadyExistsError):
        async with transaction(pool, actor="alice") as conn:
            await parts.create_part(conn, _new_part("PCB-OTEL-DUP"))
    failed = _query_spans(spans)[-1]
    assert failed.name == "CreatePart"
    assert failed.status.status_code is StatusCode.ERROR
    attributes = dict(failed.attributes or {})
    assert attributes["error.type"] == "UniqueViolationError"
    assert attributes["db.response.status_code"] == "23505"


async def _coroutine_of_a_generated_query(pool: Pool) -> object:
    """What the pool's connection hands back for a generated query's SQL (awaited)."""
    async with pool.acquire() as conn:
        call = conn.fetchval(parts.COUNT_PARTS, None, None)
        code = call.cr_code
        await call
    return code


async def test_without_a_provider_the_driver_runs_unwrapped(pool: Pool) -> None:
    """No tracer provider, no slow-query threshold: the connection hands back the
    driver's own coroutine, so a call costs one check and nothing else."""
    assert not _telemetry.tracing()
    assert await _coroutine_of_a_generated_query(pool) is asyncpg.Connection.fetchval.__code__


async def test_with_a_provider_the_call_is_observed(
    spans: InMemorySpanExporter, pool: Pool
) -> None:
    assert _telemetry.tracing()
    assert await _coroutine_of_a_generated_query(pool) is _telemetry.observed.__code__
    assert [s.name for s in _query_spans(spans)] == ["ConstraintColumns", "CountParts"]


async def test_slow_queries_are_logged_with_name_time_and_rows(
    observed_pool: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    # DB_SLOW_QUERY_MS=0: every generated query counts as slow; nothing else is logged.
    with caplog.at_level(logging.WARNING, logger="chip_quality_db.slow_queries"):
        await parts.list_parts(observed_pool, page_size=5)
        await observed_pool.execute("SELECT 1")
    records = [r for r in caplog.records if r.name == "chip_quality_db.slow_queries"]
    assert len(records) == 1
    assert records[0].getMessage().startswith("slow query ListParts: ")
    assert records[0].rows == 0  # type: ignore[attr-defined]
    assert records[0].duration_ms >= 0  # type: ignore[attr-defined]


async def test_telemetry_off_gives_plain_connections(db_url: str) -> None:
    pool = await create_pool(load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1, DB_TELEMETRY=False))
    try:
        async with pool.acquire() as conn:
            assert type(conn) is Connection  # not the observing subclass
        assert await parts.count_parts(pool) == 0
    finally:
        await pool.close()


async def test_a_copy_is_a_span_named_after_its_query(
    spans: InMemorySpanExporter, pool: Pool
) -> None:
    """A :copyfrom sends no SQL of its own; its CopyRows carries the query's."""
    async with pool.acquire() as conn:
        _, _, inspection = await make_inspection_chain(conn)
        spans.clear()
        row = defects.IngestDefectsParams(
            inspection_id=inspection.id,
            defect_type=DefectType.SCRATCH,
            severity=DefectSeverity.LOW,
            location={"x": 1},
            confidence=None,
            description=None,
            detected_by="aoi",
        )
        assert await defects.ingest_defects(conn, [row]) == 1
    [copy] = _query_spans(spans)
    assert copy.name == "IngestDefects"
    text = str(dict(copy.attributes or {})["db.query.text"])
    assert text.startswith("-- name: IngestDefects :copyfrom")


async def test_a_provider_set_while_a_service_runs_is_picked_up_within_a_second() -> None:
    """ "No provider" is remembered for a second (asking the API costs an environment
    lookup per query); a provider set meanwhile is used from then on."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.util._once import Once

    _telemetry.provider_changed()
    assert not _telemetry.tracing()
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    trace.set_tracer_provider(TracerProvider())
    try:
        assert not _telemetry.tracing()  # remembered
        await asyncio.sleep(1.05)
        assert _telemetry.tracing()
    finally:
        trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
        trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]
        _telemetry.provider_changed()
