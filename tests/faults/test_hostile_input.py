"""Hostile input: every generated query function and every API schema, fed by hypothesis.

Each call returns, or raises one of the project's errors (pydantic's ValidationError for
the API schemas); rows the call did not target stay as they were; nothing else escapes.
"""

from __future__ import annotations

import asyncio
import enum
import importlib
import inspect
import pkgutil
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel, JsonValue, ValidationError

import chip_quality_queries
from chip_quality_db import (
    DatabaseError,
    IntegrityError,
    create_pool,
    load_settings,
    schemas,
    transaction,
)

from .conftest import ERRORS_SURFACED, FIGURES

SQL_METACHARACTERS = [
    "'; DROP TABLE parts; --",
    '" OR 1=1 --',
    "%",
    "_",
    "\\",
    "$1",
    "';SELECT pg_sleep(5)--",
    "PCB-%",
    "LOT-_",
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "\u202e",
    "",
]
hostile_text = st.one_of(
    st.sampled_from(SQL_METACHARACTERS),
    st.text(max_size=30),
    st.text(alphabet=st.characters(categories=["Cs", "Cc"]), max_size=5),
    st.just("x" * 300_000),
)
hostile_int = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, -(2**31) - 1, 2**63, -(2**63) - 1]),
)
hostile_json: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), hostile_int, st.floats(), hostile_text),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(hostile_text, inner, max_size=3)
    ),
    max_leaves=8,
)


def deeply_nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"n": value}
    return value


hostile_json = st.one_of(hostile_json, st.just(deeply_nested(400)), st.just({"nan": float("nan")}))
hostile_datetime = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from([datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)]),
)


# A value of some other type than the parameter's: what a caller bypassing the
# type checker (or a Params model built with model_construct) can hand over.
wrongly_typed: st.SearchStrategy[Any] = st.deferred(
    lambda: st.one_of(
        hostile_text, hostile_int, st.floats(), st.uuids(), st.booleans(), st.dates(), hostile_json
    )
)


