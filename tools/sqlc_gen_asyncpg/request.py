"""sqlc's GenerateRequest (codegen.proto) as frozen dataclasses: input only, no decisions.

sqlc's process plugins with `format: json` receive the protobuf message in its
JSON form: proto field names, `bytes` fields base64-encoded, and absent
messages as null.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any


class RequestError(ValueError):
    """The request is not a GenerateRequest this plugin can read."""


@dataclass(frozen=True)
class Identifier:
    catalog: str
    schema: str
    name: str


@dataclass(frozen=True)
class Column:
    name: str
    not_null: bool
    is_array: bool
    comment: str
    length: int
    is_named_param: bool
    is_func_call: bool
    scope: str
    table: Identifier | None
    table_alias: str
    type: Identifier
    is_sqlc_slice: bool
    embed_table: Identifier | None
    original_name: str
    unsigned: bool
    array_dims: int


@dataclass(frozen=True)
class Parameter:
    number: int
    column: Column


@dataclass(frozen=True)
class Query:
    text: str
    name: str
    cmd: str
    columns: tuple[Column, ...]
    params: tuple[Parameter, ...]
    comments: tuple[str, ...]
    filename: str
    insert_into_table: Identifier | None


@dataclass(frozen=True)
class Table:
    rel: Identifier
    columns: tuple[Column, ...]
    comment: str


@dataclass(frozen=True)
class Enum:
    name: str
    vals: tuple[str, ...]
    comment: str


@dataclass(frozen=True)
class CompositeType:
    name: str
    comment: str


@dataclass(frozen=True)
class Schema:
    name: str
    comment: str
    tables: tuple[Table, ...]
    enums: tuple[Enum, ...]
    composite_types: tuple[CompositeType, ...]


@dataclass(frozen=True)
class Catalog:
    comment: str
    default_schema: str
    name: str
    schemas: tuple[Schema, ...]


@dataclass(frozen=True)
class Settings:
    engine: str
    schema: tuple[str, ...]
    queries: tuple[str, ...]


@dataclass(frozen=True)
class GenerateRequest:
    settings: Settings
    catalog: Catalog
    queries: tuple[Query, ...]
    sqlc_version: str
    plugin_options: bytes
    global_options: bytes


def parse_request(raw: bytes) -> GenerateRequest:
    """Read sqlc's JSON GenerateRequest; RequestError names what is wrong."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(f"the request is not JSON ({exc}); is `format: json` set?") from exc
    if not isinstance(data, dict):
        raise RequestError("the request is not a JSON object")
    try:
        return _request(data)
    except (KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise RequestError(f"malformed GenerateRequest: {exc!r}") from exc


def _request(data: dict[str, Any]) -> GenerateRequest:
    settings = data.get("settings") or {}
    return GenerateRequest(
        settings=Settings(
            engine=str(settings.get("engine", "")),
            schema=tuple(settings.get("schema") or ()),
            queries=tuple(settings.get("queries") or ()),
        ),
        catalog=_catalog(data["catalog"]),
        queries=tuple(_query(q) for q in data.get("queries") or ()),
        sqlc_version=str(data.get("sqlc_version", "")),
        plugin_options=_bytes(data.get("plugin_options")),
        global_options=_bytes(data.get("global_options")),
    )


def _bytes(value: Any) -> bytes:
    if not value:
        return b""
    return base64.b64decode(value, validate=True)


def _identifier(data: dict[str, Any] | None) -> Identifier | None:
    if data is None:
        return None
    return Identifier(
        catalog=str(data.get("catalog", "")),
        schema=str(data.get("schema", "")),
        name=str(data.get("name", "")),
    )


def _column(data: dict[str, Any]) -> Column:
    column_type = _identifier(data.get("type")) or Identifier("", "", "")
    return Column(
        name=str(data.get("name", "")),
        not_null=bool(data.get("not_null", False)),
        is_array=bool(data.get("is_array", False)),
        comment=str(data.get("comment", "")),
        length=int(data.get("length", -1)),
        is_named_param=bool(data.get("is_named_param", False)),
        is_func_call=bool(data.get("is_func_call", False)),
        scope=str(data.get("scope", "")),
        table=_identifier(data.get("table")),
        table_alias=str(data.get("table_alias", "")),
        type=column_type,
        is_sqlc_slice=bool(data.get("is_sqlc_slice", False)),
        embed_table=_identifier(data.get("embed_table")),
        original_name=str(data.get("original_name", "")),
        unsigned=bool(data.get("unsigned", False)),
        array_dims=int(data.get("array_dims", 0)),
    )


def _query(data: dict[str, Any]) -> Query:
    return Query(
        text=str(data["text"]),
        name=str(data["name"]),
        cmd=str(data["cmd"]),
        columns=tuple(_column(c) for c in data.get("columns") or ()),
        params=tuple(
            Parameter(number=int(p["number"]), column=_column(p["column"]))
            for p in data.get("params") or ()
        ),
        comments=tuple(str(c) for c in data.get("comments") or ()),
        filename=str(data.get("filename", "")),
        insert_into_table=_identifier(data.get("insert_into_table")),
    )


def _catalog(data: dict[str, Any]) -> Catalog:
    return Catalog(
        comment=str(data.get("comment", "")),
        default_schema=str(data.get("default_schema", "")),
        name=str(data.get("name", "")),
        schemas=tuple(_schema(s) for s in data.get("schemas") or ()),
    )


def _schema(data: dict[str, Any]) -> Schema:
    return Schema(
        name=str(data.get("name", "")),
        comment=str(data.get("comment", "")),
        tables=tuple(
            Table(
                rel=_identifier(t["rel"]) or Identifier("", "", ""),
                columns=tuple(_column(c) for c in t.get("columns") or ()),
                comment=str(t.get("comment", "")),
            )
            for t in data.get("tables") or ()
        ),
        enums=tuple(
            Enum(
                name=str(e["name"]),
                vals=tuple(e.get("vals") or ()),
                comment=str(e.get("comment", "")),
            )
            for e in data.get("enums") or ()
        ),
        composite_types=tuple(
            CompositeType(name=str(c["name"]), comment=str(c.get("comment", "")))
            for c in data.get("composite_types") or ()
        ),
    )
