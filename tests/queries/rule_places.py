"""Where the client holds a rule for a checked column: found from the code and the SQL,
not from the generator's own analysis.

For every generated query function, its source (Python's `ast`) says which value it
sends as which placeholder: `db.fetchrow(CREATE_PART, params.part_number, ...)` sends
field part_number of its Params model as $1; a keyword argument is sent by name; the
rows of a `:copyfrom` or `:batch*` send their fields in order. The query's SQL
(the module's constant the function runs, parsed by pglast, PostgreSQL's parser)
says where each placeholder goes: a column of the INSERT's list (VALUES or SELECT
list, also ON CONFLICT DO UPDATE SET), or an UPDATE's SET, also inside WITH. A
placeholder counts when it fills the column as it is: alone, cast, or first in a
coalesce(). Every (place, field, table, column) whose column carries a rule (a CHECK
of its own or a type modifier) is a Place; an API schema's fields are those of the
Params model it is built from.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Annotated, Any

import pglast
from pglast import ast as pg
from pglast.stream import RawStream
from pydantic import BaseModel
from pydantic.fields import FieldInfo

import chip_quality_queries
from chip_quality_db import schemas
from chip_quality_queries._runtime import Check
from tests.parity import Column


@dataclass(frozen=True)
class Place:
    kind: str  # params | rows | keyword | schema
    # CreatePartParams, IngestDefectsParams, inference_jobs.claim_inference_jobs, PartCreate
    owner: str
    field: str  # the Python name
    key: str  # what a caller passes: the alias, or the name
    annotation: Any  # the field's annotation with its metadata
    column: Column
    casts: tuple[str, ...]  # the casts the query applies to the placeholder, innermost first
    query: str  # the function whose SQL was read
    model: type[BaseModel] | None = None  # the model that validates it (params, schema)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.owner}"

    @property
    def rule(self) -> str:
        """The Check the field carries (its constraint's name), "" when none."""
        return ", ".join(sorted({check.constraint for check in checks_in(self.annotation)}))

    def triple(self) -> tuple[str, str, str, str]:
        return (self.kind, self.owner, self.field, self.column.key)


def checks_in(annotation: Any) -> Iterator[Check]:
    """The Check objects anywhere in an annotation (Annotated metadata, unions)."""
    if isinstance(annotation, Check):
        yield annotation
        return
    if typing.get_origin(annotation) is Annotated:
        for item in annotation.__metadata__:
            yield from checks_in(item)
        yield from checks_in(annotation.__origin__)
        return
    for argument in typing.get_args(annotation):
        yield from checks_in(argument)


def full_annotation(info: FieldInfo) -> Any:
    """A pydantic field's annotation with its metadata, as the field validates."""
    return Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation


# -- the SQL ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    table: str
    column: str
    casts: tuple[str, ...]


def _is(node: Any, kind: type) -> bool:
    """isinstance without narrowing: pglast types every field of its nodes Optional."""
    return isinstance(node, kind)


def _walk(node: Any) -> Iterator[pg.Node]:
    if _is(node, pg.Node):
        yield node
        for name in node:
            yield from _walk(getattr(node, name))
    elif isinstance(node, tuple | list):
        for item in node:
            yield from _walk(item)


def _placeholder(expression: Any) -> tuple[int, tuple[str, ...]] | None:
    """($N, casts innermost first) when `expression` is a placeholder as it is: alone,
    cast, or the first argument of coalesce(); None for anything computed from it."""
    casts: list[str] = []
    node: Any = expression  # pglast types every field of its nodes Optional
    while True:
        if _is(node, pg.ParamRef):
            number: int = node.number
            return number, tuple(reversed(casts))
        if _is(node, pg.TypeCast):
            casts.append(RawStream()(node.typeName))
            node = node.arg
        elif _is(node, pg.CoalesceExpr) and node.args:
            node = node.args[0]
        else:
            return None


def filled_columns(sql: str, columns: dict[str, Column]) -> dict[int, list[Target]]:
    """$N -> the columns it fills, for every INSERT and UPDATE of the SQL (also in WITH)."""
    filled: dict[int, list[Target]] = {}

    def fill(table: str, column: str, expression: Any) -> None:
        found = _placeholder(expression)
        if found is not None:
            number, casts = found
            filled.setdefault(number, []).append(Target(table, column, casts))

    def set_list(table: str, targets: Any) -> None:
        for target in targets or ():
            if _is(target, pg.ResTarget) and target.name and not target.indirection:
                fill(table, target.name, target.val)

    node: Any  # pglast types every field of its nodes Optional
    for raw in pglast.parse_sql(sql):
        for node in _walk(raw.stmt):
            if _is(node, pg.InsertStmt):
                table = node.relation.relname
                names = (
                    [c.name for c in node.cols]
                    if node.cols
                    else [c.name for c in columns.values() if c.table == table]
                )
                select = node.selectStmt
                if _is(select, pg.SelectStmt) and select.valuesLists:
                    for row in select.valuesLists:
                        for name, expression in zip(names, row, strict=False):
                            fill(table, name, expression)
                elif _is(select, pg.SelectStmt) and select.targetList:
                    for name, target in zip(names, select.targetList, strict=False):
                        fill(table, name, target.val)
                if node.onConflictClause is not None:
                    set_list(table, node.onConflictClause.targetList)
            elif _is(node, pg.UpdateStmt):
                set_list(node.relation.relname, node.targetList)
    return filled


# -- the Python -------------------------------------------------------------------------


def query_modules() -> list[ModuleType]:
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(chip_quality_queries.__path__)
        if not info.name.startswith("_") and info.name != "models"
    )
    return [importlib.import_module(f"{chip_quality_queries.__name__}.{name}") for name in names]


