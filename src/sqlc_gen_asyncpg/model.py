"""What to emit: every decision of the generator lives here.

`build(request, options)` turns sqlc's request into a `Package` of plain
dataclasses that `render` prints without deciding anything. Problems are
collected as values and returned together; the caller reports them and exits 1.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import pglast
from pglast.stream import maybe_double_quote_name

from . import names
from .analysis import PRIMARY_MARKER, Behaviour, analyse, assigned_columns, user_functions
from .constraints import Checks, Rule, Untranslated, read_checks, up_sections
from .options import Options, PyTypeRef
from .param_names import readable_names
from .pgtypes import BUILTIN_TYPES, UNINFERRED_NAMES, UNKNOWN, PyType, normalize, optional
from .request import Column, GenerateRequest, Identifier, Query, Table
from .schema_files import (
    Attribute,
    Domain,
    read_composites,
    read_domains,
    read_nullable_args,
    schema_sql_files,
)
from .statements import Statement, StatementError, cast_params, copy_target, statement_of

SUPPORTED_COMMANDS = (
    ":one",
    ":many",
    ":exec",
    ":execrows",
    ":execresult",
    ":copyfrom",
    ":batchexec",
    ":batchone",
    ":batchmany",
)
RESERVED_MODULES = frozenset({"models", "_runtime", "__init__"})
_SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_temp", "pg_toast"})
# Modules of the types a result may have that pydantic validates without
# arbitrary_types_allowed (the generated package's own models and enums among them).
_PYDANTIC_KNOWS = frozenset(
    {"uuid", "decimal", "datetime", "ipaddress", "pydantic", "._runtime", ".models"}
)


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
class Model:
    name: str
    doc: str
    fields: tuple[ModelField, ...]


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
    check: Rule | None = None  # the CHECK constraint of the column this parameter fills
    adapter: str | None = None  # keyword arguments: the TypeAdapter enforcing the check
    composite: bool = False  # holds composite models: sent as mappings of their attributes


@dataclass(frozen=True)
class Adapter:
    """A module-level pydantic TypeAdapter that results are validated with."""

    name: str
    type: PyType
    # `name: TypeAdapter[T] = ...`: mypy infers T from a class or `list[...]`, but
    # not (with pydantic before 2.14) from a union or None.
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
    cmd: str
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

    @property
    def result_type(self) -> str:
        """The annotation of one result: the row model, or the scalar's type."""
        if self.scalar is not None:
            return self.scalar.annotation
        return self.row_model or "None"

    @property
    def returns(self) -> str:
        """The function's return annotation."""
        return return_annotation(self.cmd, self.result_type, self.always_row)

    @property
    def takes_read_only(self) -> bool:
        """A query that only reads, run with fetch/fetchrow/fetchval (no transaction or
        cursor of its own), accepts a ReadOnly executor."""
        return self.behaviour.read_only and self.cmd in (":one", ":many")

    @property
    def always_row(self) -> bool:
        """A `:one` whose query always yields a row returns it, not `| None`."""
        return self.cmd == ":one" and self.behaviour.always_row

    @property
    def takes_rows(self) -> bool:
        """Bulk commands take an iterable of parameter rows instead of keywords."""
        return self.cmd in (":copyfrom", ":batchexec", ":batchone", ":batchmany")


def return_annotation(cmd: str, result: str, always_row: bool = False) -> str:
    """The return annotation of a function of command `cmd` whose one result is `result`."""
    return {
        ":one": result if always_row else optional(result),
        ":many": f"list[{result}]",
        ":exec": "None",
        ":execrows": "int",
        ":execresult": "str",
        ":copyfrom": "int",
        ":batchexec": "None",
        ":batchone": f"list[{optional(result)}]",
        ":batchmany": f"list[list[{result}]]",
    }[cmd]


@dataclass(frozen=True)
class Module:
    name: str
    source: str
    models: tuple[Model, ...]  # <Query>Row and <Query>Params models of this file
    row_tuples: tuple[Model, ...]  # NamedTuple parameters of :copyfrom and :batch* queries
    adapters: tuple[Adapter, ...]
    functions: tuple[Function, ...]
    table_models_used: tuple[str, ...]
    enums_used: tuple[str, ...]


@dataclass(frozen=True)
class Package:
    name: str
    sqlc_version: str
    enums: tuple[EnumModel, ...]
    table_models: tuple[Model, ...]
    modules: tuple[Module, ...]
    checks: tuple[Rule, ...] = ()  # CHECK constraints that parameters carry, in models.py
    untranslated: tuple[Untranslated, ...] = ()  # CHECK constraints left to the database
    composites: tuple[Model, ...] = ()  # models of composite types, each after those it holds


