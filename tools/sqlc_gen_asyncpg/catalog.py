"""The schema as Python sees it: type resolution, and the models of its tables,
enums and composite types.

`build_catalog` runs once per request; `TypeResolver` maps any database type or
column (a table's, a query's, a composite's attribute) to its Python type.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from . import names
from .inputs import Inputs
from .ir import EnumModel, Model, ModelField
from .options import Options, PyTypeRef
from .pgtypes import BUILTIN_TYPES, UNINFERRED_NAMES, UNKNOWN, PyType, normalize
from .request import Column, Identifier, Table
from .schema_files import Attribute, Domain

# The catalog sqlc sends holds these too (pg_catalog alone: every built-in function);
# the generator models none of them.
SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_temp", "pg_toast"})


@dataclass
class TypeResolver:
    """Maps database types and columns to Python types, knowing the catalog's enums."""

    options: Options
    default_schema: str
    enums: dict[tuple[str, str], str]  # (schema, name) -> class name
    # (schema, name) -> the composite's model, or why it has none
    composites: dict[tuple[str, str], PyType | str]
    domains: dict[tuple[str, str], Domain]

    def schema_key(self, schema: str) -> str:
        return "" if schema in ("", self.default_schema) else schema

    def _key(self, schema: str, name: str) -> tuple[str, str]:
        return (self.schema_key(schema), name)

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
            return ref_type(override)
        if key in self.enums:
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
                return apply_shape(override, column)
        base = self.base_type(column.type)
        if isinstance(base, str):
            return base
        return apply_shape(base, column)

    def _column_override(self, table: Identifier, column: str) -> PyType | None:
        schema, name = self._key(table.schema, table.name)
        for key in (f"{name}.{column}", f"{schema}.{name}.{column}" if schema else None):
            if key and key.lower() in self.options.column_overrides:
                return ref_type(self.options.column_overrides[key.lower()])
        return None


def ref_type(ref: PyTypeRef) -> PyType:
    imports = frozenset({(ref.module, ref.name)}) if ref.module else frozenset()
    return PyType(f"list[{ref.name}]" if ref.is_list else ref.name, imports)


_JSON_VALUE = ("pydantic", "JsonValue")


def row_type(py_type: PyType) -> PyType:
    """The type of a row field: JSON read from the database is not validated again.

    The json/jsonb codec parses the server's JSON text, so the value is JSON data by
    construction; walking it again in pydantic cost about 30% of building a row.
    Parameters keep JsonValue and its validation.
    """
    if _JSON_VALUE not in py_type.imports:
        return py_type
    imports = (py_type.imports - {_JSON_VALUE}) | {("._runtime", "DbJson")}
    return PyType(py_type.annotation.replace("JsonValue", "DbJson"), frozenset(imports))


def field_names(columns: Iterable[Column]) -> list[tuple[str, str | None]]:
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


def attribute_column(attribute: Attribute) -> Column:
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


def column_shape(type_key: tuple[str, str], column: Column) -> tuple[object, ...]:
    return (column.name, column.not_null, type_key, column.array_dims, column.is_array)


def apply_shape(base: PyType, column: Column) -> PyType:
    dims = column.array_dims or (1 if column.is_array else 0)
    shaped = base.list_of(dims)
    return shaped if column.not_null else shaped.nullable()


@dataclass(frozen=True)
class Catalog:
    """The schema's models and how to type its values, built once per request."""

    default_schema: str
    resolver: TypeResolver
    enum_models: tuple[EnumModel, ...]
    composite_models: tuple[Model, ...]
    tables: tuple[tuple[Identifier, Table], ...]  # every user table, modelled or not
    table_models: tuple[Model, ...]
    # (schema key, table) -> its model's name and its columns, for the modelled tables
    table_model_names: dict[tuple[str, str], str]
    table_columns: dict[tuple[str, str], Table]

    def schema_key(self, schema: str) -> str:
        """'' for the default schema (whose names go unprefixed), else the schema."""
        return "" if schema in ("", self.default_schema) else schema


def class_name(options: Options, sql_name: str, schema_prefix: str, *, table: bool) -> str:
    qualified = f"{schema_prefix}.{sql_name}" if schema_prefix else sql_name
    if qualified in options.rename:
        return options.rename[qualified]
    base = names.class_name_for_table(sql_name) if table else names.pascal_case(sql_name)
    return (names.pascal_case(schema_prefix) + base) if schema_prefix else base