def query_functions() -> Iterator[tuple[ModuleType, str, Any]]:
    for module in query_modules():
        for name, value in sorted(vars(module).items()):
            if (
                inspect.iscoroutinefunction(value) or inspect.isasyncgenfunction(value)
            ) and value.__module__ == module.__name__:
                yield module, name, value


def _source(node: ast.expr, parameters: set[str], model_parameter: str | None) -> str | None:
    """The field or keyword argument an argument of the driver call sends, if any."""
    while isinstance(node, ast.Call) and node.args:  # a wrapper such as db_value(x)
        node = node.args[0]
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == model_parameter
    ):
        return node.attr
    if isinstance(node, ast.Name) and node.id in parameters:
        return node.id
    return None


@dataclass(frozen=True)
class Sent:
    sql: str
    by_placeholder: dict[int, str]  # $N -> the field (of the model or the rows) or keyword


def sent_values(
    module: ModuleType, function: Any, rows_fields: tuple[str, ...] | None
) -> list[Sent]:
    """What the function sends to which placeholder, read from its source."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    definition = tree.body[0]
    assert isinstance(definition, ast.AsyncFunctionDef | ast.FunctionDef)
    parameters = {a.arg for a in [*definition.args.args, *definition.args.kwonlyargs]}
    hints = typing.get_type_hints(function)
    model_parameter = next((name for name, hint in hints.items() if _is_params_model(hint)), None)
    statements = {
        name
        for name, value in vars(module).items()
        if isinstance(value, str) and value.startswith("-- name:")
    }
    found: list[Sent] = []
    for node in ast.walk(definition):
        if not isinstance(node, ast.Call):
            continue
        for at, argument in enumerate(node.args):
            if not (isinstance(argument, ast.Name) and argument.id in statements):
                continue
            sql = getattr(module, argument.id)
            if rows_fields is not None:  # rows: their fields in order are $1, $2, ...
                found.append(Sent(sql, dict(enumerate(rows_fields, start=1))))
                continue
            sent: dict[int, str] = {}
            for number, value in enumerate(node.args[at + 1 :], start=1):
                source = _source(value, parameters, model_parameter)
                if source is not None:
                    sent[number] = source
            found.append(Sent(sql, sent))
    return found


def _is_params_model(hint: Any) -> bool:
    return (
        inspect.isclass(hint) and issubclass(hint, BaseModel) and hint.__name__.endswith("Params")
    )


def _rows_type(hint: Any) -> type[tuple[Any, ...]] | None:
    """The NamedTuple of `Iterable[X]`, when the hint is one."""
    for argument in typing.get_args(hint):
        if (
            inspect.isclass(argument)
            and issubclass(argument, tuple)
            and hasattr(argument, "_fields")
        ):
            return argument
    return None


def _targets(sent: Iterable[Sent], columns: dict[str, Column]) -> dict[str, list[Target]]:
    """Field or keyword -> the columns it fills."""
    by_source: dict[str, list[Target]] = {}
    for one in sent:
        for number, targets in filled_columns(one.sql, columns).items():
            source = one.by_placeholder.get(number)
            if source is None:
                continue
            for target in targets:
                if f"{target.table}.{target.column}" in columns:
                    by_source.setdefault(source, []).append(target)
    return by_source


def places(columns: dict[str, Column]) -> list[Place]:
    """Every place a field or keyword argument fills a column as it is (judged or not:
    `Column.judged` says whether a rule lives there)."""
    found: list[Place] = []
    for module, name, function in query_functions():
        hints = typing.get_type_hints(function, include_extras=True)
        query = f"{module.__name__.rsplit('.', 1)[-1]}.{name}"
        signature = inspect.signature(function)
        model = next((h for h in hints.values() if _is_params_model(h)), None)
        rows = next((r for h in hints.values() if (r := _rows_type(h)) is not None), None)
        rows_fields: tuple[str, ...] | None = getattr(rows, "_fields", None)
        targets = _targets(sent_values(module, function, rows_fields), columns)
        for source, filled in sorted(targets.items()):
            for target in filled:
                column = columns[f"{target.table}.{target.column}"]
                if model is not None and source in model.model_fields:
                    info = model.model_fields[source]
                    found.append(
                        Place(
                            "params",
                            model.__name__,
                            source,
                            info.alias or source,
                            full_annotation(info),
                            column,
                            target.casts,
                            query,
                            model,
                        )
                    )
                elif rows is not None:
                    annotation = typing.get_type_hints(rows, include_extras=True)[source]
                    found.append(
                        Place(
                            "rows",
                            rows.__name__,
                            source,
                            source,
                            annotation,
                            column,
                            target.casts,
                            query,
                        )
                    )
                elif source in signature.parameters:
                    found.append(
                        Place(
                            "keyword",
                            query,
                            source,
                            source,
                            hints[source],
                            column,
                            target.casts,
                            query,
                        )
                    )
    found += schema_places(found)
    return sorted(set(found), key=lambda p: (p.kind, p.owner, p.field, p.column.key))


# -- API schemas ------------------------------------------------------------------------


def request_schemas() -> list[type[BaseModel]]:
    """Every request schema of chip_quality_db.schemas: *Create and *Update."""
    return [
        value
        for name, value in sorted(vars(schemas).items())
        if inspect.isclass(value)
        and issubclass(value, BaseModel)
        and (name.endswith("Create") or name.endswith("Update"))
    ]


def params_models() -> list[type[BaseModel]]:
    return [
        value
        for module in query_modules()
        for value in vars(module).values()
        if _is_params_model(value) and value.__module__ == module.__name__
    ]


def params_model_of(schema: type[BaseModel]) -> type[BaseModel]:
    """The Params model a schema derives from: a base class, or else the one Params
    model holding every field of the schema with the same annotation."""
    models = params_models()
    for base in schema.__mro__:
        if base in models:
            return base
    fields = schema.model_fields

    def holds(model: type[BaseModel]) -> bool:
        return all(
            name in model.model_fields
            and full_annotation(model.model_fields[name]) == full_annotation(info)
            for name, info in fields.items()
        )

    matches = [model for model in models if holds(model)]
    matches.sort(key=lambda m: len(m.model_fields))
    assert matches, f"{schema.__name__}: no Params model holds its fields"
    if len(matches) > 1:
        assert len(matches[0].model_fields) < len(matches[1].model_fields), (
            f"{schema.__name__}: several Params models hold its fields: {matches}"
        )
    return matches[0]


def schema_places(found: list[Place]) -> list[Place]:
    derived: list[Place] = []
    for schema in request_schemas():
        model = params_model_of(schema)
        for place in found:
            if place.kind != "params" or place.owner != model.__name__:
                continue
            info = schema.model_fields.get(place.field)
            if info is None:
                continue
            derived.append(
                Place(
                    "schema",
                    schema.__name__,
                    place.field,
                    info.alias or place.field,
                    full_annotation(info),
                    place.column,
                    place.casts,
                    place.query,
                    schema,
                )
            )
    return derived
