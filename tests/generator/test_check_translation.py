"""CHECK constraints translated into pydantic limits accept exactly what PostgreSQL
accepts: hypothesis draws values on both sides of every bound, boundary values,
Unicode lengths and regex edge cases; pydantic and the server must agree on each.

Runs over the project's schema and over the golden case `checks`' schema, which
holds every translated form and neighbours the translator must refuse.
"""

from __future__ import annotations

import asyncio
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import JsonValue, TypeAdapter, ValidationError

from chip_quality_queries._runtime import Check
from sqlc_gen_asyncpg.constraints import Rule, read_checks
from sqlc_gen_asyncpg.inputs import parse_schema
from sqlc_gen_asyncpg.row_checks import with_row_rules

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FORMS = Path(__file__).parent / "cases" / "checks" / "schema.sql"
PROJECT = read_checks(parse_schema(sorted((ROOT / "schema/migrations").glob("*.sql"))))
SAMPLES = with_row_rules(read_checks(parse_schema([FORMS])))
RULES = [*PROJECT.rules, *SAMPLES.rules]

INT_RANGES = {"int2": 2**15, "smallint": 2**15, "int4": 2**31, "int": 2**31, "integer": 2**31}
PY_TYPES: dict[str, type] = {"numeric": Decimal, "decimal": Decimal, "bytea": bytes}


def python_type(rule: Rule) -> Any:
    if rule.sql_type in ("json", "jsonb"):
        return JsonValue
    if rule.sql_type in ("float4", "float8", "real", "double precision"):
        return float
    if rule.sql_type in INT_RANGES or rule.sql_type in ("int8", "bigint"):
        return int
    return PY_TYPES.get(rule.sql_type, str)


def adapter(rule: Rule) -> TypeAdapter[Any]:
    """The rule as the generated code applies it: the runtime's Check."""
    return TypeAdapter(Annotated[python_type(rule), Check(rule.constraint, **rule.limits)])


def values(rule: Rule) -> st.SearchStrategy[Any]:
    kind = python_type(rule)
    limits = rule.field_arguments()
    if kind is JsonValue:
        return st.sampled_from([{}, {"a": [1]}, [], [{}], "object", 1, 1.5, True])
    if kind is int:
        span = INT_RANGES.get(rule.sql_type, 2**63)
        bounds = [v for k, v in limits.items() if k in ("ge", "gt", "le", "lt")]
        near = [b + d for b in bounds for d in (-2, -1, 0, 1, 2)]
        return st.one_of(
            st.sampled_from(near or [0]), st.integers(min_value=-span, max_value=span - 1)
        )
    if kind is Decimal:
        bounds = [Decimal(v) for k, v in limits.items() if k in ("ge", "gt", "le", "lt")]
        near = [b + d for b in bounds for d in (Decimal("-0.001"), Decimal(0), Decimal("0.001"))]
        return st.one_of(
            st.sampled_from(near or [Decimal(0)]),
            st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False),
        )
    if kind is float:
        bounds = [float(v) for k, v in limits.items() if k in ("ge", "gt", "le", "lt")]
        return st.one_of(st.sampled_from(bounds or [0.0]), st.floats(-10, 10, allow_nan=False))
    lengths = [v + d for k, v in limits.items() if k.endswith("_length") for d in (-1, 0, 1)]
    if kind is bytes:
        exact = [b"\x00" * n for n in lengths if n >= 0]
        return st.one_of(
            st.sampled_from(exact or [b""]), st.binary(max_size=max(lengths or [8]) + 2)
        )
    longest = limits.get("max_length", 10) + 3
    pattern = limits.get("pattern")
    texts = [
        st.text(max_size=longest),
        st.text(alphabet=" \n\t\u00a0aZ09-._|é", max_size=longest),
        st.sampled_from(
            ["", " ", "  ", "\n", "a", "a\n", "\na", "é" * (longest - 3), "a" * (longest - 3)]
        ),
    ]
    if pattern:
        # DOTALL: PostgreSQL's `.` matches a newline, so matches may hold one.
        python_regex = re.compile(pattern.removeprefix("(?s)"), re.DOTALL)
        texts.append(st.from_regex(python_regex))
        texts.append(st.from_regex(python_regex, fullmatch=True))
        texts.append(st.from_regex(python_regex).map(lambda s: s + "\n"))
        texts.append(st.from_regex(python_regex).map(lambda s: s[1:]))
        texts.append(st.from_regex(python_regex).flatmap(with_newline))
        texts.append(st.from_regex(python_regex, fullmatch=True).flatmap(with_newline))
    return st.one_of(*texts)


