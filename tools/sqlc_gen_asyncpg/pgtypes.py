"""PostgreSQL type names, as sqlc reports them, to the Python types asyncpg returns.

sqlc spells one type several ways (`int4`, `integer`, `pg_catalog.int4`,
`serial`); `normalize` is the one place that folds them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PyType:
    """A Python annotation and the imports it needs, as `(module, name)` pairs."""

    annotation: str
    imports: frozenset[tuple[str, str]] = frozenset()

    def nullable(self) -> PyType:
        return PyType(optional(self.annotation), self.imports)

    def list_of(self, dims: int) -> PyType:
        annotation = self.annotation
        for _ in range(dims):
            annotation = f"list[{annotation}]"
        return PyType(annotation, self.imports)


def optional(annotation: str) -> str:
    """`annotation | None`, unless None is one of its values already: `None | None`
    type-checks but raises TypeError when evaluated (typing.get_type_hints, pydantic)."""
    if annotation == "None" or annotation.endswith(" | None"):
        return annotation
    return f"{annotation} | None"


def _t(annotation: str, *imports: tuple[str, str]) -> PyType:
    return PyType(annotation, frozenset(imports))


_DATETIME = ("datetime", "datetime")
_DATE = ("datetime", "date")
_DECIMAL = ("decimal", "Decimal")
_RANGE = ("asyncpg", "Range")

# One spelling per type: the key `normalize` returns.
_ALIASES = {
    "boolean": "bool",
    "smallint": "int2",
    "smallserial": "int2",
    "serial2": "int2",
    "integer": "int4",
    "int": "int4",
    "serial": "int4",
    "serial4": "int4",
    "bigint": "int8",
    "bigserial": "int8",
    "serial8": "int8",
    "real": "float4",
    "double precision": "float8",
    "float": "float8",
    "decimal": "numeric",
    "character varying": "varchar",
    "character": "bpchar",
    "char": "bpchar",
    "time without time zone": "time",
    "time with time zone": "timetz",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "bit varying": "varbit",
}

BUILTIN_TYPES: dict[str, PyType] = {
    "bool": _t("bool"),
    "int2": _t("int"),
    "int4": _t("int"),
    "int8": _t("int"),
    "oid": _t("int"),
    "xid": _t("int"),
    "cid": _t("int"),
    "float4": _t("float"),
    "float8": _t("float"),
    "numeric": _t("Decimal", _DECIMAL),
    "money": _t("str"),  # asyncpg returns money as text: its format follows lc_monetary
    "text": _t("str"),
    "varchar": _t("str"),
    "bpchar": _t("str"),
    "name": _t("str"),
    "citext": _t("str"),
    "xml": _t("str"),
    "tsvector": _t("str"),
    "tsquery": _t("str"),
    "macaddr": _t("str"),
    "macaddr8": _t("str"),
    "bytea": _t("bytes"),
    "uuid": _t("UUID", ("uuid", "UUID")),
    "date": _t("date", _DATE),
    "time": _t("time", ("datetime", "time")),
    "timetz": _t("time", ("datetime", "time")),
    # Row fields say whether the value carries a time zone; pydantic checks it.
    "timestamp": _t("NaiveDatetime", ("pydantic", "NaiveDatetime")),
    "timestamptz": _t("AwareDatetime", ("pydantic", "AwareDatetime")),
    "interval": _t("timedelta", ("datetime", "timedelta")),
    "json": _t("JsonValue", ("pydantic", "JsonValue")),
    "jsonb": _t("JsonValue", ("pydantic", "JsonValue")),
    # asyncpg returns an address when the prefix covers the whole address, else an interface.
    "inet": _t(
        "IPv4Address | IPv6Address | IPv4Interface | IPv6Interface",
        ("ipaddress", "IPv4Address"),
        ("ipaddress", "IPv6Address"),
        ("ipaddress", "IPv4Interface"),
        ("ipaddress", "IPv6Interface"),
    ),
    "cidr": _t(
        "IPv4Network | IPv6Network", ("ipaddress", "IPv4Network"), ("ipaddress", "IPv6Network")
    ),
    "bit": _t("BitString", ("asyncpg", "BitString")),
    "varbit": _t("BitString", ("asyncpg", "BitString")),
    "int4range": _t("Range[int]", _RANGE),
    "int8range": _t("Range[int]", _RANGE),
    "numrange": _t("Range[Decimal]", _RANGE, _DECIMAL),
    "tsrange": _t("Range[datetime]", _RANGE, _DATETIME),
    "tstzrange": _t("Range[datetime]", _RANGE, _DATETIME),
    "daterange": _t("Range[date]", _RANGE, _DATE),
    "int4multirange": _t("list[Range[int]]", _RANGE),
    "int8multirange": _t("list[Range[int]]", _RANGE),
    "nummultirange": _t("list[Range[Decimal]]", _RANGE, _DECIMAL),
    "tsmultirange": _t("list[Range[datetime]]", _RANGE, _DATETIME),
    "tstzmultirange": _t("list[Range[datetime]]", _RANGE, _DATETIME),
    "datemultirange": _t("list[Range[date]]", _RANGE, _DATE),
    "point": _t("Point", ("asyncpg", "Point")),
    "line": _t("Line", ("asyncpg", "Line")),
    "lseg": _t("LineSegment", ("asyncpg", "LineSegment")),
    "box": _t("Box", ("asyncpg", "Box")),
    "path": _t("Path", ("asyncpg", "Path")),
    "polygon": _t("Polygon", ("asyncpg", "Polygon")),
    "circle": _t("Circle", ("asyncpg", "Circle")),
    "record": _t("Record", ("asyncpg", "Record")),
    "void": _t("None"),
}

# sqlc reports `any` when it cannot infer an expression's type: asyncpg will
# decode whatever the server sends, so nothing more precise than object is true.
UNKNOWN = _t("object")
UNINFERRED_NAMES = frozenset({"any", "anyelement", "anyarray", "unknown", ""})


def normalize(schema: str, name: str) -> tuple[str, str]:
    """`(schema, name)` with pg_catalog folded away and one spelling per built-in type."""
    name = name.strip().lower()
    if "." in name and not schema:
        schema, name = name.rsplit(".", 1)
    if schema in ("pg_catalog", "information_schema"):
        schema = ""
    return schema, _ALIASES.get(name, name)
