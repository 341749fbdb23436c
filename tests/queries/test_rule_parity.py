"""Parity as a test: every rule the client holds for a column is judged, value by value,
against what PostgreSQL does with the column's real type and its live CHECKs.

Places (tests/queries/rule_places.py): every field of a generated Params model (and
of the NamedTuple rows of a `:copyfrom` / `:batch*`), every keyword argument of a
generated function, every field of an API request schema (chip_quality_db.schemas),
that fills a column carrying a rule (a CHECK over it alone, or a type modifier),
found from the function's source and its SQL, not from the generator's analysis.

The server judge (tests/parity.py) inserts each value into a temporary copy of the
column. The client judges each value as the place does: a model validates a dict
holding just that field (the error at that field decides; the value it sends is
what the field's validation leaves), a keyword argument or a row's field
through a TypeAdapter of its annotation (lax, as the functions validate).

Fails on any value the client refuses and the server stores, and on any value the
client passes and the server stores as something else than what the client sent;
a value the client passes and the server refuses fails where the field carries a
translated rule (a Check), and is only counted elsewhere. The table of every place
is printed at the end of the run (section "rule parity").
"""

from __future__ import annotations

import time
import typing
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

import chip_quality_queries
from tests.parity import (
    REPORT,
    ClientJudge,
    ServerJudge,
    Tally,
    Verdict,
    adapter_judge,
    column_values,
    compare,
    failures,
    read_columns,
    shown,
    table,
)
from tests.queries.rule_places import Place, places, query_modules

# What is known to hold a rule at odds with the server: the test must cover these.
KNOWN = {
    ("params", "CreateDefectParams", "confidence", "defects.confidence"),
    ("params", "UpdateDefectParams", "confidence", "defects.confidence"),
    ("schema", "DefectCreate", "confidence", "defects.confidence"),
    ("schema", "DefectUpdate", "confidence", "defects.confidence"),
    ("schema", "PartCreate", "part_name", "parts.part_name"),
    ("schema", "LotCreate", "production_line", "lots.production_line"),
    ("params", "CreatePartParams", "revision", "parts.revision"),
    ("schema", "PartCreate", "revision", "parts.revision"),
    ("params", "CreateInferenceJobParams", "priority", "inference_jobs.priority"),
    ("schema", "InferenceJobCreate", "priority", "inference_jobs.priority"),
    ("keyword", "inference_jobs.claim_inference_jobs", "worker_id", "inference_jobs.worker_id"),
    ("keyword", "idempotency_keys.claim_idempotency_key", "key", "idempotency_keys.key"),
    ("rows", "IngestDefectsParams", "confidence", "defects.confidence"),
}


def model_judge(model: type[BaseModel], name: str, key: str) -> ClientJudge:
    """The model's verdict on a dict holding just this field: refused when an error
    names the field; else the value validation leaves in the field. The model's row
    checks are judged on their own (test_row_check_parity.py): here they would see
    the other fields unset, so the value is read from a copy of the model without
    them."""
    fields_only = without_row_checks(model)
    validator = fields_only.__pydantic_validator__

    def judge(value: Any) -> tuple[bool, Any]:
        try:
            model.model_validate({key: value})
        except ValidationError as error:
            mine = [e for e in error.errors() if e["loc"][:1] in ((key,), (name,))]
            if mine:
                return False, mine[0]["type"]
        instance = fields_only.model_construct()
        validator.validate_assignment(instance, name, value)
        return True, getattr(instance, name)

    return judge


def without_row_checks(model: type[BaseModel]) -> type[BaseModel]:
    """A subclass whose `check_rows` is a plain method: pydantic drops a validator
    that a subclass redefines."""
    if not hasattr(model, "check_rows"):
        return model

    def check_rows(self: BaseModel) -> BaseModel:
        return self

    return type(f"{model.__name__}Fields", (model,), {"check_rows": check_rows})


def client_judge(place: Place) -> ClientJudge:
    if place.model is not None:
        return model_judge(place.model, place.field, place.key)
    return adapter_judge(place.annotation)


