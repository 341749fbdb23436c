"""`make plans ANALYZE=1`: every named query run with EXPLAIN ANALYZE on the plans dataset.

Writes docs/query-plans-measured.md: execution time, planning time, buffers and
rows of each query, slowest first. Not part of `make check`: times move with the
machine and its load, so the report is a dated measurement, not a contract.

Parameter values are chosen per query, by the parameter's name (as the generated
function names it) and its PostgreSQL type, to be the expensive common case:
- a lot, inspection or part id is the hottest one (most inspections, most
  defects, most lots); other ids are an existing row;
- optional filters (the function's parameters that default to None) are None,
  so list and count queries read their first, unfiltered page;
- page sizes are PAGE_SIZE; times fall inside the dataset's year;
- JSON searches look for an object some rows hold.
Writing queries run inside a transaction that is rolled back (with an actor
set, as the audit trigger demands), so the dataset never changes. A query whose
values break a constraint is listed as not measured, with the error.

Each query runs RUNS times; the report gives the median of the timed runs after
one warm-up run, so a cold cache does not decide the order.
"""

from __future__ import annotations

import importlib
import inspect
import json
import statistics
import time
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from pydantic import BaseModel

from . import dataset, plans

REPORT = Path("docs/query-plans-measured.md")
PAGE_SIZE = 50
RUNS = 4  # one warm-up, then the median of three
ACTOR = "plans-analyze"


class NotMeasuredError(Exception):
    """A query that could not be run with the chosen values."""


@dataclass(frozen=True)
class Measured:
    query: plans.NamedQuery
    execution_ms: float
    planning_ms: float
    shared_hit: int
    shared_read: int
    rows: int
    values: str  # the parameter values, as shown in the report


@dataclass(frozen=True)
class Hot:
    """Ids and values of the dataset that make queries do the most common heavy work."""

    values: dict[str, Any]

    @classmethod
    async def read(cls, conn: asyncpg.Connection) -> Hot:
        one = conn.fetchval
        values: dict[str, Any] = {
            "lot_id": await one(
                "SELECT lot_id FROM inspections GROUP BY lot_id ORDER BY count(*) DESC, lot_id"
                " LIMIT 1"
            ),
            "inspection_id": await one(
                "SELECT inspection_id FROM defects GROUP BY inspection_id"
                " ORDER BY count(*) DESC, inspection_id LIMIT 1"
            ),
            "part_id": await one(
                "SELECT part_id FROM lots GROUP BY part_id ORDER BY count(*) DESC, part_id LIMIT 1"
            ),
            "defect_id": await one("SELECT id FROM defects ORDER BY created_at, id LIMIT 1"),
            "artifact_id": await one("SELECT id FROM artifacts ORDER BY created_at, id LIMIT 1"),
            "report_id": await one(
                "SELECT id FROM reports WHERE status = 'pending' ORDER BY created_at, id LIMIT 1"
            ),
            "entry_id": await one("SELECT id FROM audit_log ORDER BY seq LIMIT 1"),
            "checksum_sha256": await one(
                "SELECT checksum_sha256 FROM artifacts ORDER BY created_at, id LIMIT 1"
            ),
            "key": await one("SELECT key FROM idempotency_keys ORDER BY created_at LIMIT 1"),
        }
        running = await conn.fetchrow(
            "SELECT id, worker_id FROM inference_jobs WHERE status = 'running'"
            " ORDER BY started_at, id LIMIT 1"
        )
        if running is None:
            raise NotMeasuredError("the dataset has no running inference job")
        values["job_id"], values["worker_id"] = running["id"], running["worker_id"]
        # What a delete can remove: a lot without inspections, a part without lots
        # (the hottest ones are refused by the foreign keys, as they should be).
        values["childless_lot_id"] = await one(
            "SELECT id FROM lots l WHERE NOT EXISTS"
            " (SELECT FROM inspections i WHERE i.lot_id = l.id) ORDER BY created_at, id LIMIT 1"
        )
        values["childless_part_id"] = await one(
            "SELECT id FROM parts p WHERE NOT EXISTS"
            " (SELECT FROM lots l WHERE l.part_id = p.id) ORDER BY created_at, id LIMIT 1"
        )
        values["lot_number"] = await one(
            "SELECT lot_number FROM lots WHERE id = $1", values["lot_id"]
        )
        values["part_number"] = await one(
            "SELECT part_number FROM parts WHERE id = $1", values["part_id"]
        )
        values["record_id"] = values["lot_id"]  # audit entries of the hottest lot
        return cls(values)


