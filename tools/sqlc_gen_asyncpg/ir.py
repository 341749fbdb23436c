"""The generator's intermediate representation: what a generated package holds.

Plain frozen dataclasses that the model builds (model.py and the modules it
uses) and the renderer prints without deciding anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from .analysis import Behaviour
from .commands import Command
from .constraints import RowRule, Rule, Untranslated
from .pgtypes import PyType
from .request import Identifier
from .statements import Statement
from .tables import Tables


@dataclass(frozen=True)
class Problem:
    file: str
    query: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.query}: {self.message}"


@dataclass(frozen=True)
class ModelField:
    name: str
    column: str  # the database column name; an alias when it differs from `name`
    type: PyType
    description: str
    optional: bool = False  # a nullable parameter: defaults to None

    @property
    def alias(self) -> str | None:
        return None if self.name == self.column else self.column


@dataclass(frozen=True)
class RowCheckUse:
    """A Params model's check of a CHECK over several columns it fills."""

    constant: str  # the RowCheck in models.py
    # (column, the field that fills it, whether None keeps the column's value)
    columns: tuple[tuple[str, str, bool], ...]


@dataclass(frozen=True)
class Model:
    name: str
    doc: str
    fields: tuple[ModelField, ...]
    row_checks: tuple[RowCheckUse, ...] = ()
    params: bool = False  # a query's parameters (changeable), not a row (frozen)


@dataclass(frozen=True)
class EnumModel:
    name: str
    doc: str
    members: tuple[tuple[str, str], ...]  # (Python member name, database value)


@dataclass(frozen=True)
class Param:
    name: str
    type: PyType
    optional: bool  # nullable: defaults to None
    checks: tuple[Rule, ...] = ()  # the CHECK constraints of the columns it may fill
    adapter: str | None = None  # keyword arguments: the TypeAdapter enforcing the check
    composite: bool = False  # holds composite models: sent as mappings of their attributes
    # The name in the SQL, where the Python name differs (`format` -> `format_`): a
    # Params model's field takes it as alias, so an API built on the model says `format`.
    sql_name: str | None = None
    # The comment of the column it fills (or is compared with, under the column's own
    # name): a Params model's field description, so an API built on it documents it.
    description: str = ""


@dataclass(frozen=True)
class Adapter:
    """A module-level pydantic TypeAdapter that results are validated with."""

    name: str
    type: PyType
    # `name: TypeAdapter[T] = adapter_of(T)`: T is no class (a union, None, Annotated,
    # an alias such as JsonValue, an override's type), which a type checker may not
    # infer from `TypeAdapter(T)` (pydantic before 2.14; mypy from its cache since):
    # the constant says T instead. Classes and `list[...]`: `name = TypeAdapter(T)`.
    annotated: bool
    # config=ARBITRARY_TYPES: the type holds classes pydantic has no schema for
    # (asyncpg's Range, Point, BitString, Record; override types).
    arbitrary: bool
    # What `TypeAdapter[...]` says when it differs from the type: the plain type of
    # an `Annotated[T, CHECK]` (mypy cannot infer T from Annotated).
    declared: str | None = None


@dataclass(frozen=True)
class Embed:
    """One field of a row with embedded tables: the model `model` built from result
    columns [start, stop), or for a plain column (model None) the value at `start`."""

    name: str
    model: str | None
    start: int
    stop: int


@dataclass(frozen=True)
class Function:
    name: str
    query: str
    command: Command
    constant: str
    sql: str
    doc: tuple[str, ...]
    params: tuple[Param, ...]
    params_model: str | None  # the parameters travel in this model (too many for keywords)
    row_model: str | None  # the model each result row becomes, built from its values by position
    scalar: PyType | None  # a single column: the value itself
    embeds: tuple[Embed, ...]
    adapter: str | None  # validates the result: a scalar's, or a list of row models
    item_adapter: str | None  # validates each value an iterator over a scalar yields
    copy_table: Identifier | None
    copy_columns: tuple[str, ...]  # the column each :copyfrom parameter fills, in $N order
    iterator: bool
    statement: Statement  # what the query does, for the error handler
    behaviour: Behaviour  # reads only or writes, always a row, never-NULL columns
    tables: Tables  # the tables it reads and writes
    cache_seconds: float | None = None  # `@cache`: how long its results may be served

    @property
    def result_type(self) -> str:
        """The annotation of one result: the row model, or the scalar's type."""
        if self.scalar is not None:
            return self.scalar.annotation
        return self.row_model or "None"

    @property
    def returns(self) -> str:
        """The function's return annotation."""
        return self.command.returns(self.result_type, self.always_row)

    @property
    def takes_read_only(self) -> bool:
        """A query that only reads, run with fetch/fetchrow/fetchval (no transaction or
        cursor of its own), accepts a ReadOnly executor."""
        return self.behaviour.read_only and self.command in (Command.ONE, Command.MANY)

    @property
    def always_row(self) -> bool:
        """A `:one` whose query always yields a row returns it, not `| None`."""
        return self.command is Command.ONE and self.behaviour.always_row

    @property
    def takes_rows(self) -> bool:
        """Bulk commands take an iterable of parameter rows instead of keywords."""
        return self.command.takes_rows


@dataclass(frozen=True)
class Module:
    name: str
    source: str
    models: tuple[Model, ...]  # <Query>Row and <Query>Params models of this file
    row_tuples: tuple[Model, ...]  # NamedTuple parameters of :copyfrom and :batch* queries
    adapters: tuple[Adapter, ...]
    functions: tuple[Function, ...]
    table_models_used: tuple[str, ...]


@dataclass(frozen=True)
class Package:
    name: str
    sqlc_version: str
    enums: tuple[EnumModel, ...]
    table_models: tuple[Model, ...]
    modules: tuple[Module, ...]
    checks: tuple[Rule, ...] = ()  # CHECK constraints that parameters carry, in models.py
    untranslated: tuple[Untranslated, ...] = ()  # CHECK constraints left to the database
    row_rules: tuple[RowRule, ...] = ()  # CHECK constraints over several columns, in models.py
    composites: tuple[Model, ...] = ()  # models of composite types, each after those it holds