@dataclass
class Run:
    places: list[Place]
    unjudged: list[Place]
    tallies: dict[Place, Tally]
    seconds: float
    inserts: int
    garbled: list[str]

    def __repr__(self) -> str:
        return f"Run({len(self.places)} places, {len(self.tallies)} judged)"


@pytest.fixture(scope="module")
async def parity(shared_db_url: str) -> AsyncIterator[Run]:
    """Every place judged on every value drawn for its column, once per module."""
    started = time.perf_counter()
    conn = await asyncpg.connect(shared_db_url)
    await chip_quality_queries.init_connection(conn)
    try:
        columns = await read_columns(conn)
        found = places(columns)
        judged = [p for p in found if p.column.judged]
        judge = ServerJudge(conn)
        drawn: dict[str, list[Any]] = {}
        tallies: dict[Place, Tally] = {}
        for place in judged:
            if place.column.key not in drawn:
                drawn[place.column.key] = await column_values(judge, place.column, place.casts)

            async def server(value: Any, place: Place = place) -> Verdict:
                return await judge.judge(place.column, value, place.casts)

            tally = Tally(place.label, place.field, place.column.key, place.rule)
            tallies[place] = await compare(
                tally, client_judge(place), server, drawn[place.column.key]
            )
        run = Run(
            judged,
            [p for p in found if not p.column.judged],
            tallies,
            time.perf_counter() - started,
            judge.inserts,
            judge.garbled,
        )
        REPORT["rule parity: every place a client rule meets a checked column"] = report(run)
        yield run
    finally:
        await conn.close()


def report(run: Run) -> list[str]:
    tallies = list(run.tallies.values())
    translated = [t for t in tallies if t.translated]
    lines = table(tallies)
    lines.append("")
    lines.append(
        f"{len(run.places)} places ({len({p.column.key for p in run.places})} columns), "
        f"{sum(t.tried for t in tallies)} values judged, {run.inserts} server inserts, "
        f"{run.seconds:.1f} s"
    )
    lines.append(
        f"false refusals {sum(len(t.false_refusals) for t in tallies)}; "
        f"client passes, server refuses: {sum(len(t.passes_refused) for t in translated)} "
        f"where a rule is translated, "
        f"{sum(len(t.passes_refused) for t in tallies if not t.translated)} elsewhere; "
        f"sent != stored {sum(len(t.mismatches) for t in tallies)}"
    )
    if run.garbled:
        lines.append(
            f"the driver sends {len(run.garbled)} values as others (counted as refused): "
            + "; ".join(run.garbled[:4])
        )
    for kind in ("false_refusals", "passes_refused", "mismatches"):
        found = failures(tallies, kind, examples=2)
        if found:
            lines.append(f"{kind.replace('_', ' ')}, examples:")
            lines += [f"  {line}" for line in found]
    renamed = sorted(
        f"{p.label} {p.field} -> {p.column.key}"
        for p in run.places
        if p.column.name not in (p.field, p.key)
    )
    lines.append("fields named other than the column they fill: " + (", ".join(renamed) or "none"))
    shared = sorted(
        {
            f"{p.column.key} [{', '.join(p.column.shared_checks)}]"
            for p in run.unjudged
            if p.column.shared_checks
        }
    )
    if shared:
        lines.append(
            "filled, under CHECKs over several columns only (not judged value by value): "
            + ", ".join(shared)
        )
    return lines


def test_every_place_a_rule_lives_is_found(parity: Run) -> None:
    triples = {p.triple() for p in parity.places}
    assert triples, "no place fills a checked column: the discovery found nothing"
    assert not KNOWN - triples, f"places not found: {sorted(KNOWN - triples)}"
    assert {p.kind for p in parity.places} == {"params", "rows", "keyword", "schema"}
    # Every request schema with a field on a checked column is there, every Params model too.
    assert {p.owner for p in parity.places if p.kind == "schema"} >= {
        "PartCreate",
        "PartUpdate",
        "LotCreate",
        "LotUpdate",
        "DefectCreate",
        "DefectUpdate",
        "InspectionCreate",
        "InspectionUpdate",
        "InferenceJobCreate",
        "ArtifactCreate",
        "ReportCreate",
    }
    assert all(t.tried >= 40 for t in parity.tallies.values())