def with_newline(text: str) -> st.SearchStrategy[str]:
    """`text` with one character replaced by, or a newline put in front of it: where
    the engines' `.`, `$` and negated brackets could part ways."""
    return st.integers(0, len(text)).flatmap(
        lambda at: st.sampled_from(
            [text[:at] + "\n" + text[at + 1 :], text[:at] + "\n" + text[at:]]
        )
    )


def server_accepts(
    conn: asyncpg.Connection, loop: asyncio.AbstractEventLoop, rule: Rule, value: Any
) -> bool:
    # The CHECK expression over a one-row relation whose column has the rule's name and type.
    column = rule.column if rule.column != "value" else "value"
    placeholder = f"$1::{rule.sql_type}"
    if rule.sql_type in ("json", "jsonb"):
        placeholder, value = f"$1::text::{rule.sql_type}", json.dumps(value)
    sql = (
        f"SELECT ({rule.check_sql}) IS NOT FALSE "
        f'FROM (SELECT {placeholder} AS "{column}") AS candidate'
    )
    return bool(loop.run_until_complete(conn.fetchval(sql, value)))


def pydantic_accepts(checker: TypeAdapter[Any], value: Any) -> bool:
    try:
        checker.validate_python(value, strict=True)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.table}.{r.constraint}" for r in RULES])
def test_pydantic_and_postgresql_agree(server_url: str, rule: Rule) -> None:
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(server_url))
    checker = adapter(rule)
    seen = {True: 0, False: 0}

    @settings(
        max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(values(rule))
    def agree(value: Any) -> None:
        try:
            server = server_accepts(conn, loop, rule, value)
        except (asyncpg.DataError, asyncpg.PostgresError, ValueError):
            return  # a value the column's type itself refuses (NUL byte, out of range)
        seen[server] += 1
        assert pydantic_accepts(checker, value) == server, (value, rule.limits)

    try:
        agree()
    finally:
        loop.run_until_complete(conn.close())
        loop.close()
    assert seen[True] and seen[False], f"only one side was drawn: {seen}"


def test_the_forms_are_translated_or_refused_as_documented() -> None:
    translated = {r.constraint for r in SAMPLES.rules}
    refused = {u.constraint: u.reason for u in SAMPLES.untranslated}
    assert translated == {
        "forms_small_check",
        "forms_big_check",
        "forms_exact_check",
        "forms_flipped_check",
        "forms_ratio_check",
        "forms_share_check",
        "forms_code_check",
        "forms_loose_check",
        "forms_label_check",
        "forms_word_check",
        "forms_mode_check",
        "forms_kind_check",
        "forms_digest_check",
        "percent_check",
        "rows_tidy_check",
        "rows_sized_check",
        "rows_measure_check",
        "rows_reading_check",
        "rows_doc_check",
    }
    assert {r.constraint for r in SAMPLES.row_rules} == {
        "forms_pair_check",
        "rows_order_check",
        "rows_closed_check",
    }
    assert "POSIX class" in refused["forms_spaced_check"]
    assert "\\d" in refused["forms_digits_check"]
    assert "<>" in refused["forms_other_check"]
    assert "lower()" in refused["forms_lowered_check"]
