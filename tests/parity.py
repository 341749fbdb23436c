"""Rule parity: what PostgreSQL stores against what the client passes, value by value.

The server judge reads a column from the live catalog of a migrated database (its
type with its modifier, `format_type(atttypid, atttypmod)`, and every CHECK over that
column alone, `pg_get_constraintdef`), makes a temporary one-column table just like
it, and INSERTs each value (one statement per value): refused (any error: range,
overflow, CHECK, a NUL in text, a value the driver cannot encode) or stored, with
the value stored (`RETURNING`). No cast to a plain type: `numeric(5,4)` rounds to
4 places before its CHECK runs, as the real table does.

The values are drawn per column, from what the catalog says about it (its type and
modifier, the constants and regular expressions of its CHECKs): explicit edges at
and beyond each limit (scale, precision, integer widths, float specials, length in
characters and in bytes, every Unicode whitespace, control, format and separator
character alone and inside text the column takes; for dates the ends of the range
and the days around a month's first), plus hypothesis.

`compare` runs a client judge (a pydantic model, a TypeAdapter) against the server
on each value and tallies where they part ways:

- false refusal: the client refuses a value the server stores;
- passes, refused: the client passes a value (and sends what it validated) that
  the server refuses;
- sent != stored: the client passes a value and the server stores something else.

The tallies end up in REPORT, which the suite prints at the end (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
import re
import unicodedata
import warnings
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from functools import cache
from typing import Any

import asyncpg
import pglast
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pglast import ast
from pydantic import TypeAdapter, ValidationError

# -- the live catalog -----------------------------------------------------------------

_COLUMNS = """
SELECT c.relname AS table_name, a.attname AS column_name, a.attnum,
       format_type(a.atttypid, a.atttypmod) AS sql_type,
       coalesce(b.typname, t.typname) AS base,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod,
       CASE WHEN a.attcollation <> t.typcollation THEN quote_ident(co.collname) END AS collation,
       CASE WHEN t.typtype = 'd' THEN t.oid END AS domain
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type b ON b.oid = t.typbasetype AND t.typtype = 'd'
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""

_DOMAINS = """
SELECT t.typname AS table_name, 'value' AS column_name, 1 AS attnum,
       format_type(t.oid, NULL) AS sql_type, b.typname AS base, t.typtypmod AS typmod,
       NULL::text AS collation, t.oid AS domain
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_type b ON b.oid = t.typbasetype
WHERE n.nspname = $1 AND t.typtype = 'd'
"""

_CHECKS = """
SELECT c.relname AS table_name, k.conname, k.conkey, pg_get_constraintdef(k.oid) AS definition
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND k.contype = 'c'
ORDER BY k.conname
"""

_DOMAIN_CHECKS = """
SELECT k.contypid AS domain, k.conname, pg_get_constraintdef(k.oid) AS definition
FROM pg_constraint k WHERE k.contype = 'c' AND k.contypid <> 0 ORDER BY k.conname
"""

INT_BITS = {"int2": 16, "int4": 32, "int8": 64}
FLOATS = {"float4", "float8"}
TEXTS = {"text", "varchar", "bpchar", "name", "citext"}


@dataclass(frozen=True)
class Column:
    """A column as the catalog describes it (or a domain, as column `value`)."""

    table: str
    name: str
    sql_type: str  # format_type: numeric(5,4), text, integer, a domain's name
    base: str  # the base type's name through a domain: numeric, int4, text, jsonb
    typmod: int  # the modifier of that type, -1 when none
    collation: str | None  # a collation other than the type's, quoted
    checks: tuple[tuple[str, str], ...]  # (name, definition) of CHECKs over it alone
    type_checks: tuple[str, ...] = ()  # definitions of its domain's CHECKs (the type enforces them)
    shared_checks: tuple[str, ...] = ()  # names of CHECKs over it and other columns (not judged)

    @property
    def key(self) -> str:
        return f"{self.table}.{self.name}"

    @property
    def judged(self) -> bool:
        """A rule lives here: a CHECK of its own or a type modifier."""
        return bool(self.checks or self.type_checks) or self.typmod >= 0

    @property
    def kind(self) -> str:
        if self.base == "numeric":
            return "numeric"
        if self.base in INT_BITS:
            return "int"
        if self.base in FLOATS:
            return "float"
        if self.base in TEXTS:
            return "text"
        if self.base in ("json", "jsonb"):
            return "json"
        if self.base == "bytea":
            return "bytes"
        if self.base == "date":
            return "date"
        return "other"

    @property
    def precision_scale(self) -> tuple[int, int] | None:
        """numeric(p, s): (p, s); None for a numeric without a modifier."""
        if self.kind != "numeric" or self.typmod < 4:
            return None
        packed = self.typmod - 4
        scale = ((packed & 0x7FF) ^ 1024) - 1024  # 11-bit signed (negative scales, PG 15+)
        return (packed >> 16) & 0xFFFF, scale

    @property
    def max_chars(self) -> int | None:
        """varchar(n), char(n): n."""
        return self.typmod - 4 if self.base in ("varchar", "bpchar") and self.typmod >= 4 else None