def test_the_client_refuses_nothing_the_server_stores(parity: Run) -> None:
    found = failures(parity.tallies.values(), "false_refusals")
    assert not found, "the client refuses what the server stores:\n" + "\n".join(found)


def test_the_client_sends_what_the_server_stores(parity: Run) -> None:
    found = failures(parity.tallies.values(), "mismatches")
    assert not found, "the server stores something else than the client sent:\n" + "\n".join(found)


def test_a_translated_rule_passes_nothing_the_server_refuses(parity: Run) -> None:
    found = failures(parity.tallies.values(), "passes_refused", only_translated=True)
    assert not found, "a field carrying a Check passes what the server refuses:\n" + "\n".join(
        found
    )


# -- keyword functions enforce their annotations ---------------------------------------

DUMMIES: list[Any] = [uuid4(), datetime.now(UTC), "parity-dummy", 1, Decimal("0.5"), True, {}]


def dummy(annotation: Any) -> Any:
    """A value the annotation takes: None where it may be, else a harmless one."""
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    for candidate in [None, *_enum_members(annotation), *DUMMIES]:
        try:
            adapter.validate_python(candidate, strict=True)
        except ValidationError:
            continue
        return candidate
    raise AssertionError(f"no dummy value for {annotation}")


def _enum_members(annotation: Any) -> list[Any]:
    members: list[Any] = []
    for argument in [annotation, *typing.get_args(annotation)]:
        if isinstance(argument, type) and issubclass(argument, Enum):
            members.append(next(iter(argument)))
    return members


def keyword_function(place: Place) -> Any:
    module_name, name = place.owner.split(".")
    (module,) = [m for m in query_modules() if m.__name__.endswith(f".{module_name}")]
    return getattr(module, name)


async def test_keyword_functions_enforce_their_annotations(parity: Run, shared_db_url: str) -> None:
    """For each keyword argument carrying a rule, the function itself refuses every
    value the annotation refused, before any round trip, and takes (no ValidationError)
    values the annotation passed, in a real call rolled back."""
    checked = [p for p in parity.places if p.kind == "keyword" and p.rule]
    assert checked
    conn = await asyncpg.connect(shared_db_url)
    await chip_quality_queries.init_connection(conn)
    problems: list[str] = []
    try:
        for place in checked:
            function = keyword_function(place)
            hints = typing.get_type_hints(function, include_extras=True)
            others = {
                name: dummy(hint)
                for name, hint in hints.items()
                if name not in ("db", "conn", "return", place.field)
            }
            tally = parity.tallies[place]
            assert tally.refused and tally.accepted, f"{place.owner} {place.field}: one-sided"
            sent: list[str] = []

            def log(record: Any, sent: list[str] = sent) -> None:
                sent.append(record.query)

            conn.add_query_logger(log)
            try:
                for value in tally.refused[:300]:
                    try:
                        await function(conn, **others, **{place.field: value})
                    except ValidationError:
                        continue
                    except Exception as error:
                        problems.append(f"{place.owner}({place.field}={shown(value)}): {error!r}")
                    else:
                        problems.append(f"{place.owner}({place.field}={shown(value)}) took it")
            finally:
                conn.remove_query_logger(log)
            if sent:
                problems.append(f"{place.owner}: {len(sent)} round trips for refused values")
            for value in tally.accepted[:20]:
                transaction = conn.transaction()
                await transaction.start()
                try:
                    await function(conn, **others, **{place.field: value})
                except ValidationError as error:
                    problems.append(f"{place.owner}({place.field}={shown(value)}) refused: {error}")
                except Exception:  # the server's verdict is not the point here
                    pass
                finally:
                    await transaction.rollback()
    finally:
        await conn.close()
    assert not problems, "\n".join(problems)