def strategy_for(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of a parameter's type, hostile ones, and now and then one of another type."""
    return st.one_of(typed_strategy_for(annotation), wrongly_typed)


def typed_strategy_for(annotation: Any) -> st.SearchStrategy[Any]:
    """Hostile values of a parameter's type."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        return st.one_of(*(strategy_for(arg) for arg in args))
    if origin is typing.Annotated:
        return strategy_for(args[0])
    if origin in (list, Sequence, Iterable):
        return st.lists(strategy_for(args[0]), min_size=1, max_size=3)
    if annotation is type(None):
        return st.none()
    if annotation == JsonValue:
        return hostile_json
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return st.one_of(st.sampled_from(list(annotation)), hostile_text)
        if issubclass(annotation, BaseModel):
            fields = {
                name: strategy_for(info.annotation)
                for name, info in annotation.model_fields.items()
            }
            return st.builds(lambda **kw: annotation.model_construct(**kw), **fields)
        if issubclass(annotation, tuple) and hasattr(annotation, "_fields"):
            hints = typing.get_type_hints(annotation)
            return st.builds(annotation, **{f: strategy_for(hints[f]) for f in annotation._fields})
        simple = {
            str: hostile_text,
            int: hostile_int,
            bool: st.booleans(),
            UUID: st.uuids(),
            float: st.floats(),
            Decimal: st.decimals(),
            date: st.dates(),
            datetime: hostile_datetime,
            time: st.times(),
            timedelta: st.timedeltas(),
            bytes: st.binary(max_size=50),
        }
        for python_type, strategy in simple.items():
            if issubclass(annotation, python_type):
                return strategy
    if annotation is AwareDatetime:
        return hostile_datetime
    if annotation in (Any, object):
        return hostile_json
    raise AssertionError(f"no hostile strategy for {annotation!r}")


def query_functions() -> list[tuple[str, Callable[..., Any], dict[str, Any]]]:
    found = []
    for info in pkgutil.iter_modules(chip_quality_queries.__path__):
        if info.name.startswith("_") or info.name == "models":
            continue
        module = importlib.import_module(f"chip_quality_queries.{info.name}")
        namespace = vars(module)
        for name, function in inspect.getmembers(module, inspect.iscoroutinefunction):
            if name.startswith("_") or function.__module__ != module.__name__:
                continue
            hints = {
                param: eval(annotation, namespace)
                for param, annotation in function.__annotations__.items()
                if param not in ("db", "return")
            }
            found.append((f"{info.name}.{name}", function, hints))
    return found


QUERY_FUNCTIONS = query_functions()

# The rows no call targets: created before the calls, compared after them.
SNAPSHOT = """
SELECT (SELECT jsonb_agg(to_jsonb(p)) FROM parts p WHERE p.part_number = 'PCB-CANARY-1')
    || (SELECT jsonb_agg(to_jsonb(l)) FROM lots l WHERE l.lot_number = 'LOT-CANARY-1')
"""


@pytest.mark.parametrize(
    ("name", "function", "hints"), QUERY_FUNCTIONS, ids=[name for name, _, _ in QUERY_FUNCTIONS]
)
def test_hostile_values_give_a_result_or_a_project_error(
    db_url: str, name: str, function: Callable[..., Any], hints: dict[str, Any]
) -> None:
    # Hypothesis drives plain functions: this test runs its own event loop for the calls.
    loop = asyncio.new_event_loop()
    pool = loop.run_until_complete(
        create_pool(load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=1))
    )
    calls = 0

    async def setup() -> Any:
        async with transaction(pool, actor="canary") as tx:
            await tx.execute(
                "INSERT INTO parts (part_number, part_name, part_type) "
                "VALUES ('PCB-CANARY-1', 'canary', 'pcb')"
            )
            await tx.execute(
                "INSERT INTO lots (lot_number, part_id, production_date, batch_size,"
                " production_line) SELECT 'LOT-CANARY-1', id, '2025-01-01', 10, 'L' FROM parts"
            )
        return await pool.fetchval(SNAPSHOT)

    async def one_call(arguments: dict[str, Any], on_pool: bool) -> None:
        try:
            if on_pool and not name.split(".")[1].startswith("iter_"):
                result = function(pool, **arguments)  # the bare pool: no transaction
                await result
                return
            async with transaction(pool, actor="fuzzer") as tx:
                result = function(tx, **arguments)
                if inspect.isasyncgen(result):
                    [_ async for _ in result]
                else:
                    await result
        except DatabaseError as exc:
            ERRORS_SURFACED[type(exc).__name__] += 1
            if isinstance(exc, IntegrityError) and not names_what_broke(exc, hints):
                UNNAMED.append(f"{name}: {exc}")
        except ValidationError:
            ERRORS_SURFACED["ValidationError"] += 1
        except Exception as exc:  # anything else reached the caller: the test fails below
            UNHANDLED.append(f"{name}: {type(exc).__name__}: {exc}")

    @settings(
        max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(
        st.fixed_dictionaries({param: argument_strategy(hint) for param, hint in hints.items()}),
        st.booleans(),
    )
    def call(arguments: dict[str, Any], on_pool: bool) -> None:
        nonlocal calls
        calls += 1
        loop.run_until_complete(one_call(arguments, on_pool))

    try:
        before = loop.run_until_complete(setup())
        call()
        after = loop.run_until_complete(pool.fetchval(SNAPSHOT))
    finally:
        loop.run_until_complete(pool.close())
        loop.close()
    FIGURES["hostile input: calls tried"] = FIGURES.get("hostile input: calls tried", 0) + calls
    FIGURES["hostile input: unhandled (not a project error)"] = len(UNHANDLED)
    FIGURES["hostile input: data errors naming no parameter, column or constraint"] = len(UNNAMED)
    assert after == before, "a row the calls did not target changed"
    assert not [u for u in UNHANDLED if u.startswith(f"{name}:")], UNHANDLED[:5]
    assert not [u for u in UNNAMED if u.startswith(f"{name}:")], UNNAMED[:5]


UNHANDLED: list[str] = []
UNNAMED: list[str] = []


def argument_strategy(hint: Any) -> st.SearchStrategy[Any]:
    """The rows of a bulk function stay a list, a Params model stays that model: the
    values inside them vary in type (the model is built with model_construct)."""
    if typing.get_origin(hint) is Iterable:
        return rows_strategy(typing.get_args(hint)[0])
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return typed_strategy_for(hint)
    return strategy_for(hint)


def rows_strategy(row_type: Any) -> st.SearchStrategy[Any]:
    return st.lists(typed_strategy_for(row_type), min_size=1, max_size=3)


def names_what_broke(error: DatabaseError, hints: dict[str, Any]) -> bool:
    """Whether a data error's message names a constraint, a column or a parameter."""
    message = str(error)
    named = [error.constraint, error.column, *hints]
    for hint in hints.values():  # the fields of a Params model or of bulk rows
        model = typing.get_args(hint)[0] if typing.get_args(hint) else hint
        named.extend(getattr(model, "model_fields", None) or getattr(model, "_fields", ()))
    return any(word and word in message for word in named)


API_SCHEMAS = [
    getattr(schemas, name)
    for name in schemas.__all__
    if isinstance(getattr(schemas, name), type)
    and issubclass(getattr(schemas, name), BaseModel)
    and not name.endswith("Response")
    and name != "Page"
]


@pytest.mark.parametrize("schema", API_SCHEMAS, ids=lambda s: s.__name__)
def test_api_schemas_accept_or_refuse_hostile_input_with_field_errors(
    schema: type[BaseModel],
) -> None:
    tried = 0

    @settings(max_examples=60, deadline=None, database=None)
    @given(
        st.dictionaries(
            st.sampled_from([*schema.model_fields, "extra"]),
            st.one_of(hostile_text, hostile_int, hostile_json, st.none()),
            max_size=len(schema.model_fields) + 1,
        )
    )
    def validate(data: dict[str, Any]) -> None:
        nonlocal tried
        tried += 1
        try:
            schema.model_validate(data)
        except ValidationError as exc:
            assert all(error["loc"] for error in exc.errors())  # every error names a field

    validate()
    FIGURES["hostile input: API payloads tried"] = (
        FIGURES.get("hostile input: API payloads tried", 0) + tried
    )
