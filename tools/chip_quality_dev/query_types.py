"""Types as the server sees them: every named query's parameter and column types, as
PostgreSQL reports them, against the generated package's annotations.

    python -m chip_quality_dev.query_types     # make query-types; needs DATABASE_URL

sqlc infers types without a server, and sometimes wrongly (an expression it cannot
type, a function it resolves to the wrong overload). The server is the judge: each
query's SQL constant, exactly as the generated module ships it, is prepared on a
database migrated from zero, and asyncpg's prepared statement describes the type of
every `$n` and every result column (`get_parameters()`, `get_attributes()`).

What the generated code should say for a server type is decided by the generator
itself: its TypeResolver (sqlc_gen_asyncpg.catalog, over pgtypes), built from the
request sqlc sends the plugin for this sqlc.yaml, so enums, renames, composites,
domains and `db_type` overrides resolve as they did when the package was written.
That annotation and the generated one are compared after dropping what the server
cannot tell apart:

- nullability (`T | None`): the protocol does not carry it, so it is not checked;
- `Annotated[T, CHECK]`: the constraint is the schema's, the type is T;
- array depth (`list[list[int]]`): PostgreSQL's array types have no dimensions.

Overrides are judged like the rest (a `result` override that corrects sqlc must name
the server's type), except over json and jsonb: the server knows only that the value
is JSON, and an override that says what it holds (the project's defects as Defect
models) is the person's word, counted as not judged.

The annotations are the generated package's own, read with typing.get_type_hints and
inspect: keyword arguments or the fields of the Params model (or bulk row tuple) in
$n order, which is how the generated function passes them; the row model's fields
in column order (rows are built by position), an embedded table's model standing for
its columns, or the one scalar of a single-column result.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import subprocess
import sys
import tempfile
import time
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NamedTuple, Union

import asyncpg
from asyncpg.types import Attribute, Type
from pydantic import BaseModel

from sqlc_gen_asyncpg.catalog import TypeResolver, build_catalog, ref_type, row_type
from sqlc_gen_asyncpg.inputs import InputError, read_inputs
from sqlc_gen_asyncpg.options import parse_options
from sqlc_gen_asyncpg.pgtypes import PyType
from sqlc_gen_asyncpg.request import Identifier, parse_request
from sqlc_gen_asyncpg.runtime import QueryInfo

from .migrations import migrated_database

CONFIG = "sqlc.yaml"
PLUGIN_COMMAND = "cmd: sqlc-gen-asyncpg"
# The lists a command's function wraps its rows in: `list[Row]` for :many, a list per
# item for the batches. Commands missing here return no rows (a count, a status,
# nothing): their columns, if the statement has any, are not read.
ROW_LISTS = {":one": 0, ":many": 1, ":batchone": 1, ":batchmany": 2}
JSON_TYPES = frozenset({"json", "jsonb"})


@dataclass(frozen=True)
class Difference:
    module: str  # the generated module's file, `lots.py`
    query: str
    what: str  # `parameter $1 lot_id`, `column yield_pct`
    generated: str  # the annotation as written
    server: str  # the server's type and what the generator makes of it

    def __str__(self) -> str:
        return (
            f"{self.module} {self.query} {self.what}: "
            f"generated {self.generated}, server {self.server}"
        )


@dataclass
class Report:
    differences: list[Difference]
    queries: int = 0
    values: int = 0  # parameters and columns compared
    declared: int = 0  # typed by an override: not judged


class Slot(NamedTuple):
    """One generated value: a parameter or a result column."""

    name: str  # the parameter's or field's name; `inspections.id` in an embedded table
    written: str  # the annotation as the module writes it
    annotation: object  # the same, evaluated


def sqlc_request(config_dir: Path) -> bytes:
    """The GenerateRequest sqlc sends the plugin for `config_dir`/sqlc.yaml.

    sqlc runs in a scratch folder, with a copy of the config whose plugin is a
    stand-in that records its standard input and answers with no files, beside
    links to everything else in `config_dir` (the schema and query paths).
    """
    config = (config_dir / CONFIG).read_text()
    if PLUGIN_COMMAND not in config:
        raise RuntimeError(f"{config_dir / CONFIG}: no `{PLUGIN_COMMAND}` to stand in for")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for entry in config_dir.iterdir():
            if entry.name != CONFIG:
                (work / entry.name).symlink_to(entry.resolve())
        recorded, recorder = work / "recorded-request.json", work / "record-request"
        recorder.write_text(f"#!/bin/sh\ncat > '{recorded}'\necho '{{\"files\": []}}'\n")
        recorder.chmod(0o755)
        (work / CONFIG).write_text(config.replace(PLUGIN_COMMAND, f"cmd: {recorder}"))
        result = subprocess.run(
            ["sqlc", "generate"], cwd=work, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"sqlc failed:\n{result.stderr}")
        return recorded.read_bytes()


def type_resolver(request: bytes, config_dir: Path) -> TypeResolver:
    """The generator's own type resolution for this request, built as generation builds it."""
    parsed = parse_request(request)
    inputs = read_inputs(parsed, parse_options(parsed.plugin_options), config_dir)
    return build_catalog(inputs).resolver


