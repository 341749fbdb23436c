"""Sample arguments for generated query functions, derived from their signatures.

Shared by the generator's execution tier (tests/execution/test_execution.py, every
golden case's functions run against PostgreSQL) and `make compat` (the previous
release's functions run against the current schema): keyword arguments, the fields
of a Params model, or rows of NamedTuples for a bulk function, each given a value of
its annotated type by position `k`, or the caller's own value by name. Calls run in
ROUNDS (values; None for everything nullable; the first values again), writes
before reads (ORDER), and UUIDs that results held become the UUID arguments of later
rounds (keys the database generated).
"""

from __future__ import annotations

import enum
import importlib
import inspect
import pkgutil
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from types import ModuleType
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg import BitString, Point, Range
from pydantic import AwareDatetime, BaseModel, JsonValue, NaiveDatetime

from sqlc_gen_asyncpg.statements import statement_of
from sqlc_gen_asyncpg.tree import parse

# Writes first, so that reads find rows; deletes last.
ORDER = {"insert": 0, "update": 1, "delete": 3}
ROUNDS = ((0, False), (10, True), (0, False))  # (first value index, None where nullable)
BULK_ROWS = 3


@dataclass
class Function:
    module: str
    name: str
    function: Callable[..., Any]
    hints: dict[str, Any]
    command: str
    order: int
    source: str  # the module's file
    query: str = ""  # the query's name in its .sql file, `GetLot`
    completed: int = 0
    returned_rows: int = 0
    refusals: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass
class Values:
    """Sample values of parameter types, by position `k`; and the case's own."""

    named: dict[str, Any]
    uuids: list[UUID] = field(default_factory=list)  # seen in results
    learn: bool = False  # use the seen UUIDs

    def of(self, name: str, annotation: Any, k: int, nulls: bool) -> Any:
        if name in self.named:
            return self.named[name]
        return self.sample(annotation, k, nulls)

    def sample(self, annotation: Any, k: int, nulls: bool) -> Any:
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is typing.Annotated:
            return self.sample(args[0], k, nulls)
        if origin in (types.UnionType, typing.Union):
            if nulls and type(None) in args:
                return None
            return self.sample(next(a for a in args if a is not type(None)), k, nulls)
        if origin is list:
            return [self.sample(args[0], k + i, nulls=False) for i in range(2)]
        if origin is Range:
            return Range(self.sample(args[0], k, False), self.sample(args[0], k + 3, False))
        if annotation is type(None):
            return None
        if annotation == JsonValue:
            return {"k": k, "tags": ["a", None]}
        if annotation is NaiveDatetime:
            return datetime(2026, 1, 2, 3, 4) + timedelta(hours=k)
        if annotation is AwareDatetime:
            return datetime(2026, 1, 2, 3, 4, tzinfo=UTC) + timedelta(hours=k)
        if annotation is UUID:
            if self.learn and self.uuids:
                return self.uuids[k % len(self.uuids)]
            return UUID(int=k + 1)
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            members = list(annotation)
            return members[k % len(members)]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation(
                **{
                    name: self.of(name, info.annotation, k, nulls)
                    for name, info in annotation.model_fields.items()
                }
            )
        simple: dict[Any, Callable[[int], Any]] = {
            bool: lambda k: k % 2 == 0,
            int: lambda k: k + 1,
            float: lambda k: k + 0.5,
            Decimal: lambda k: Decimal(k + 1) + Decimal("0.25"),
            str: lambda k: f"v{k}",
            object: lambda k: f"v{k}",  # a type sqlc could not infer: text is the safest
            bytes: lambda k: f"v{k}".encode(),
            date: lambda k: date(2026, 1, 2) + timedelta(days=k),
            time: lambda k: time(3, 4, k % 60),
            datetime: lambda k: datetime(2026, 1, 2, 3, 4, tzinfo=UTC) + timedelta(hours=k),
            timedelta: lambda k: timedelta(hours=k + 1),
            IPv4Address: lambda k: IPv4Address(f"10.0.0.{k + 1}"),
            IPv4Interface: lambda k: IPv4Interface(f"10.0.{k}.1/24"),
            IPv4Network: lambda k: IPv4Network(f"10.{k}.0.0/16"),
            BitString: lambda k: BitString.frombytes(b"\xa0", 3),  # 101
            Point: lambda k: Point(k, k + 1),
        }
        if annotation in simple:
            return simple[annotation](k)
        raise AssertionError(
            f"no sample value of {annotation!r}: give one in the case's execution.toml [values]"
        )

    def remember(self, result: Any) -> None:
        """Keep the UUIDs a result holds: keys the database made, for later arguments."""
        if isinstance(result, UUID) and result not in self.uuids:
            self.uuids.append(result)
        elif isinstance(result, list):
            for item in result:
                self.remember(item)
        elif isinstance(result, BaseModel):
            for name in type(result).model_fields:
                self.remember(getattr(result, name))