async def read_columns(conn: asyncpg.Connection, schema: str = "public") -> dict[str, Column]:
    """Every column of every table of `schema`, and every domain as `<domain>.value`."""
    checks: dict[str, list[tuple[str, list[int], str]]] = {}
    for row in await conn.fetch(_CHECKS, schema):
        checks.setdefault(row["table_name"], []).append(
            (row["conname"], list(row["conkey"]), row["definition"])
        )
    domain_checks: dict[int, list[str]] = {}
    for row in await conn.fetch(_DOMAIN_CHECKS):
        domain_checks.setdefault(row["domain"], []).append(row["definition"])
    columns: dict[str, Column] = {}
    for row in [*await conn.fetch(_COLUMNS, schema), *await conn.fetch(_DOMAINS, schema)]:
        table, attnum = row["table_name"], row["attnum"]
        is_domain_itself = row["column_name"] == "value" and row["sql_type"].endswith(table)
        own = checks.get(table, []) if not is_domain_itself else []
        column = Column(
            table=table,
            name=row["column_name"],
            sql_type=row["sql_type"],
            base=row["base"],
            typmod=row["typmod"],
            collation=row["collation"],
            checks=tuple((name, text) for name, keys, text in own if keys == [attnum]),
            type_checks=tuple(domain_checks.get(row["domain"], [])) if row["domain"] else (),
            shared_checks=tuple(name for name, keys, _ in own if attnum in keys and len(keys) > 1),
        )
        columns.setdefault(column.key, column)
    return columns


# -- what a CHECK says: its constants and regular expressions ---------------------------


@dataclass(frozen=True)
class Constants:
    numbers: tuple[Decimal, ...]
    strings: tuple[str, ...]
    patterns: tuple[str, ...]  # right-hand sides of ~ and ~*


def _is(node: Any, kind: type) -> bool:
    """isinstance without narrowing: pglast types every field of its nodes Optional."""
    return isinstance(node, kind)


def _nodes(node: Any) -> Iterator[ast.Node]:
    if _is(node, ast.Node):
        yield node
        for name in node:
            yield from _nodes(getattr(node, name))
    elif isinstance(node, tuple | list):
        for item in node:
            yield from _nodes(item)


def constants(definitions: Iterable[str]) -> Constants:
    """The constants of CHECK definitions (`CHECK (...)` as pg_get_constraintdef says),
    read by PostgreSQL's own parser: numbers (also those spelled as strings, '-5'::integer),
    strings and regular expressions."""
    numbers: set[Decimal] = set()
    strings: set[str] = set()
    patterns: set[str] = set()
    for definition in definitions:
        text = definition.removesuffix(" NOT VALID")
        (statement,) = pglast.parse_sql(f"ALTER TABLE t ADD {text}")
        node: Any  # pglast types every field of its nodes Optional
        for node in _nodes(statement):
            if _is(node, ast.A_Expr) and node.name:
                right = node.rexpr
                while _is(right, ast.TypeCast):
                    right = right.arg
                operator = node.name[-1].sval
                if (
                    operator in ("~", "~*", "!~", "!~*")
                    and _is(right, ast.A_Const)
                    and _is(right.val, ast.String)
                ):
                    patterns.add(right.val.sval)
            if not _is(node, ast.A_Const) or node.isnull:
                continue
            value: Any = node.val
            if _is(value, ast.Integer):
                numbers.add(Decimal(value.ival))
            elif _is(value, ast.Float):
                numbers.add(Decimal(value.fval))
            elif _is(value, ast.String):
                strings.add(value.sval)
                with contextlib.suppress(InvalidOperation):
                    numbers.add(Decimal(value.sval.strip()))
    finite = {n for n in numbers if n.is_finite()}
    return Constants(
        tuple(sorted(finite)), tuple(sorted(strings - patterns)), tuple(sorted(patterns))
    )