def shape(annotation: object) -> object:
    """What an annotation says about a value that the server can confirm: without
    Annotated metadata, without None, and with nested lists as one list."""
    if annotation is None:  # a function that returns None: evaluated, NoneType
        return type(None)
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return shape(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        kinds = frozenset(shape(a) for a in typing.get_args(annotation) if a is not type(None))
        return next(iter(kinds)) if len(kinds) == 1 else kinds
    if origin is list:
        inner = shape(typing.get_args(annotation)[0])
        return inner if isinstance(inner, tuple) and inner[0] is list else (list, inner)
    if origin is not None:
        return (origin, tuple(shape(a) for a in typing.get_args(annotation)))
    return annotation


def _without_none(annotation: object) -> object:
    """`T | None` and `Annotated[T, ...]` as T."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


def _item(annotation: object, lists: int) -> object:
    """The type of one row in a function's return annotation: `lists` lists and any
    None taken off (`list[Row]` for :many gives Row, `list[int] | None` for :one stays)."""
    annotation = _without_none(annotation)
    for _ in range(lists):
        annotation = _without_none(typing.get_args(annotation)[0])
    return annotation


def _is_model(annotation: object) -> typing.TypeGuard[type[BaseModel]]:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _fields(holder: type, prefix: str = "") -> list[Slot]:
    """The fields of a model or NamedTuple in order: the class's own annotations."""
    hints = typing.get_type_hints(holder, include_extras=True)
    return [
        Slot(f"{prefix}{name}", str(written), hints[name])
        for name, written in inspect.get_annotations(holder).items()
        if typing.get_origin(hints[name]) is not typing.ClassVar
    ]


def _text(annotation: object) -> str:
    """An evaluated annotation written as the generated code writes it."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is None or annotation is type(None):
        return "None"
    if origin is Annotated:
        return _text(args[0])
    if origin in (Union, types.UnionType):
        return " | ".join(_text(a) for a in args)
    if origin is not None:
        return f"{_text(origin)}[{', '.join(_text(a) for a in args)}]"
    return str(getattr(annotation, "__name__", annotation))


class Checker:
    """Compares one generated package with the server, query by query."""

    def __init__(self, resolver: TypeResolver) -> None:
        self.resolver = resolver
        self.package = resolver.options.package

    def expected(self, server: Type, *, column: bool) -> PyType | str:
        """The generator's type for a value of `server`'s type (or why it has none)."""
        array = server.kind == "array"
        name = server.name.removesuffix("[]") if array else server.name
        found = self.resolver.base_type(Identifier("", server.schema, name))
        if isinstance(found, str):
            return found
        found = found.list_of(1) if array else found
        return row_type(found) if column else found

    def evaluate(self, py_type: PyType) -> object:
        """A generator annotation as the object it names, from its own imports (a
        relative module is the generated package's)."""
        namespace = {
            name: getattr(importlib.import_module(module, self.package), name)
            for module, name in py_type.imports
        }
        return eval(py_type.annotation, namespace)  # the generator's text, as typing evaluates

    def declared(self, query: str, slot: Slot, server: tuple[str, Type]) -> bool:
        """Whether `slot` is JSON given a type by a `result` or `column` override (the
        project's defects as Defect models): the server knows only that it is JSON, the
        person says what it holds. Overrides of other types are judged like the rest."""
        server_name, server_type = server
        if server_type.name not in JSON_TYPES:
            return False
        options = self.resolver.options
        names = {slot.name.rsplit(".", 1)[-1], server_name}
        if {f"{query}.{name}" for name in names} & set(options.result_overrides):
            return True
        return any(
            key.rsplit(".", 1)[-1] in names
            and shape(self.evaluate(ref_type(ref))) == shape(slot.annotation)
            for key, ref in options.column_overrides.items()
        )

    def compare(
        self,
        where: tuple[str, str],
        slots: Sequence[Slot],
        server: Sequence[tuple[str, Type]],
        report: Report,
        *,
        columns: bool,
    ) -> None:
        """Each generated value against the server's type at its position."""
        if len(slots) != len(server):
            kind = "columns" if columns else "parameters"
            report.differences.append(
                Difference(*where, kind, f"{len(slots)} {kind}", f"{len(server)} {kind}")
            )
            return
        for position, (slot, (server_name, server_type)) in enumerate(
            zip(slots, server, strict=True), 1
        ):
            report.values += 1
            label = f"column {slot.name}" if columns else f"parameter ${position} {slot.name}"
            if self.declared(where[1], slot, (server_name, server_type)):
                report.declared += 1
                continue
            expected = self.expected(server_type, column=columns)
            if isinstance(expected, str):
                said = f"{server_type.name} (no Python type: {expected})"
            elif shape(self.evaluate(expected)) != shape(slot.annotation):
                said = f"{server_type.name} ({expected.annotation})"
            else:
                continue
            report.differences.append(Difference(*where, label, slot.written, said))

    async def check_query(self, conn: asyncpg.Connection, info: QueryInfo, report: Report) -> None:
        """One query of the package's `_catalog.QUERIES`: prepared, then compared."""
        module_name, function_name = info.function.split(".")
        module = importlib.import_module(f"{self.package}.{module_name}")
        where = (f"{module_name}.py", info.name)
        header = f"-- name: {info.name} "
        sql = next(
            (v for v in vars(module).values() if isinstance(v, str) and v.startswith(header)), None
        )
        if sql is None:  # the catalog and the module disagree: `make generate`
            report.differences.append(Difference(*where, "statement", "none", "not asked"))
            return
        try:
            statement = await conn.prepare(sql)
        except asyncpg.PostgresError as exc:
            report.differences.append(Difference(*where, "statement", "SQL", f"refuses it: {exc}"))
            return
        report.queries += 1
        function = getattr(module, function_name)
        hints = typing.get_type_hints(function, include_extras=True)
        parameters = [(f"${n}", t) for n, t in enumerate(statement.get_parameters(), start=1)]
        self.compare(where, param_slots(function, hints), parameters, report, columns=False)
        if info.command in ROW_LISTS:
            attributes = statement.get_attributes()
            row = _item(hints["return"], ROW_LISTS[info.command])
            slots = self.column_slots(where[1], row, attributes)
            columns = [(a.name, a.type) for a in attributes]
            self.compare(where, slots, columns, report, columns=True)

    def column_slots(self, query: str, row: object, attributes: Sequence[Attribute]) -> list[Slot]:
        """The generated values of one row: the row model's fields in order (rows are
        built by position), or the one value of a single-column result."""
        first = attributes[0].name if attributes else ""
        if not _is_model(row) or (len(attributes) == 1 and attributes[0].type.kind == "composite"):
            return [Slot(first, _text(row), row)]
        slots: list[Slot] = []
        for field in _fields(row):
            at = len(slots)
            model = _without_none(field.annotation)
            # A model of the package where the server has a plain column, and no
            # override put it there, is an embedded table (sqlc.embed): its fields
            # stand for that many columns.
            if (
                _is_model(model)
                and model.__module__ == f"{self.package}.models"
                and at < len(attributes)
                and attributes[at].type.kind != "composite"
                and not self.declared(query, field, (attributes[at].name, attributes[at].type))
            ):
                slots.extend(_fields(model, f"{field.name}."))
            else:
                slots.append(field)
        return slots

    async def check(self, url: str) -> Report:
        """Every query of the package, prepared on the database at `url`."""
        catalog = importlib.import_module(f"{self.package}._catalog")
        report = Report([])
        conn = await asyncpg.connect(url)
        try:
            for info in catalog.QUERIES:
                await self.check_query(conn, info, report)
        finally:
            await conn.close()
        return report


def param_slots(function: Any, hints: dict[str, Any]) -> list[Slot]:
    """The values sent for $1, $2, ...: keyword arguments, or the fields of the
    `params` model or of the `rows`' tuples, in the order the function sends them."""
    parameters = list(inspect.signature(function).parameters.values())[1:]  # after db
    if parameters and parameters[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
        holder = hints[parameters[0].name]
        if typing.get_origin(holder) is Iterable:  # rows: Iterable[XParams]
            holder = typing.get_args(holder)[0]
        return _fields(holder)
    return [Slot(p.name, str(p.annotation), hints[p.name]) for p in parameters]


def main(argv: list[str] | None = None) -> int:
    if sys.argv[1:] if argv is None else argv:
        print("usage: python -m chip_quality_dev.query_types", file=sys.stderr)
        return 2
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("query-types: DATABASE_URL is not set (run through `localdb run`)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        checker = Checker(type_resolver(sqlc_request(Path.cwd()), Path.cwd()))
        with migrated_database(url, f"query_types_{os.getpid()}") as scratch:
            report = asyncio.run(checker.check(scratch))
    except (
        RuntimeError,  # sqlc failed
        ValueError,  # the request or the plugin options
        InputError,
        OSError,
        subprocess.CalledProcessError,  # dbmate failed
        asyncpg.PostgresError,
    ) as exc:
        print(f"query-types: {exc}", file=sys.stderr)
        return 1
    for difference in report.differences:
        print(difference, file=sys.stderr)
    elapsed = time.perf_counter() - started
    declared = f" ({report.declared} typed by an override, not judged)" if report.declared else ""
    summary = f"{report.queries} queries, {report.values} parameters and columns{declared}"
    if report.differences:
        print(f"query-types: {len(report.differences)} differences in {summary}", file=sys.stderr)
        return 1
    print(f"query-types: {summary} match the server's types ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