@dataclass
class _Resolver:
    """Maps database types and columns to Python types, knowing the catalog's enums."""

    options: Options
    default_schema: str
    enums: dict[tuple[str, str], str]  # (schema, name) -> class name
    # (schema, name) -> the composite's model, or why it has none
    composites: dict[tuple[str, str], PyType | str]
    domains: dict[tuple[str, str], Domain]
    enums_seen: set[str] = field(default_factory=set)

    def _key(self, schema: str, name: str) -> tuple[str, str]:
        return ("" if schema in ("", self.default_schema) else schema, name)

    def holds_composite(self, py_type: PyType) -> bool:
        """Whether values of `py_type` hold models of composite types."""
        return any(found.imports <= py_type.imports for found in self._composite_types())

    def _composite_types(self) -> Iterable[PyType]:
        return (found for found in self.composites.values() if isinstance(found, PyType))

    def base_type(self, type_id: Identifier, depth: int = 0) -> PyType | str:
        """The Python type of one value of this database type, or a problem message."""
        schema, name = normalize(type_id.schema, type_id.name)
        key = self._key(schema, name)
        override = self.options.type_overrides.get(name if not key[0] else f"{key[0]}.{name}")
        if override is not None:
            return _ref_type(override)
        if key in self.enums:
            self.enums_seen.add(self.enums[key])
            return PyType(self.enums[key], frozenset({(".models", self.enums[key])}))
        if key in self.composites:
            return self.composites[key]
        if key in self.domains and depth < 8:
            domain = self.domains[key]
            base = self.base_type(Identifier("", domain.base_schema, domain.base_name), depth + 1)
            return base.list_of(domain.array_dims) if isinstance(base, PyType) else base
        if not key[0] and name in BUILTIN_TYPES:
            return BUILTIN_TYPES[name]
        if name in UNINFERRED_NAMES:
            return UNKNOWN
        # A type asyncpg has no codec for (an extension's, say) travels as text.
        return BUILTIN_TYPES["text"]

    def column_type(self, column: Column, source: Identifier | None) -> PyType | str:
        column_name = column.original_name or column.name
        if source is not None and column_name:
            override = self._column_override(source, column_name)
            if override is not None:
                return _apply_shape(override, column)
        base = self.base_type(column.type)
        if isinstance(base, str):
            return base
        return _apply_shape(base, column)

    def _column_override(self, table: Identifier, column: str) -> PyType | None:
        schema, name = self._key(table.schema, table.name)
        for key in (f"{name}.{column}", f"{schema}.{name}.{column}" if schema else None):
            if key and key.lower() in self.options.column_overrides:
                return _ref_type(self.options.column_overrides[key.lower()])
        return None


def _ref_type(ref: PyTypeRef) -> PyType:
    imports = frozenset({(ref.module, ref.name)}) if ref.module else frozenset()
    return PyType(f"list[{ref.name}]" if ref.is_list else ref.name, imports)


_JSON_VALUE = ("pydantic", "JsonValue")


def _row_type(py_type: PyType) -> PyType:
    """The type of a row field: JSON read from the database is not validated again.

    The json/jsonb codec parses the server's JSON text, so the value is JSON data by
    construction; walking it again in pydantic cost about 30% of building a row.
    Parameters keep JsonValue and its validation.
    """
    if _JSON_VALUE not in py_type.imports:
        return py_type
    imports = (py_type.imports - {_JSON_VALUE}) | {("._runtime", "DbJson")}
    return PyType(py_type.annotation.replace("JsonValue", "DbJson"), frozenset(imports))


def _field_names(columns: Iterable[Column]) -> list[tuple[str, str | None]]:
    """Each result column's field name, and its alias (the column's name, where that
    differs and is usable).

    Named as sqlc's Go generator names them: a column without a usable name (an
    expression: `count(*) > 0`) is `column_<position>`, and a name an earlier column
    took gets `_2`, `_3`, ... Rows are built from the record's values by position,
    so these names never need to match what PostgreSQL calls the columns.
    """
    columns = list(columns)
    bases = []
    for position, column in enumerate(columns, start=1):
        base = names.field_name(column.name).lstrip("_")
        bases.append(base if base.isidentifier() else f"column_{position}")
    taken: set[str] = set()
    result: list[tuple[str, str | None]] = []
    for position, (column, base) in enumerate(zip(columns, bases, strict=True), start=1):
        name, suffix = base, 2
        while name in taken or (name != base and name in bases):
            name, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(name)
        usable = base != f"column_{position}" or column.name == base
        result.append((name, column.name if usable and name == base else None))
    # An alias is looked up before the field's own name: it must be no other field's name.
    return [
        (name, alias if alias != name and alias not in taken else None) for name, alias in result
    ]