# Values by parameter name where the type alone does not say enough.
END = dataset.END
BY_NAME: dict[str, Any] = {
    "page_size": PAGE_SIZE,
    "max_jobs": 10,
    "since": END - timedelta(days=30),
    "started_before": END - timedelta(hours=1),
    "completed_from": END - timedelta(days=30),
    "completed_to": END,
    "before": END - timedelta(days=6),
    "table_name": "lots",
    "model_name": "aoi-model-1",
    "statuses": ["active", "released"],
    "review_status": "confirmed",
    "reviewed_by": "reviewer-2",
    "status": "quarantined",
    "specification": json.dumps({"layers": 8}),
    "location": json.dumps({"layer": 3}),
    "lot_number": "LOT-PLANS-1",  # a new lot's; lookups take the hottest lot's (Hot)
    "part_number": "PLANS-1",
    "storage_uri": "s3://plans/analyze-1",
    "content_type": "image/png",
    "checksum_sha256": "0" * 64,  # a new artifact's; lookups take an existing one (Hot)
    "defect_type": "scratch",
    "severity": "high",
    "inspection_type": "visual",
    "artifact_type": "image",
    "part_type": "pcb",
    "report_type": "lot_summary",
    "format": "pdf",
    "format_": "pdf",
}
# JSON searches by query: an object a fair share of rows hold.
RESULTS_BY_QUERY = {
    "SearchInspectionsByResults": json.dumps({"station": "ST-4"}),
    "SearchInferenceJobsByResults": json.dumps({"defects": 0}),
}
# Values by PostgreSQL type for the rest: valid under the CHECK constraints.
BY_TYPE: dict[str, Any] = {
    "int8": 5,
    "int4": 5,
    "numeric": Decimal("0.9"),
    "bool": True,
    "text": "PLANS-1",
    "timestamptz": END - timedelta(days=1),
    "date": date(2026, 11, 1),
    "jsonb": json.dumps({"source": "plans-analyze"}),
}


def parameter_names(query: plans.NamedQuery) -> tuple[list[str], set[str]]:
    """The generated function's parameter names in $n order, and those defaulting to None."""
    module = importlib.import_module(f"{plans.GENERATED_PACKAGE}.{Path(query.source).stem}")
    constant = next(name for name, value in vars(module).items() if value is query.sql)
    function = getattr(module, constant.lower(), None) or getattr(module, f"{constant.lower()}_")
    hints = typing.get_type_hints(function)
    names: list[str] = []
    optional: set[str] = set()
    for parameter in list(inspect.signature(function).parameters.values())[1:]:
        hint = hints[parameter.name]
        fields = _fields(hint)
        if fields is not None:
            names.extend(fields)
            if isinstance(hint, type) and issubclass(hint, BaseModel):
                optional |= {
                    name for name, info in hint.model_fields.items() if not info.is_required()
                }
        else:
            names.append(parameter.name)
            if parameter.default is None:
                optional.add(parameter.name)
    return names, optional


def _fields(hint: Any) -> list[str] | None:
    """The fields of a Params model, or of the NamedTuple rows of a bulk query."""
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return list(hint.model_fields)
    for argument in typing.get_args(hint):  # Iterable[SomeParams]
        if isinstance(argument, type) and hasattr(argument, "_fields"):
            return list(argument._fields)
    return None


def choose(
    query: plans.NamedQuery,
    names: Sequence[str],
    optional: set[str],
    types: Sequence[Any],
    hot: Hot,
) -> list[Any]:
    if len(names) != len(types):
        raise NotMeasuredError(f"{len(names)} parameter names for {len(types)} parameters")
    # A new row takes its parents from the dataset but fresh values of its own,
    # so that it does not collide with an existing one (lot_number, part_number).
    creating = query.name.startswith("Create")
    values: list[Any] = []
    for name, pg_type in zip(names, types, strict=True):
        # An artifact needs an inspection or a job: it gets the hottest inspection.
        if name in optional and not (creating and name == "inspection_id"):
            values.append(None)  # the unfiltered case; "leave as is" for updates
        elif query.name in ("DeleteLot", "DeletePart") and f"childless_{name}" in hot.values:
            values.append(hot.values[f"childless_{name}"])
        elif name == "results" and query.name in RESULTS_BY_QUERY:
            values.append(RESULTS_BY_QUERY[query.name])
        elif hot.values.get(name) is not None and (name.endswith("_id") or not creating):
            values.append(hot.values[name])
        elif name in BY_NAME:
            values.append(BY_NAME[name])
        elif pg_type.name in BY_TYPE:
            values.append(BY_TYPE[pg_type.name])
        else:
            raise NotMeasuredError(f"no value for {name} ({pg_type.name}): add one to BY_NAME")
    return values


def _top(document: Any) -> tuple[float, float, int, int, int]:
    data = json.loads(document) if isinstance(document, str) else document
    root = data[0]
    plan = root["Plan"]
    return (
        float(root["Execution Time"]),
        float(root["Planning Time"]),
        int(plan.get("Shared Hit Blocks", 0)),
        int(plan.get("Shared Read Blocks", 0)),
        int(plan.get("Actual Rows", 0)),
    )