def column_constants(column: Column) -> Constants:
    return constants([text for _, text in column.checks] + list(column.type_checks))


# -- the server judge -------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    stored: bool
    value: Any = None  # what the server stored (RETURNING)
    reason: str = ""  # why it refused


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _reason(error: asyncpg.PostgresError) -> str:
    message = str(error).splitlines()[0]
    if message.startswith("invalid input for query argument"):
        return "driver: " + message.rsplit("(", 1)[-1].rstrip(")")
    constraint = getattr(error, "constraint_name", None)
    return f"{error.sqlstate} {constraint}" if constraint else f"{error.sqlstate} {message}"


class ServerJudge:
    """INSERTs values into temporary one-column copies of real columns, one statement
    per value on one connection (autocommit: a refusal ends that statement only).

    A Decimal the driver would send as another number (the server never sees it)
    counts as refused, and is listed in `garbled`."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._statements: dict[tuple[str, tuple[str, ...]], Any] = {}
        self._verdicts: dict[tuple[str, tuple[str, ...], str, str], Verdict] = {}
        self._echo: Any = None
        self.inserts = 0
        self.garbled: list[str] = []  # values the driver sends as something else

    async def _statement(self, column: Column, casts: tuple[str, ...]) -> Any:
        key = (column.key, casts)
        if key not in self._statements:
            table = f"parity_{len(self._statements)}"
            name = _quoted(column.name)
            collate = f" COLLATE {column.collation}" if column.collation else ""
            await self._conn.execute(
                f"CREATE TEMPORARY TABLE {table} ({name} {column.sql_type}{collate})"
            )
            for constraint, definition in column.checks:
                await self._conn.execute(
                    f"ALTER TABLE {table} ADD CONSTRAINT {_quoted(constraint)} {definition}"
                )
            # The parameter as the query passes it: cast as the query casts it, if it does.
            expression = "$1" + "".join(f"::{cast}" for cast in casts)
            self._statements[key] = await self._conn.prepare(
                f"INSERT INTO {table} ({name}) VALUES ({expression}) RETURNING {name}"
            )
        return self._statements[key]

    async def _received(self, value: Decimal) -> Any:
        """The numeric the server receives for `value` (asyncpg encodes Decimal('1E+131072')
        as 0: its weight overflows the wire format's 16 bits)."""
        if self._echo is None:
            self._echo = await self._conn.prepare("SELECT $1::numeric")
        try:
            return await self._echo.fetchval(value)
        except asyncpg.PostgresError:
            return value  # refused on the way: the INSERT says so too

    async def judge(self, column: Column, value: Any, casts: tuple[str, ...] = ()) -> Verdict:
        key = (column.key, casts, type(value).__qualname__, repr(value))
        if key not in self._verdicts and isinstance(value, Decimal):
            received = await self._received(value)
            if not same(value, received):
                self.garbled.append(f"{shown(value)} arrives as {shown(received, 24)}")
                self._verdicts[key] = Verdict(False, reason=f"driver: sends {shown(received, 24)}")
        if key not in self._verdicts:
            statement = await self._statement(column, casts)
            self.inserts += 1
            try:
                stored = await statement.fetchval(value)
            except asyncpg.PostgresError as error:
                self._verdicts[key] = Verdict(False, reason=_reason(error))
            else:
                self._verdicts[key] = Verdict(True, stored)
        return self._verdicts[key]


# -- values -----------------------------------------------------------------------------

CATEGORIES = ("Cc", "Cf", "Zs", "Zl", "Zp")
COMBINING = ["\u0301", "e\u0301", "\u0327", "\u20dd", "\u034f", "\ufe0f", "a\u0300\u0301\u0302"]
ODD_TEXT = [
    "",
    " ",
    "  ",
    "a",
    "A",
    "0",
    "é",
    "𝔸",
    "😀",
    "👩\u200d💻",
    "🇫🇷",
    "\ufffd",
    "\ue000",
    "\uffff",
    "\U0010ffff",
    "ab cd",
    " a ",
    "a\n",
    "\na",
    "a\r\n",
    "\\",
    "'",
    "%",
    "_",
    "a\x00b",
]
FILLERS = ("a", "A", "0", "é", "𝔸", "😀", "e\u0301")
TEXT_EXAMPLES = 120
NUMBER_EXAMPLES = 120
JSON_EXAMPLES = 60


@cache
def special_characters() -> tuple[str, ...]:
    """Every character str.isspace() calls whitespace and every character of Unicode
    categories Cc, Cf, Zs, Zl and Zp (Python's Unicode database)."""
    return tuple(
        c for c in map(chr, range(0x110000)) if unicodedata.category(c) in CATEGORIES or c.isspace()
    )


def draw(strategy: st.SearchStrategy[Any], examples: int) -> list[Any]:
    """Values hypothesis draws from `strategy` (generation only: nothing fails inside)."""
    drawn: list[Any] = []

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn


def unique(values: Iterable[Any]) -> list[Any]:
    seen: set[tuple[str, str]] = set()
    kept: list[Any] = []
    for value in values:
        key = (type(value).__qualname__, repr(value))
        if key not in seen:
            seen.add(key)
            kept.append(value)
    return kept


_POSIX_CLASSES = {
    "[:space:]": r" \t\n\r\f\v",
    "[:alpha:]": "a-zA-Z",
    "[:digit:]": "0-9",
    "[:alnum:]": "a-zA-Z0-9",
    "[:upper:]": "A-Z",
    "[:lower:]": "a-z",
    "[:xdigit:]": "0-9a-fA-F",
    "[:punct:]": r"!-/:-@\[-`{-~",
}


def python_regex(pattern: str) -> re.Pattern[str] | None:
    """A Python reading of a PostgreSQL regular expression, to draw text near it (not to
    judge: the server judges). DOTALL: PostgreSQL's `.` matches a newline."""
    for posix, python in _POSIX_CLASSES.items():
        pattern = pattern.replace(posix, python)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


def _with_newline(text: str) -> st.SearchStrategy[str]:
    """`text` with one character replaced by, or a newline put in front of it: where the
    engines' `.`, `$` and negated brackets could part ways."""
    return st.integers(0, len(text)).flatmap(
        lambda at: st.sampled_from(
            [text[:at] + "\n" + text[at + 1 :], text[:at] + "\n" + text[at:]]
        )
    )


def _lengths(column: Column) -> list[int]:
    """The lengths a text column's CHECKs or modifier name (its small whole constants)."""
    found = column_constants(column)
    lengths = {int(n) for n in found.numbers if n == n.to_integral_value() and 0 <= n <= 10_000}
    if column.max_chars is not None:
        lengths.add(column.max_chars)
    return sorted(lengths)


def text_values(column: Column) -> list[str]:
    """Text near the column's limits (the seeds' neighbours come later: `text_in_context`):
    each length limit -1, 0, +1 in characters of 1 to 4 bytes (and e + combining acute)."""
    found = column_constants(column)
    lengths = _lengths(column)
    values: list[str] = [*ODD_TEXT, *COMBINING, *special_characters()]
    for n in lengths:
        for filler in FILLERS:
            for size in (n - 1, n, n + 1):
                if size >= 0:
                    values.append((filler * (size // len(filler) + 1))[:size])
    for text in found.strings:
        values += [text, text + "\n", " " + text, text + " ", text.upper(), text.lower(), text * 2]
    strategies: list[st.SearchStrategy[str]] = [
        # Short: the explicit values above stand at each length limit, and hypothesis
        # takes milliseconds per long text.
        st.text(max_size=min(max(lengths, default=20), 64) + 3),
        st.text(alphabet=st.sampled_from([*special_characters(), *"aZ09 -._|é𝔸"]), max_size=12),
    ]
    for pattern in found.patterns:
        regex = python_regex(pattern)
        if regex is None:
            continue
        strategies += [
            st.from_regex(regex, fullmatch=True),
            st.from_regex(regex),
            st.from_regex(regex, fullmatch=True).map(lambda s: s + "\n"),
            st.from_regex(regex, fullmatch=True).map(lambda s: s[1:]),
            st.from_regex(regex, fullmatch=True).flatmap(_with_newline),
        ]
        values += draw(st.from_regex(regex, fullmatch=True), 30)
    values += draw(st.one_of(*strategies), TEXT_EXAMPLES)
    return unique(values)


def text_in_context(column: Column, seeds: list[str]) -> list[str]:
    """Every special character inside 'ab?cd' and inside each seed (text the server
    stores in this column), and seeds grown to each length limit."""
    contexts = [("ab", "cd")] + [(seed[: len(seed) // 2], seed[len(seed) // 2 :]) for seed in seeds]
    values = [
        left + char + right
        for left, right in contexts
        for char in [*special_characters(), *COMBINING, "\x00"]
    ]
    for seed in seeds:
        for n in _lengths(column):
            for size in (n, n + 1):
                if size > len(seed):
                    values.append(seed + seed[-1] * (size - len(seed)))
    return unique(values)


def _step(scale: int) -> Decimal:
    return Decimal(1).scaleb(-scale)


def numeric_values(column: Column) -> list[Decimal]:
    with localcontext(prec=200):
        return _numeric_values(column)


def _numeric_values(column: Column) -> list[Decimal]:
    found = column_constants(column)
    bounds = [*found.numbers, Decimal(0)]
    values = [
        Decimal(text)
        for text in (
            "NaN",
            "-NaN",
            "sNaN",
            "Infinity",
            "-Infinity",
            "0",
            "-0",
            "0E-20",
            "-0.0",
            "1E+1",
            "1E-1000",
            "-1E-1000",
            "1E+1000",
            "-1E+1000",
            "1E+131071",
            "1E+131072",
            "1E-16383",
            "1.00000000000000000001",
            "-1.00000000000000000001",
            "0.99999999999999999999",
        )
    ]
    shape = column.precision_scale
    scale = shape[1] if shape else 4
    step = _step(scale)
    tiny = _step(scale + 16)
    for bound in bounds:
        for k in ("0.4", "0.5", "0.6", "1"):
            values += [bound + step * Decimal(k), bound - step * Decimal(k)]
        values += [bound, bound + tiny, bound - tiny, bound.normalize(), bound.quantize(tiny)]
    if shape:
        precision, scale = shape
        top = Decimal(1).scaleb(precision - scale)  # the first value that overflows
        largest = top - step
        for sign in (1, -1):
            values += [
                sign * largest,
                sign * top,
                sign * (top - step / 2),
                sign * (top - step * Decimal("0.6")),
                sign * (top - step * Decimal("0.4")),
                sign * Decimal(f"1E+{precision - scale}"),
                sign * (largest + tiny),
            ]
        low = -top - 1
        high = top + 1
        values += draw(
            st.decimals(min_value=low, max_value=high, places=scale + 2), NUMBER_EXAMPLES // 2
        )
    lo = min(bounds) - 2
    hi = max(bounds) + 2
    values += draw(
        st.one_of(
            st.decimals(min_value=lo, max_value=hi, places=scale + 3),
            st.decimals(allow_nan=True, allow_infinity=True),
        ),
        NUMBER_EXAMPLES,
    )
    return unique(values)


def int_values(column: Column) -> list[int]:
    found = column_constants(column)
    values = [0, 1, -1]
    for bits in (16, 32, 64):
        for edge in (2 ** (bits - 1) - 1, 2 ** (bits - 1)):
            values += [edge, edge + 1, -edge, -edge - 1]
    for bound in found.numbers:
        if bound == bound.to_integral_value():
            values += [int(bound) - 1, int(bound), int(bound) + 1]
    values += draw(st.one_of(st.integers(), st.integers(-(2**65), 2**65)), NUMBER_EXAMPLES)
    return unique(values)


def float_values(column: Column) -> list[float]:
    found = column_constants(column)
    values = [
        math.nan,
        -math.nan,
        math.inf,
        -math.inf,
        0.0,
        -0.0,
        5e-324,
        -5e-324,
        2.2250738585072014e-308,
        1.7976931348623157e308,
        -1.7976931348623157e308,
        3.4028234663852886e38,  # float4's largest
        3.5e38,
        1.401298464324817e-45,  # float4's smallest
        1e-46,
    ]
    for bound in found.numbers:
        b = float(bound)
        values += [b, math.nextafter(b, math.inf), math.nextafter(b, -math.inf), b + 1e-9, b - 1e-9]
    values += draw(st.floats(), NUMBER_EXAMPLES)
    return unique(values)


_JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, allow_subnormal=False)
    | st.text(max_size=8)
)
JSON_DOCUMENTS = st.recursive(
    _JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
).filter(lambda value: value is not None)  # None is SQL NULL, not a JSON document


def json_values(column: Column) -> list[Any]:
    values: list[Any] = [
        {},
        [],
        [{}],
        0,
        1.5,
        "text",
        True,
        False,
        {"a": None},
        {"a": {"b": [1, "x", None]}},
        {"": ""},
        {"a": "\x00"},
        {"\x00": 1},
        {"a": "\u3000"},
        {"a": 2**63 - 1},
    ]
    values += draw(JSON_DOCUMENTS, JSON_EXAMPLES)
    return unique(values)


def bytes_values(column: Column) -> list[bytes]:
    found = column_constants(column)
    values = [b"", b"\x00", b"\xff", b" "]
    for n in found.numbers:
        if n == n.to_integral_value() and 0 <= n <= 10_000:
            size = int(n)
            values += [b"\x00" * s for s in (size - 1, size, size + 1) if s >= 0]
            values += [b"\xff" * size]
    values += draw(st.binary(max_size=40), NUMBER_EXAMPLES)
    return unique(values)


def date_values(column: Column) -> list[dt.date]:
    """The ends of the range Python and the server share, first and last days of months
    (a CHECK such as `month = date_trunc('month', month)::date` tells them apart), a
    leap day, and hypothesis's."""
    values = [dt.date.min, dt.date.max, dt.date(1970, 1, 1), dt.date(2024, 2, 29)]
    for year, month in ((2026, 1), (2026, 2), (2026, 12), (1999, 12)):
        first = dt.date(year, month, 1)
        values += [first, first + dt.timedelta(days=1), first - dt.timedelta(days=1)]
    values += draw(st.dates(), NUMBER_EXAMPLES)
    return unique(values)


_drawn: dict[tuple[str, str, int, Constants], list[Any]] = {}


def values_for(column: Column) -> list[Any]:
    """The values drawn for a column, before the ones in context (text only); drawn
    once for columns alike (same type, modifier and CHECK constants)."""
    key = (column.kind, column.base, column.typmod, column_constants(column))
    if key not in _drawn:
        _drawn[key] = _draw_values(column)
    return list(_drawn[key])


def _draw_values(column: Column) -> list[Any]:
    match column.kind:
        case "numeric":
            return numeric_values(column)
        case "int":
            return int_values(column)
        case "float":
            return float_values(column)
        case "text":
            return text_values(column)
        case "json":
            return json_values(column)
        case "bytes":
            return bytes_values(column)
        case "date":
            return date_values(column)
    raise AssertionError(f"{column.key}: no values drawn for type {column.base} yet")


async def column_values(
    judge: ServerJudge, column: Column, casts: tuple[str, ...] = ()
) -> list[Any]:
    """values_for(column), and for text every special character inside text this column
    stores (the shortest two seeds the server stored of at least two characters)."""
    values = values_for(column)
    if column.kind != "text":
        return values
    stored: list[str] = []
    for value in values:
        if len(value) >= 2 and (await judge.judge(column, value, casts)).stored:
            stored.append(value)
    seeds = sorted(stored, key=lambda s: (len(s), s))[:2]
    return unique([*values, *text_in_context(column, seeds)])


# -- comparing --------------------------------------------------------------------------


def same(sent: Any, stored: Any) -> bool:
    """Whether the server stored exactly what the client sent (numbers by value, NaN
    equal to NaN, the sign of a float zero kept)."""
    if isinstance(sent, Decimal) and isinstance(stored, Decimal):
        if sent.is_nan() or stored.is_nan():
            return sent.is_nan() and stored.is_nan()
        return sent == stored
    if isinstance(sent, float) and isinstance(stored, float):
        if math.isnan(sent) or math.isnan(stored):
            return math.isnan(sent) and math.isnan(stored)
        return sent == stored and math.copysign(1, sent) == math.copysign(1, stored)
    if isinstance(sent, bool) != isinstance(stored, bool):
        return False
    return bool(type(sent) is type(stored) and sent == stored) or (
        isinstance(sent, dict | list) and sent == stored
    )


ClientJudge = Callable[[Any], tuple[bool, Any]]
"""A value -> (True, what the client sends) or (False, why it refuses)."""

ServerCall = Callable[[Any], Awaitable[Verdict]]


def adapter_judge(annotation: Any) -> ClientJudge:
    """A TypeAdapter's verdict, lax (as the generated functions validate)."""
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)

    def judge(value: Any) -> tuple[bool, Any]:
        try:
            return True, adapter.validate_python(value)
        except ValidationError as error:
            return False, error.errors()[0]["type"]

    return judge


def shown(value: Any, width: int = 48) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass
class Tally:
    place: str
    field: str
    column: str
    rule: str  # the Check's constraint carried by the field, "" when none
    tried: int = 0
    false_refusals: list[str] = dataclasses.field(default_factory=list)
    passes_refused: list[str] = dataclasses.field(default_factory=list)
    mismatches: list[str] = dataclasses.field(default_factory=list)
    refused: list[Any] = dataclasses.field(default_factory=list, repr=False)  # client refused
    accepted: list[Any] = dataclasses.field(default_factory=list, repr=False)  # client passed

    @property
    def translated(self) -> bool:
        return bool(self.rule)


async def compare(
    tally: Tally, client: ClientJudge, server: ServerCall, values: Iterable[Any]
) -> Tally:
    for value in values:
        tally.tried += 1
        accepted, outcome = client(value)
        if not accepted:
            tally.refused.append(value)
            verdict = await server(value)
            if verdict.stored:
                tally.false_refusals.append(
                    f"{shown(value)} (stored as {shown(verdict.value, 24)}; client: {outcome})"
                )
            continue
        tally.accepted.append(value)
        verdict = await server(outcome)
        if not verdict.stored:
            sent = "" if same(outcome, value) else f" sent as {shown(outcome, 24)}"
            tally.passes_refused.append(f"{shown(value)}{sent} ({verdict.reason})")
        elif not same(outcome, verdict.value):
            tally.mismatches.append(
                f"{shown(value)}: sent {shown(outcome, 24)}, stored {shown(verdict.value, 24)}"
            )
    return tally


# -- the report -------------------------------------------------------------------------

REPORT: dict[str, list[str]] = {}
"""Sections of lines the suite prints at its end (tests/conftest.py)."""


def table(tallies: Iterable[Tally]) -> list[str]:
    rows = sorted(tallies, key=lambda t: (t.place, t.field, t.column))
    header = (
        "place",
        "field",
        "column",
        "rule",
        "tried",
        "false refusals",
        "passes, refused",
        "sent!=stored",
    )
    cells = [
        (
            t.place,
            t.field,
            t.column,
            t.rule or "-",
            str(t.tried),
            str(len(t.false_refusals)),
            str(len(t.passes_refused)),
            str(len(t.mismatches)),
        )
        for t in rows
    ]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        left = [row[i].ljust(widths[i]) for i in range(4)]
        right = [row[i].rjust(widths[i]) for i in range(4, len(row))]
        return "  ".join(left + right)

    return [line(header), *(line(row) for row in cells)]


def failures(
    tallies: Iterable[Tally], kind: str, only_translated: bool = False, examples: int = 4
) -> list[str]:
    """`place field -> column: n (examples)` for each tally with findings of `kind`."""
    found = []
    for t in sorted(tallies, key=lambda t: (t.place, t.field)):
        if only_translated and not t.translated:
            continue
        items: list[str] = getattr(t, kind)
        if items:
            shown_items = "; ".join(sorted(items, key=len)[:examples])
            found.append(
                f"{t.place} {t.field} -> {t.column}: {len(items)} of {t.tried}: {shown_items}"
            )
    return found