def _attribute_column(attribute: Attribute) -> Column:
    """A composite type's attribute as a nullable column (attributes take no NOT NULL)."""
    return Column(
        name=attribute.name,
        not_null=False,
        is_array=attribute.array_dims > 0,
        comment="",
        length=-1,
        is_named_param=False,
        is_func_call=False,
        scope="",
        table=None,
        table_alias="",
        type=Identifier("", attribute.type_schema, attribute.type_name),
        is_sqlc_slice=False,
        embed_table=None,
        original_name=attribute.name,
        unsigned=False,
        array_dims=attribute.array_dims,
    )


def _column_shape(type_key: tuple[str, str], column: Column) -> tuple[object, ...]:
    return (column.name, column.not_null, type_key, column.array_dims, column.is_array)


def _apply_shape(base: PyType, column: Column) -> PyType:
    dims = column.array_dims or (1 if column.is_array else 0)
    shaped = base.list_of(dims)
    return shaped if column.not_null else shaped.nullable()


def build(request: GenerateRequest, options: Options) -> tuple[Package | None, list[Problem]]:
    builder = _Builder(request, options)
    package = builder.package()
    return (None if builder.problems else package), builder.problems


class _Builder:
    def __init__(self, request: GenerateRequest, options: Options) -> None:
        self.request = request
        self.options = options
        self.problems: list[Problem] = []
        catalog = request.catalog
        self.default_schema = catalog.default_schema or "public"
        user_schemas = [s for s in catalog.schemas if s.name not in _SYSTEM_SCHEMAS]
        self.tables: list[tuple[Identifier, Table]] = []
        enums: dict[tuple[str, str], str] = {}
        composites: list[tuple[tuple[str, str], str, str]] = []  # key, class name, comment
        self.enum_models: list[EnumModel] = []
        for schema in user_schemas:
            prefix = "" if schema.name == self.default_schema else schema.name
            for enum in schema.enums:
                class_name = self._class_name(enum.name, prefix, table=False)
                enums[(prefix, enum.name)] = class_name
                self.enum_models.append(self._enum_model(class_name, enum.vals, enum.comment))
            for composite in schema.composite_types:
                class_name = self._class_name(composite.name, prefix, table=False)
                composites.append(((prefix, composite.name), class_name, composite.comment))
            for table in schema.tables:
                self.tables.append((Identifier("", prefix, table.rel.name), table))
        self.resolver = _Resolver(
            options,
            self.default_schema,
            enums,
            {key: f"composite type {key[1]!r} refers to itself" for key, _, _ in composites},
            read_domains(request.settings.schema, Path.cwd()),
        )
        self.table_model_names: dict[tuple[str, str], str] = {}
        self.nullable_args = read_nullable_args(request.settings.queries, Path.cwd())
        self.functions: dict[str, str] = {}  # the schema's own functions and their volatility
        schema_files = schema_sql_files(request.settings.schema, Path.cwd())
        for path in schema_files:
            self.functions.update(user_functions(up_sections(path.read_text(encoding="utf-8"))))
        self.checks: Checks = read_checks(schema_files)
        self.checks_used: dict[str, Rule] = {}
        self.composite_models = self._composite_models(composites, schema_files)

    # -- names ---------------------------------------------------------------

    def _class_name(self, sql_name: str, schema_prefix: str, *, table: bool) -> str:
        qualified = f"{schema_prefix}.{sql_name}" if schema_prefix else sql_name
        if qualified in self.options.rename:
            return self.options.rename[qualified]
        base = names.class_name_for_table(sql_name) if table else names.pascal_case(sql_name)
        return (names.pascal_case(schema_prefix) + base) if schema_prefix else base

    def _problem(self, file: str, query: str, message: str) -> None:
        self.problems.append(Problem(file, query, message))

    # -- catalog -------------------------------------------------------------

    def _enum_model(self, class_name: str, values: Iterable[str], comment: str) -> EnumModel:
        values = tuple(values)
        members = zip(names.enum_members(values), values, strict=True)
        return EnumModel(class_name, comment, tuple(members))

    def _composite_models(
        self, composites: list[tuple[tuple[str, str], str, str]], files: list[Path]
    ) -> list[Model]:
        """A model per composite type, its fields the type's attributes as the schema
        files define them, each after the composites its fields hold. A composite
        whose attributes cannot be read or typed gets none: the queries that use it
        are refused by name."""
        read = read_composites(files) or {}
        definitions = {(self._schema_key(key[0]), key[1]): found for key, found in read.items()}
        described = {key: (class_name, comment) for key, class_name, comment in composites}
        models: list[Model] = []
        visited: set[tuple[str, str]] = set()

        def build(key: tuple[str, str]) -> None:
            if key in visited:
                return
            visited.add(key)
            class_name, comment = described[key]
            definition = definitions.get(key)
            if definition is None:
                self.resolver.composites[key] = (
                    f"composite type {key[1]!r}: its attributes are not in the schema files"
                )
                return
            columns = [_attribute_column(attribute) for attribute in definition.attributes]
            for column in columns:  # the composites its attributes hold come first
                held = normalize(column.type.schema, column.type.name)
                if (self._schema_key(held[0]), held[1]) in described:
                    build((self._schema_key(held[0]), held[1]))
            fields: list[ModelField] = []
            for column, (name, alias) in zip(columns, _field_names(columns), strict=True):
                py_type = self.resolver.column_type(column, None)
                if isinstance(py_type, str):
                    self.resolver.composites[key] = (
                        f"composite type {key[1]!r}: attribute {column.name!r}: {py_type}"
                    )
                    return
                fields.append(ModelField(name, alias or name, _row_type(py_type), ""))
            self.resolver.composites[key] = PyType(class_name, frozenset({(".models", class_name)}))
            models.append(Model(class_name, comment, tuple(fields)))

        for key in described:
            build(key)
        return models

    def _table_model(self, ident: Identifier, table: Table) -> Model | None:
        """The table's model; None for a table with a column of a type the generator
        cannot read (a composite without a model): the queries that read that column
        are refused by name, and the rest of the schema is unaffected."""
        if any(isinstance(self.resolver.column_type(c, ident), str) for c in table.columns):
            return None
        class_name = self._class_name(table.rel.name, ident.schema, table=True)
        fields = self._fields(table.columns, ident, f"table {table.rel.name}", "schema")
        return Model(class_name, table.comment, fields)

    def _fields(
        self, columns: Iterable[Column], table: Identifier | None, where: str, file: str
    ) -> tuple[ModelField, ...]:
        """The fields of a row of `columns`, in their order: rows are built by position."""
        columns = tuple(columns)
        fields: list[ModelField] = []
        for column, (name, alias) in zip(columns, _field_names(columns), strict=True):
            py_type = self._column_type(where, column, name, column.table or table)
            if isinstance(py_type, str):
                self._problem(file, where, f"column {column.name or name!r}: {py_type}")
                continue
            fields.append(ModelField(name, alias or name, _row_type(py_type), column.comment))
        return tuple(fields)

    def _column_type(
        self, where: str, column: Column, field_name: str, source: Identifier | None
    ) -> PyType | str:
        """A result column's type, after the options `nullable` and `overrides` (result),
        which name it `QueryName.column` by its name or its field's (`column_2`)."""
        keys = (f"{where}.{column.name}", f"{where}.{field_name}")
        if any(key in self.options.nullable for key in keys):
            column = replace(column, not_null=False)
        for key in keys:
            if key in self.options.result_overrides:
                return _apply_shape(_ref_type(self.options.result_overrides[key]), column)
        return self.resolver.column_type(column, source)

    # -- queries -------------------------------------------------------------

    def package(self) -> Package:
        modelled = [
            (ident, table, model)
            for ident, table in self.tables
            if (model := self._table_model(ident, table)) is not None
        ]
        table_models = [model for _, _, model in modelled]
        for ident, _table, model in modelled:
            self.table_model_names[(ident.schema, ident.name)] = model.name
        self._check_unique(
            [m.name for m in (*table_models, *self.composite_models)]
            + [e.name for e in self.enum_models],
            "models.py",
        )
        self._table_columns = {(ident.schema, ident.name): table for ident, table, _ in modelled}
        self._table_models = {m.name: m for m in table_models}
        by_file: dict[str, list[Query]] = {}
        for query in self.request.queries:
            by_file.setdefault(query.filename, []).append(query)
        unknown_iterators = self.options.iterators - {q.name for q in self.request.queries}
        for name in sorted(unknown_iterators):
            self._problem(
                "sqlc.yaml", name, "listed in option `iterators`, but no query has this name"
            )
        result_columns = {
            f"{query.name}.{name}"
            for query in self.request.queries
            for column, (field_name, _) in zip(
                query.columns, _field_names(query.columns), strict=True
            )
            for name in (column.name, field_name)
        }
        for entry in sorted(set(self.options.result_overrides) - result_columns):
            self._problem(
                "sqlc.yaml",
                entry.partition(".")[0],
                f"option `overrides` names result {entry!r}, but that query has no such column",
            )
        for entry in sorted(self.options.nullable - result_columns):
            self._problem(
                "sqlc.yaml",
                entry.partition(".")[0],
                f"option `nullable` lists {entry!r}, but that query has no such column",
            )
        modules = [self._module(filename, queries) for filename, queries in sorted(by_file.items())]
        self._check_unique([m.name for m in modules], "sqlc.yaml")
        return Package(
            name=self.options.package,
            sqlc_version=self.request.sqlc_version,
            enums=tuple(self.enum_models),
            table_models=tuple(table_models),
            modules=tuple(modules),
            checks=tuple(self.checks_used[name] for name in sorted(self.checks_used)),
            untranslated=self.checks.untranslated,
            composites=tuple(self.composite_models),
        )

    def _check_unique(self, values: list[str], file: str) -> None:
        seen: set[str] = set()
        for value in values:
            if value in seen:
                self._problem(
                    file, value, f"two definitions are both named {value!r}: use option `rename`"
                )
            seen.add(value)

    def _module(self, filename: str, queries: list[Query]) -> Module:
        stem = PurePosixPath(filename).stem
        module_name = names.snake_case(stem)
        if not module_name or module_name in RESERVED_MODULES or keyword.iskeyword(module_name):
            self._problem(
                filename,
                "-",
                f"the file name gives module {module_name!r}, which is "
                f"reserved or not an identifier: rename the file",
            )
        self.resolver.enums_seen = set()
        self._used_tables: set[str] = set()
        self._adapters: dict[str, Adapter] = {}
        models: list[Model] = []
        row_tuples: list[Model] = []
        functions: list[Function] = []
        for query in queries:
            function = self._function(query, models, row_tuples)
            if function is not None:
                functions.append(function)
        self._check_unique([f.name for f in functions], filename)
        self._check_unique(
            [m.name for m in models + row_tuples] + sorted(self._table_models), filename
        )
        return Module(
            name=module_name,
            source=filename,
            models=tuple(models),
            row_tuples=tuple(row_tuples),
            adapters=tuple(sorted(self._adapters.values(), key=lambda a: a.name)),
            functions=tuple(functions),
            table_models_used=tuple(sorted(self._used_tables)),
            enums_used=tuple(sorted(self.resolver.enums_seen)),
        )

    def _function(
        self, query: Query, models: list[Model], row_tuples: list[Model]
    ) -> Function | None:
        file, name = query.filename, query.name
        problems_before = len(self.problems)
        if query.cmd == ":execlastid":
            self._problem(
                file,
                name,
                ":execlastid is not supported: PostgreSQL has no last "
                "insert id; use INSERT ... RETURNING id with :one",
            )
            return None
        if query.cmd not in SUPPORTED_COMMANDS:
            self._problem(file, name, f"command {query.cmd!r} is not supported")
            return None
        function_name = names.function_name(name)
        if not function_name.isidentifier():
            self._problem(
                file,
                name,
                f"the query name gives function {function_name!r}, which is not a "
                f"Python identifier: rename the query",
            )
            return None
        iterator = name in self.options.iterators
        if iterator and query.cmd != ":many":
            self._problem(file, name, "only :many queries can be listed in option `iterators`")
        bulk = query.cmd in (":copyfrom", ":batchexec", ":batchone", ":batchmany")
        in_model = bulk or bool(
            self.options.max_params and len(query.params) > self.options.max_params
        )
        sql = self._sql(query)
        params = self._params(query, keyword_arguments=not in_model)
        if sql is None or params is None:
            return None
        if bulk and any(p.composite for p in params):
            composite = next(p.name for p in params if p.composite)
            self._problem(
                file,
                name,
                f"{query.cmd} cannot take a composite-type parameter ({composite}): its "
                "rows go to the driver as they are, and a model is no value it can send; "
                "run an :exec per row instead",
            )
            return None

        params_model = None
        pascal = names.query_class_name(name)
        if bulk:
            if not params:
                self._problem(file, name, f"{query.cmd} needs parameters: one row of them per item")
                return None
            # NamedTuples are positional: every field is given, None included.
            fields = tuple(replace(f, optional=False) for f in self._param_fields(params))
            row_tuples.append(Model(f"{pascal}Params", "", fields))
            params_model = f"{pascal}Params"
        elif in_model:
            params_model = f"{pascal}Params"
            models.append(
                Model(params_model, f"Parameters of {function_name}.", self._param_fields(params))
            )

        copy_table = None
        copy_columns: tuple[str, ...] = ()
        if query.cmd == ":copyfrom":
            copy_table = query.insert_into_table
            if copy_table is None:
                self._problem(file, name, ":copyfrom needs an INSERT INTO table (...) VALUES ...")
                return None
            if query.columns:
                self._problem(file, name, ":copyfrom cannot return rows: remove RETURNING")
                return None
            columns = self._copy_columns(query, sql)
            if columns is None:
                return None
            copy_columns = columns

        row_model = scalar = None
        embeds: tuple[Embed, ...] = ()
        returns = query.cmd in (":one", ":many", ":batchone", ":batchmany")
        if returns and not query.columns:
            self._problem(file, name, f"{query.cmd} needs a query that returns columns")
            return None
        if (
            not returns
            and query.columns
            and query.cmd not in (":exec", ":execrows", ":execresult", ":batchexec")
        ):
            return None
        try:
            statement = statement_of(sql)
            behaviour = analyse(sql, self.functions, query.comments)
        except StatementError as error:
            self._problem(file, name, str(error))
            return None
        if returns:
            row_model, scalar, embeds = self._result(query, models)
        if scalar is not None and 0 in behaviour.never_null:
            # count(*), exists(...), coalesce(..., constant): never NULL, whatever sqlc says.
            scalar = PyType(scalar.annotation.removesuffix(" | None"), scalar.imports)
        always_row = query.cmd == ":one" and behaviour.always_row
        adapter = item_adapter = None
        if scalar is not None:
            adapter = self._adapter(
                PyType(return_annotation(query.cmd, scalar.annotation, always_row), scalar.imports)
            )
            if iterator:
                item_adapter = self._adapter(scalar)
        elif row_model is not None and not embeds and query.cmd in (":many", ":batchmany"):
            adapter = self._adapter(PyType(f"list[{row_model}]"))
        if len(self.problems) > problems_before:
            return None
        return Function(
            name=function_name,
            query=name,
            cmd=query.cmd,
            constant=names.constant_case(name),
            sql=sql,
            doc=tuple(
                line[1:] if line.startswith(" ") else line
                for line in query.comments
                if line.strip() != PRIMARY_MARKER
            ),
            params=params,
            params_model=params_model,
            row_model=row_model,
            scalar=scalar,
            embeds=embeds,
            adapter=adapter,
            item_adapter=item_adapter,
            copy_table=copy_table,
            copy_columns=copy_columns,
            iterator=iterator,
            statement=statement,
            behaviour=behaviour,
        )

    def _adapter(
        self,
        py_type: PyType,
        base: str | None = None,
        plain: bool = False,
        declared: str | None = None,
    ) -> str:
        """The name of this module's TypeAdapter of `py_type`, made on first use."""
        annotation = py_type.annotation
        if annotation in self._adapters:
            return self._adapters[annotation].name
        base = base or names.adapter_name(annotation)
        taken = {adapter.name for adapter in self._adapters.values()}
        name, suffix = base, 2
        while name in taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        modules = {module for module, _ in py_type.imports}
        # A bare class may be a model, which refuses a config: only types of the
        # user's own that sit in a union or a list get it.
        arbitrary = not plain and (
            "asyncpg" in modules
            or (bool(modules - _PYDANTIC_KNOWS) and not annotation.isidentifier())
        )
        annotated = "|" in annotation or annotation == "None" or declared is not None
        self._adapters[annotation] = Adapter(name, py_type, annotated, arbitrary, declared)
        return name

    def _copy_columns(self, query: Query, sql: str) -> tuple[str, ...] | None:
        """The column each parameter of a :copyfrom fills, in $N order: the INSERT's own
        columns (a `sqlc.arg` parameter is named after the argument, not the column)."""
        try:
            target = copy_target(sql)
        except StatementError as error:
            self._problem(query.filename, query.name, str(error))
            return None
        columns = target.columns
        if columns is None:  # sqlc refuses this itself
            self._problem(query.filename, query.name, ":copyfrom needs the INSERT's column list")
            return None
        if len(columns) != len(target.params):
            self._problem(
                query.filename,
                query.name,
                f":copyfrom: the INSERT fills {len(columns)} columns with "
                f"{len(target.params)} values",
            )
            return None
        column_of = dict(zip(target.params, columns, strict=True))
        numbers = sorted(param.number for param in query.params)
        if sorted(column_of) != numbers:
            self._problem(
                query.filename,
                query.name,
                ":copyfrom: every parameter must be one of the VALUES, and nothing else",
            )
            return None
        return tuple(column_of[number] for number in numbers)

    def _sql(self, query: Query) -> str | None:
        text = query.text
        for param in query.params:
            if not param.column.is_sqlc_slice:
                continue
            # asyncpg sends one value per placeholder: a slice becomes one array parameter.
            placeholder = rf"\$({param.number})(?!\d)"
            pattern = re.compile(rf"\b(NOT\s+)?IN\s*\(\s*{placeholder}\s*\)", re.IGNORECASE)
            if not pattern.search(text):
                self._problem(
                    query.filename,
                    query.name,
                    f"sqlc.slice({param.column.name}) is "
                    f"only supported as `column IN (sqlc.slice(...))`",
                )
                return None
            array_type = self._sql_array_type(param.column)

            def to_any(match: re.Match[str], array_type: str = array_type) -> str:
                operator = "<> ALL" if match.group(1) else "= ANY"
                return f"{operator}(${match.group(2)}::{array_type}[])"

            text = pattern.sub(to_any, text)
        text = self._cast_composite_params(query, text)
        return f"-- name: {query.name} {query.cmd}\n{text}"

    def _cast_composite_params(self, query: Query, text: str) -> str:
        """`text` with each composite-type parameter not cast already cast to its type:
        in `location = $1` PostgreSQL takes $1 for an anonymous record, which it cannot
        read from the client (sqlc has typed it point3: `location = $1::point3`)."""
        casts: dict[int, str] = {}
        for param in query.params:
            column = param.column
            schema, name = normalize(column.type.schema, column.type.name)
            composite = (self._schema_key(schema), name) in self.resolver.composites
            if column.is_sqlc_slice or not composite:
                continue
            dims = column.array_dims or (1 if column.is_array else 0)
            qualified = [maybe_double_quote_name(part) for part in (schema, name) if part]
            casts[param.number] = ".".join(qualified) + "[]" * dims
        if not casts:
            return text
        try:
            return cast_params(text, casts)
        except StatementError:
            return text  # statement_of refuses the query with the parser's message

    def _sql_array_type(self, column: Column) -> str:
        schema, name = normalize(column.type.schema, column.type.name)
        return f"{schema}.{name}" if schema else name

    def _params(self, query: Query, *, keyword_arguments: bool) -> tuple[Param, ...] | None:
        try:
            assigned = assigned_columns(query.text)
        except pglast.parser.ParseError:
            assigned = {}  # statement_of reports the query as refused
        params: list[Param] = []
        used: set[str] = set()
        ok = True
        # Parameters sqlc names no column: named from their place in the parse tree.
        unnamed = any(names.is_placeholder(p.column.name) for p in query.params)
        readable = readable_names(query.text) if unnamed else {}
        for param in sorted(query.params, key=lambda p: p.number):
            column = param.column
            sql_name = column.name
            if names.is_placeholder(sql_name):
                sql_name = readable.get(param.number, "")
            base_name = (
                names.parameter_name(sql_name, keyword_argument=keyword_arguments)
                if sql_name
                else ""
            )
            if not base_name or not base_name.isidentifier():
                base_name = f"param_{param.number}"
            name = base_name if base_name not in used else f"{base_name}_{param.number}"
            used.add(name)
            py_type = self.resolver.column_type(column, column.table)
            if isinstance(py_type, str):
                self._problem(
                    query.filename,
                    query.name,
                    f"parameter ${param.number} ({column.name}): {py_type}",
                )
                ok = False
                continue
            if column.is_sqlc_slice:
                py_type = PyType(f"list[{py_type.annotation}]", py_type.imports)
            # Only sqlc.narg parameters may be left out; a nullable sqlc.arg must be given.
            optional = not column.not_null and column.name in self.nullable_args.get(
                query.name, set()
            )
            rule = self._check_of(assigned.get(param.number))
            adapter = None
            if rule is not None:
                py_type = self._checked(py_type, rule)
                if keyword_arguments:  # checks the value; None passes a CHECK anyway
                    value_type = PyType(py_type.annotation.removesuffix(" | None"), py_type.imports)
                    adapter = self._adapter(
                        value_type,
                        f"_{rule.constraint.upper()}",
                        plain=True,
                        declared=value_type.annotation.removeprefix("Annotated[").partition(",")[0],
                    )
            composite = self.resolver.holds_composite(py_type)
            params.append(Param(name, py_type, optional, rule, adapter, composite))
        return tuple(params) if ok else None

    def _check_of(self, target: tuple[str, str] | None) -> Rule | None:
        """The translated CHECK constraint of the column a parameter is stored in."""
        if target is None:
            return None
        rules = self.checks.for_column(*target)
        # One constraint per column carries its name into the error; a second one on
        # the same column stays with the database.
        return rules[0] if rules else None

    def _checked(self, py_type: PyType, rule: Rule) -> PyType:
        """`py_type` carrying `rule`: Annotated[T, TABLE_COLUMN_CHECK] (| None)."""
        constant = rule.constraint.upper()
        self.checks_used[constant] = rule
        base = py_type.annotation.removesuffix(" | None")
        annotation = f"Annotated[{base}, {constant}]"
        if base != py_type.annotation:
            annotation += " | None"
        imports = py_type.imports | {("typing", "Annotated"), (".models", constant)}
        return PyType(annotation, imports)

    def _param_fields(self, params: tuple[Param, ...]) -> tuple[ModelField, ...]:
        return tuple(ModelField(p.name, p.name, p.type, "", p.optional) for p in params)

    def _result(
        self, query: Query, models: list[Model]
    ) -> tuple[str | None, PyType | None, tuple[Embed, ...]]:
        """The row model of each result row, or the type of a lone column's value, and
        for rows with embedded tables their layout. Rows are built by position."""
        columns = query.columns
        field_names = _field_names(columns)
        if not any(c.embed_table for c in columns):
            table_model = self._matching_table_model(columns)
            if table_model is not None:
                self._used_tables.add(table_model)
                return table_model, None, ()
            if len(columns) == 1:
                # A lone column is returned as its value, validated as its type.
                column, (field_name, _) = columns[0], field_names[0]
                scalar = self._column_type(query.name, column, field_name, column.table)
                if isinstance(scalar, str):
                    self._problem(query.filename, query.name, f"column {field_name!r}: {scalar}")
                    return None, None, ()
                return None, _row_type(scalar), ()
        row_name = f"{names.query_class_name(query.name)}Row"
        if not any(c.embed_table for c in columns):
            fields = self._fields(columns, None, query.name, query.filename)
            models.append(Model(row_name, "", fields))
            return row_name, None, ()
        # With embedded tables the row is sliced by position into nested models.
        fields_out: list[ModelField] = []
        layout: list[Embed] = []
        position = 0
        for column, (field_name, alias) in zip(columns, field_names, strict=True):
            if column.embed_table is None:
                py_type = self._column_type(query.name, column, field_name, column.table)
                if isinstance(py_type, str):
                    self._problem(query.filename, query.name, f"column {field_name!r}: {py_type}")
                else:
                    field = ModelField(field_name, alias or field_name, _row_type(py_type), "")
                    fields_out.append(field)
                    layout.append(Embed(field_name, None, position, position + 1))
                position += 1
                continue
            key = (self._schema_key(column.embed_table.schema), column.embed_table.name)
            table = self._table_columns.get(key)
            model_name = self.table_model_names.get(key)
            if table is None or model_name is None:
                # A table of the schema without a model: see _table_model.
                known = any((ident.schema, ident.name) == key for ident, _ in self.tables)
                reason = (
                    "its table has a column of an unsupported type" if known else "unknown table"
                )
                self._problem(
                    query.filename, query.name, f"sqlc.embed({column.embed_table.name}): {reason}"
                )
                continue
            self._used_tables.add(model_name)
            width = len(table.columns)
            layout.append(Embed(field_name, model_name, position, position + width))
            fields_out.append(ModelField(field_name, field_name, PyType(model_name), ""))
            position += width
        models.append(Model(row_name, "", tuple(fields_out)))
        return row_name, None, tuple(layout)

    def _schema_key(self, schema: str) -> str:
        return "" if schema in ("", self.default_schema) else schema

    def _matching_table_model(self, columns: tuple[Column, ...]) -> str | None:
        """The table whose columns these are: same names, types and nullability, in order.

        The columns' own table comes first; a result built from a CTE or subquery
        (`WITH claimed AS (UPDATE ... RETURNING *) SELECT * FROM claimed`) has
        none, so then the one table with exactly this shape is taken.
        """
        shape = [_column_shape(self._normalized_type(c), c) for c in columns]
        origins = {
            (self._schema_key(c.table.schema), c.table.name) if c.table else None for c in columns
        }
        candidates = [origins.pop()] if len(origins) == 1 else []
        if not candidates or candidates[0] not in self._table_columns:
            candidates = list(self._table_columns)
        matches = [
            key
            for key in candidates
            if key in self._table_columns
            and shape
            == [
                _column_shape(self._normalized_type(c), c) for c in self._table_columns[key].columns
            ]
        ]
        return self.table_model_names[matches[0]] if len(matches) == 1 else None

    def _normalized_type(self, column: Column) -> tuple[str, str]:
        schema, name = normalize(column.type.schema, column.type.name)
        return self._schema_key(schema), name