# The statement is prepared and executed by the server itself, its parameter values
# passed as text and quoted there (quote_nullable): no SQL text is built here, and
# like asyncpg's first executions of a prepared statement it runs a custom plan.
ANALYZE_FUNCTION = """
CREATE FUNCTION pg_temp.explain_analyze(query text, params text[]) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    plan text;
    arguments text := (SELECT string_agg(quote_nullable(p), ', ' ORDER BY n)
                       FROM unnest(params) WITH ORDINALITY AS a(p, n));
BEGIN
    EXECUTE 'PREPARE plans_measured AS ' || query;
    EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE plans_measured'
            || coalesce('(' || arguments || ')', '') INTO plan;
    DEALLOCATE plans_measured;
    RETURN plan;
END
$$
"""


def as_text(value: Any) -> str | None:
    """A parameter value in PostgreSQL's text input form."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, list):
        return "{" + ",".join(str(item) for item in value) + "}"
    return str(value)


async def measure(conn: asyncpg.Connection, query: plans.NamedQuery, hot: Hot) -> Measured:
    utility = plans.utility_statement(query.sql)
    if utility is not None:
        raise NotMeasuredError(f"{utility} is a utility statement: no plan to run")
    names, optional = parameter_names(query)
    try:
        types = (await conn.prepare(query.sql)).get_parameters()
    except asyncpg.PostgresError as exc:
        raise NotMeasuredError(str(exc).splitlines()[0]) from exc
    values = choose(query, names, optional, types, hot)
    runs = []
    for _ in range(RUNS):
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute("SELECT set_config('app.actor', $1, true)", ACTOR)
            document = await conn.fetchval(
                "SELECT pg_temp.explain_analyze($1, $2)",
                query.sql,
                [as_text(value) for value in values],
            )
            runs.append(_top(document))
        except asyncpg.PostgresError as exc:
            raise NotMeasuredError(str(exc).splitlines()[0]) from exc
        finally:
            await transaction.rollback()
    timed = runs[1:]
    shown = ", ".join(f"{n}={v!r}" for n, v in zip(names, values, strict=True))
    return Measured(
        query,
        statistics.median(r[0] for r in timed),
        statistics.median(r[1] for r in timed),
        timed[-1][2],
        timed[-1][3],
        timed[-1][4],
        shown,
    )


def render(measured: Sequence[Measured], failed: Sequence[tuple[plans.NamedQuery, str]]) -> str:
    ordered = sorted(measured, key=lambda m: (-m.execution_ms, m.query.source, m.query.name))
    lines = [
        "# Query plans, measured",
        "",
        f"Written by `make plans ANALYZE=1` on {time.strftime('%Y-%m-%d %H:%M', time.gmtime())}"
        " UTC:",
        "every named query run with EXPLAIN (ANALYZE, BUFFERS) on the plans dataset, "
        f"median of {RUNS - 1} runs after a warm-up, slowest first. Buffers are shared "
        "blocks (8 kB) hit in the cache and read from the OS. Writes ran in a transaction "
        "that was rolled back. How the values were chosen: docs/query-plans.md.",
        "",
        "| # | query | execution ms | planning ms | buffers hit | buffers read | rows |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rank, item in enumerate(ordered, start=1):
        lines.append(
            f"| {rank} | {item.query.source}: {item.query.name} | {item.execution_ms:.3f} | "
            f"{item.planning_ms:.3f} | {item.shared_hit} | {item.shared_read} | {item.rows} |"
        )
    if failed:
        lines += ["", "## Not measured", ""]
        lines += [f"- {q.source}: {q.name}: {reason}" for q, reason in failed]
    lines += ["", "## Values", ""]
    lines += [f"- {m.query.source}: {m.query.name}: {m.values or '(none)'}" for m in ordered]
    return "\n".join(lines) + "\n"


async def run(url: str) -> int:
    queries = plans.named_queries()
    conn = await asyncpg.connect(await dataset.ensure(url))
    try:
        await plans.prepare_session(conn)
        await conn.execute(ANALYZE_FUNCTION)
        hot = await Hot.read(conn)
        measured: list[Measured] = []
        failed: list[tuple[plans.NamedQuery, str]] = []
        for query in queries:
            try:
                measured.append(await measure(conn, query, hot))
            except NotMeasuredError as exc:
                failed.append((query, str(exc)))
    finally:
        await conn.close()
    REPORT.write_text(render(measured, failed))
    for item in sorted(measured, key=lambda m: -m.execution_ms)[:3]:
        print(f"plans: {item.query.source}: {item.query.name}: {item.execution_ms:.1f} ms")
    print(f"plans: measured {len(measured)} queries, {len(failed)} not measured: {REPORT}")
    return 0
