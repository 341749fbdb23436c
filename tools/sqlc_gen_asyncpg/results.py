"""What a query's rows become: a table's model, a `<Query>Row` model, a model with
embedded tables sliced out by position, or, for a lone column, the value itself."""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import names
from .catalog import apply_shape, column_shape, field_names, ref_type, row_type
from .ir import Embed, Model, ModelField
from .pgtypes import PyType, normalize
from .request import Column, Identifier, Query
from .scope import Scope


@dataclass(frozen=True)
class Result:
    """A query's result: exactly one of a row model (maybe with embeds) or a scalar."""

    row_model: str | None = None
    scalar: PyType | None = None
    embeds: tuple[Embed, ...] = ()


def column_type(
    scope: Scope, where: str, column: Column, field_name: str, source: Identifier | None
) -> PyType | str:
    """A result column's type, after the options `nullable` and `overrides` (result),
    which name it `QueryName.column` by its name or its field's (`column_2`)."""
    options = scope.inputs.options
    keys = (f"{where}.{column.name}", f"{where}.{field_name}")
    if any(key in options.nullable for key in keys):
        column = replace(column, not_null=False)
    for key in keys:
        if key in options.result_overrides:
            return apply_shape(ref_type(options.result_overrides[key]), column)
    return scope.catalog.resolver.column_type(column, source)


def result_of(scope: Scope, query: Query, models: list[Model]) -> Result | None:
    """The row model of each result row, or the type of a lone column's value, and
    for rows with embedded tables their layout; None (with a problem) when a column
    cannot be typed. A `<Query>Row` model it makes is added to `models`."""
    columns = query.columns
    fields = field_names(columns)
    row_name = f"{names.query_class_name(query.name)}Row"
    if any(c.embed_table for c in columns):
        return _embedded(scope, query, models, row_name)
    table_model = _matching_table_model(scope, columns)
    if table_model is not None:
        scope.table_models_used.add(table_model)
        return Result(row_model=table_model)
    if len(columns) == 1:
        # A lone column is returned as its value, validated as its type.
        column, (field_name, _) = columns[0], fields[0]
        scalar = column_type(scope, query.name, column, field_name, column.table)
        if isinstance(scalar, str):
            scope.problem(query, f"column {field_name!r}: {scalar}")
            return None
        return Result(scalar=row_type(scalar))
    row_fields: list[ModelField] = []
    for column, (field_name, alias) in zip(columns, fields, strict=True):
        py_type = column_type(scope, query.name, column, field_name, column.table)
        if isinstance(py_type, str):
            scope.problem(query, f"column {column.name or field_name!r}: {py_type}")
            continue
        row_fields.append(
            ModelField(field_name, alias or field_name, row_type(py_type), column.comment)
        )
    if len(row_fields) < len(columns):
        return None
    models.append(Model(row_name, "", tuple(row_fields)))
    return Result(row_model=row_name)


def _embedded(scope: Scope, query: Query, models: list[Model], row_name: str) -> Result | None:
    """With embedded tables (sqlc.embed) the row is sliced by position into models."""
    catalog = scope.catalog
    fields_out: list[ModelField] = []
    layout: list[Embed] = []
    position = 0
    ok = True
    for column, (field_name, alias) in zip(query.columns, field_names(query.columns), strict=True):
        if column.embed_table is None:
            py_type = column_type(scope, query.name, column, field_name, column.table)
            if isinstance(py_type, str):
                scope.problem(query, f"column {field_name!r}: {py_type}")
                ok = False
            else:
                fields_out.append(
                    ModelField(field_name, alias or field_name, row_type(py_type), "")
                )
                layout.append(Embed(field_name, None, position, position + 1))
            position += 1
            continue
        key = (catalog.schema_key(column.embed_table.schema), column.embed_table.name)
        table = catalog.table_columns.get(key)
        model_name = catalog.table_model_names.get(key)
        if table is None or model_name is None:
            # A table of the schema without a model: see catalog._table_model.
            known = any((ident.schema, ident.name) == key for ident, _ in catalog.tables)
            reason = "its table has a column of an unsupported type" if known else "unknown table"
            scope.problem(query, f"sqlc.embed({column.embed_table.name}): {reason}")
            ok = False
            continue
        scope.table_models_used.add(model_name)
        width = len(table.columns)
        layout.append(Embed(field_name, model_name, position, position + width))
        fields_out.append(ModelField(field_name, field_name, PyType(model_name), ""))
        position += width
    if not ok:
        return None
    models.append(Model(row_name, "", tuple(fields_out)))
    return Result(row_model=row_name, embeds=tuple(layout))


def _matching_table_model(scope: Scope, columns: tuple[Column, ...]) -> str | None:
    """The table whose columns these are: same names, types and nullability, in order.

    The columns' own table comes first; a result built from a CTE or subquery
    (`WITH claimed AS (UPDATE ... RETURNING *) SELECT * FROM claimed`) has
    none, so then the one table with exactly this shape is taken.
    """
    catalog = scope.catalog

    def shape_of(of: tuple[Column, ...]) -> list[tuple[object, ...]]:
        keys = [normalize(c.type.schema, c.type.name) for c in of]
        return [
            column_shape((catalog.schema_key(schema), name), c)
            for (schema, name), c in zip(keys, of, strict=True)
        ]

    shape = shape_of(columns)
    origins = {
        (catalog.schema_key(c.table.schema), c.table.name) if c.table else None for c in columns
    }
    candidates = [origins.pop()] if len(origins) == 1 else []
    if not candidates or candidates[0] not in catalog.table_columns:
        candidates = list(catalog.table_columns)
    matches = [
        key
        for key in candidates
        if key in catalog.table_columns and shape == shape_of(catalog.table_columns[key].columns)
    ]
    return catalog.table_model_names[matches[0]] if len(matches) == 1 else None
