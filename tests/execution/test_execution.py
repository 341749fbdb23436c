"""The execution tier: every generated function of every golden case, run against PostgreSQL.

Output that compiles and passes mypy --strict can still fail the first time it
runs. For each folder under cases/ (a new one is picked up by itself), the case's
schema.sql is applied to a fresh database, then every public function of its query
modules is called with values derived from its signature: keyword arguments, the
fields of its Params model, or three rows of NamedTuples for a bulk function;
iterators are consumed. Each call runs in a savepoint of one transaction, in three
rounds (values; None for everything nullable; the first values again), writes
before reads, so that reads find the rows earlier calls wrote. UUIDs that results
held are used as the UUID arguments of later rounds (keys the database generated).

A call passes when its result fits its annotation: a pydantic TypeAdapter of the
return annotation as `typing.get_type_hints` evaluates it, in strict mode (a str
where an enum member is promised, a Decimal where an int is, fail). A call may
also be refused by the database for the values it was given: chip_quality_db's
error handler is installed in the case's runtime, and a refusal is its
`IntegrityError` (unique, foreign-key, CHECK, NOT NULL, raise_exception, and data
exceptions: 22xxx, or a value the driver cannot encode). Anything else fails the
test: any other DatabaseError (PostgreSQL refused the query itself: a column that
does not exist, a function it does not know), a driver exception that escaped the
handler, or an exception of the generated code (KeyError, AttributeError,
TypeError, a ValidationError of a result).

Every function must also have completed at least once, and one that returns rows
must have returned one. Where the derived values cannot do that (a string that
must be a MAC address, a table no query of the case fills), the case's
`execution.toml` says what to use:

    setup = "INSERT INTO authors (name) VALUES ('Ada')"   # SQL run after schema.sql
    [values]                                            # by parameter or field name
    mac = "08:00:2b:01:02:03"
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import tomllib
import typing
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from asyncpg import Range
from pydantic import (
    BaseModel,
    ConfigDict,
    TypeAdapter,
    ValidationError,
)

from chip_quality_db import AlreadyExistsError, IntegrityError
from chip_quality_db._errors import query_error
from chip_quality_dev.sample_values import (
    ROUNDS,
    Function,
    Values,
    arguments,
    call,
    functions_of,
    has_rows,
)
from tests.generator.golden import CASES, load

ANY_CLASS = ConfigDict(arbitrary_types_allowed=True)


def discover(case: str) -> list[Function]:
    load(case, "_runtime")  # puts the case's package on sys.path
    package = importlib.import_module(f"{case}_pkg")
    modules = [
        load(case, info.name)
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_") and info.name != "models"
    ]
    return functions_of(modules)


def fits(function: Function, result: Any) -> str | None:
    """Why `result` does not fit the function's return annotation, or None."""
    annotation = function.hints["return"]
    if inspect.isasyncgenfunction(function.function):  # AsyncIterator[T]: the items
        annotation = list[typing.get_args(annotation)[0]]  # type: ignore[misc]
    try:
        # A model carries its own config (a `:one` that always yields a row returns one).
        plain_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        adapter = (
            TypeAdapter(annotation) if plain_model else TypeAdapter(annotation, config=ANY_CLASS)
        )
        adapter.validate_python(result, strict=True)
    except ValueError as error:
        return f"returned {result!r}, which is no {annotation}: {error}"
    return None


def raised_by_generated_code(refusal: IntegrityError, source: str) -> bool:
    """Whether what the handler made a refusal came from the generated function itself (a
    result that failed validation inside the `try`), not from the driver or the server."""
    cause = refusal.__cause__
    if isinstance(cause, ValidationError):
        return True
    traceback = cause.__traceback__ if cause is not None else None
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback is not None and traceback.tb_frame.f_code.co_filename == source


async def run_case(case: str, conn: asyncpg.Connection, settings: dict[str, Any]) -> list[str]:
    """Run every function of the case; what went wrong, one line each."""
    values = Values(named=settings.get("values", {}))
    functions = discover(case)
    assert functions, f"case {case} generated no functions"
    problems: list[str] = []
    async with conn.transaction():
        for first, nulls in ROUNDS:
            for function in functions:
                given = arguments(function, values, first, nulls)
                refusal = await run_one(function, conn, given, values)
                if isinstance(refusal, AlreadyExistsError):
                    # A key an earlier write took (two writes of one table): fresh values.
                    given = arguments(function, values, first + 100, nulls)
                    await run_one(function, conn, given, values)
            values.learn = True
    for function in functions:
        problems.extend(function.problems)
        if function.problems:
            continue
        if not function.completed:
            reasons = "; ".join(dict.fromkeys(function.refusals))
            problems.append(f"{function.label}: never completed, always refused: {reasons}")
        elif function.hints["return"] is not type(None) and not function.returned_rows:
            problems.append(
                f"{function.label}: never returned a row: give its case rows to find "
                "(execution.toml: setup, values)"
            )
    return problems


async def run_one(
    function: Function, conn: asyncpg.Connection, given: dict[str, Any], values: Values
) -> IntegrityError | None:
    """Call `function` in a savepoint and check what it returns; the database's refusal
    of the values, if it refused them. Problems are kept on `function`."""
    try:
        async with conn.transaction():  # a savepoint
            result = await call(function, conn, given)
    except IntegrityError as refusal:  # the database refused these values
        if raised_by_generated_code(refusal, function.source):
            function.problems.append(
                f"{function.label}({given}): the handler took an error of the generated code "
                f"for a refusal of the values: {refusal.__cause__!r}"
            )
            return None
        function.refusals.append(str(refusal))
        return refusal
    except Exception as error:
        function.problems.append(f"{function.label}({given}): {type(error).__name__}: {error}")
        return None
    function.completed += 1
    function.returned_rows += has_rows(function, result)
    values.remember(result)
    mismatch = fits(function, result)
    if mismatch:
        function.problems.append(f"{function.label}: {mismatch}")
    return None


@pytest.fixture
async def case_db(empty_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(empty_db_url)
    yield conn
    await conn.close()


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
async def test_every_generated_function_runs_and_returns_what_it_promises(
    case: Path, case_db: asyncpg.Connection
) -> None:
    settings_file = case / "execution.toml"
    settings = tomllib.loads(settings_file.read_text()) if settings_file.exists() else {}
    await case_db.execute((case / "schema.sql").read_text())
    if settings.get("setup"):
        await case_db.execute(settings["setup"])
    runtime = load(case.name, "_runtime")
    await runtime.init_connection(case_db)
    runtime.set_error_handler(query_error)
    try:
        problems = await run_case(case.name, case_db, settings)
    finally:
        runtime.set_error_handler(None)
    assert not problems, "\n".join(problems)


def test_samples_of_each_parameter_type() -> None:
    values = Values(named={})
    assert values.sample(int | None, 0, nulls=True) is None
    assert values.sample(int | None, 0, nulls=False) == 1
    assert values.sample(list[list[str]], 0, nulls=False) == [["v0", "v1"], ["v1", "v2"]]
    assert values.sample(Range[int], 0, nulls=False) == Range(1, 4)
    values.uuids, values.learn = [UUID(int=7)], True
    assert values.sample(UUID, 3, nulls=False) == UUID(int=7)