def build_catalog(inputs: Inputs) -> Catalog:
    """The models of the schema's enums, composite types and tables."""
    request, options = inputs.request, inputs.options
    default_schema = request.catalog.default_schema or "public"
    tables: list[tuple[Identifier, Table]] = []
    enums: dict[tuple[str, str], str] = {}
    composites: dict[tuple[str, str], tuple[str, str]] = {}  # key -> class name, comment
    enum_models: list[EnumModel] = []
    for schema in request.catalog.schemas:
        if schema.name in SYSTEM_SCHEMAS:
            continue
        prefix = "" if schema.name == default_schema else schema.name
        for enum in schema.enums:
            name = class_name(options, enum.name, prefix, table=False)
            enums[(prefix, enum.name)] = name
            values = tuple(enum.vals)
            members = zip(names.enum_members(values), values, strict=True)
            enum_models.append(EnumModel(name, enum.comment, tuple(members)))
        for composite in schema.composite_types:
            name = class_name(options, composite.name, prefix, table=False)
            composites[(prefix, composite.name)] = (name, composite.comment)
        for table in schema.tables:
            tables.append((Identifier("", prefix, table.rel.name), table))
    resolver = TypeResolver(
        options,
        default_schema,
        enums,
        {key: f"composite type {key[1]!r} refers to itself" for key in composites},
        inputs.domains,
    )
    composite_models = _composite_models(inputs, resolver, composites)
    table_models: list[Model] = []
    table_model_names: dict[tuple[str, str], str] = {}
    table_columns: dict[tuple[str, str], Table] = {}
    for ident, table in tables:
        model = _table_model(options, resolver, ident, table)
        if model is not None:
            table_models.append(model)
            table_model_names[(ident.schema, ident.name)] = model.name
            table_columns[(ident.schema, ident.name)] = table
    return Catalog(
        default_schema=default_schema,
        resolver=resolver,
        enum_models=tuple(enum_models),
        composite_models=tuple(composite_models),
        tables=tuple(tables),
        table_models=tuple(table_models),
        table_model_names=table_model_names,
        table_columns=table_columns,
    )


def _composite_models(
    inputs: Inputs, resolver: TypeResolver, described: dict[tuple[str, str], tuple[str, str]]
) -> list[Model]:
    """A model per composite type, its fields the type's attributes as the schema
    files define them, each after the composites its fields hold. A composite
    whose attributes cannot be read or typed gets none: the queries that use it
    are refused by name."""
    definitions = {
        (resolver.schema_key(key[0]), key[1]): found for key, found in inputs.composites.items()
    }
    models: list[Model] = []
    visited: set[tuple[str, str]] = set()

    def build(key: tuple[str, str]) -> None:
        if key in visited:
            return
        visited.add(key)
        name, comment = described[key]
        definition = definitions.get(key)
        if definition is None:
            resolver.composites[key] = (
                f"composite type {key[1]!r}: its attributes are not in the schema files"
            )
            return
        columns = [attribute_column(attribute) for attribute in definition.attributes]
        for column in columns:  # the composites its attributes hold come first
            held = normalize(column.type.schema, column.type.name)
            if (resolver.schema_key(held[0]), held[1]) in described:
                build((resolver.schema_key(held[0]), held[1]))
        fields: list[ModelField] = []
        for column, (name_, alias) in zip(columns, field_names(columns), strict=True):
            py_type = resolver.column_type(column, None)
            if isinstance(py_type, str):
                resolver.composites[key] = (
                    f"composite type {key[1]!r}: attribute {column.name!r}: {py_type}"
                )
                return
            fields.append(ModelField(name_, alias or name_, row_type(py_type), ""))
        resolver.composites[key] = PyType(name, frozenset({(".models", name)}))
        models.append(Model(name, comment, tuple(fields)))

    for key in described:
        build(key)
    return models


def _table_model(
    options: Options,
    resolver: TypeResolver,
    ident: Identifier,
    table: Table,
) -> Model | None:
    """The table's model; None for a table with a column of a type the generator
    cannot read (a composite without a model): the queries that read that column
    are refused by name, and the rest of the schema is unaffected."""
    fields: list[ModelField] = []
    for column, (name_, alias) in zip(table.columns, field_names(table.columns), strict=True):
        py_type = resolver.column_type(column, ident)
        if isinstance(py_type, str):
            return None
        fields.append(ModelField(name_, alias or name_, row_type(py_type), column.comment))
    name = class_name(options, table.rel.name, ident.schema, table=True)
    return Model(name, table.comment, tuple(fields))