def package_modules(package: str) -> list[ModuleType]:
    """The query modules of a generated package (not its runtime or models)."""
    root = importlib.import_module(package)
    return [
        importlib.import_module(f"{package}.{info.name}")
        for info in pkgutil.iter_modules(root.__path__)
        if not info.name.startswith("_") and info.name != "models"
    ]


def functions_of(modules: Iterable[ModuleType]) -> list[Function]:
    """The public query functions of these generated modules, writes first."""
    found = []
    for module in modules:
        for name, function in vars(module).items():
            if name.startswith("_") or getattr(function, "__module__", None) != module.__name__:
                continue
            if not (inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)):
                continue
            # Every annotation must evaluate: FastAPI, pydantic's validate_call and
            # typing.get_type_hints all do.
            hints = typing.get_type_hints(function)
            # The query's constant is its function's name in capitals, without the
            # underscore of a name escaped for a builtin (`list_`: LIST).
            sql = getattr(module, name.removeprefix("iter_").upper().rstrip("_"))
            query, command = sql.partition("\n")[0].split()[-2:]  # -- name: Query :command
            kind = statement_of(parse(sql)).kind
            order = ORDER.get(kind, 2)
            source = module.__file__ or ""
            short = module.__name__.rpartition(".")[2]
            found.append(
                Function(short, name, function, hints, command, order, source, query=query)
            )
    return sorted(found, key=lambda f: f.order)


def arguments(function: Function, values: Values, first: int, nulls: bool) -> dict[str, Any]:
    parameters = list(inspect.signature(function.function).parameters)[1:]
    given: dict[str, Any] = {}
    for name in parameters:
        hint = function.hints[name]
        if name == "rows":  # Iterable[<Query>Params], a NamedTuple
            row_type = typing.get_args(hint)[0]
            fields = typing.get_type_hints(row_type)
            given[name] = [
                row_type(**{f: values.of(f, fields[f], first + i, nulls) for f in fields})
                for i in range(BULK_ROWS)
            ]
        elif name == "prefetch":
            given[name] = 2  # several fetches from the cursor
        elif isinstance(hint, type) and issubclass(hint, BaseModel):
            typing.get_type_hints(hint)  # a Params model's annotations evaluate too
            given[name] = values.sample(hint, first, nulls)
        else:
            given[name] = values.of(name, hint, first, nulls)
    return given


def has_rows(function: Function, result: Any) -> bool:
    """Whether a result holds a row (one value is a row of a one-column result)."""
    if function.command == ":one":
        return result is not None
    if function.command == ":batchone":
        return any(item is not None for item in result)
    if function.command == ":batchmany":
        return any(result)
    return bool(result) if isinstance(result, list) else True


async def call(function: Function, conn: asyncpg.Connection, given: dict[str, Any]) -> Any:
    result = function.function(conn, **given)
    if inspect.isasyncgen(result):
        return [item async for item in result]
    return await result
