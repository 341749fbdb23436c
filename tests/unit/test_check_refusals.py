"""What the CHECK translator leaves to the database, and why, and what it reads.

A CHECK the generator cannot write exactly, as field limits (constraints.py) or as a
row expression (row_checks.py), stays with the database, and models.py lists it with
the reason from both: a reader of the generated code learns there why a value the
model accepts can still be refused by the server. Each reason here names what was
not translated. The translated forms are judged against the server elsewhere
(tests/execution/test_check_translation.py, tests/queries/test_row_check_parity.py);
this tier checks, without a server, which form goes where and what each refusal says.
"""

from __future__ import annotations

from typing import Any

import pglast
import pytest

from sqlc_gen_asyncpg.constraints import Checks, Modifier, read_checks
from sqlc_gen_asyncpg.row_checks import with_row_rules

SCHEMA = """
CREATE TYPE mood AS ENUM ('calm', 'tense');
CREATE FUNCTION reads_other(v text) RETURNS boolean LANGUAGE sql IMMUTABLE
    RETURN char_length(w) > 0;
CREATE TABLE t (
    n int, m int, x text, y text, b boolean, j jsonb, d date, ts timestamptz,
    e mood, arr int[], f float8,
    -- Refused as limits on one column and as a row expression.
    CONSTRAINT qualified CHECK (t.n > 0 OR m > 0),
    CONSTRAINT not_boolean CHECK (n + m),
    CONSTRAINT number_operand CHECK ((n > 0) AND (n + 1) OR b),
    CONSTRAINT subquery CHECK (n > 0 OR x IN (SELECT 'a')),
    CONSTRAINT any_of_column CHECK (n > 0 OR x = ANY (y)),
    CONSTRAINT number_in_labels CHECK (n > 0 OR n IN ('a', 'b')),
    CONSTRAINT text_between CHECK (x BETWEEN 'a' AND 'b' OR n > 0),
    CONSTRAINT text_plus CHECK (x + 1 > 0 OR n > 0),
    CONSTRAINT times CHECK (n * 2 > m),
    CONSTRAINT like_prefix CHECK (x LIKE 'a%' OR n > 0),
    CONSTRAINT nullif_call CHECK (nullif(n, 0) > 0 OR b),
    CONSTRAINT btrim_other CHECK (btrim(x, 'ab') <> '' OR n > 0),
    CONSTRAINT btrim_column CHECK (btrim(x, y) <> '' OR b),
    CONSTRAINT lower_call CHECK (lower(x) = 'a' OR n > 0),
    CONSTRAINT length_of_number CHECK (char_length(n) > 0 OR m > 0),
    CONSTRAINT typeof_text CHECK (jsonb_typeof(x) = 'object' OR n > 0),
    CONSTRAINT text_order CHECK (x < y),
    CONSTRAINT date_and_time CHECK (d < ts),
    CONSTRAINT number_and_text CHECK (n = x OR m > 0),
    CONSTRAINT coalesce_kinds CHECK (coalesce(n, x) = 1 OR m > 0),
    CONSTRAINT simple_case CHECK (CASE n WHEN 1 THEN true ELSE false END),
    CONSTRAINT bit_string CHECK (x = B'101' OR n > 0),
    CONSTRAINT unknown_column CHECK (zz > 0 OR n > 0),
    -- Read as row expressions.
    CONSTRAINT between_columns CHECK (n BETWEEN 0 AND m),
    CONSTRAINT enum_label CHECK (e = 'calm'::mood OR n > 0),
    CONSTRAINT same_dates CHECK (d <= d OR n > 0),
    CONSTRAINT text_list CHECK (n > 0 OR x = ANY (ARRAY['a', 'b']::text[])),
    CONSTRAINT spaces_trimmed CHECK (btrim(x, ' ') <> '' OR n > 0),
    CONSTRAINT sizes CHECK (cardinality(arr) > n AND length(x) > m),
    CONSTRAINT fallback CHECK (coalesce(n, m, NULL) > 0 OR b),
    CONSTRAINT case_without_else CHECK (CASE WHEN n > 0 THEN b END),
    CONSTRAINT constants CHECK (f > 1.5 OR b = true OR n > NULL),
    CONSTRAINT negated CHECK (NOT (n > 0 AND m > 0) OR n IS NOT NULL OR m IS NULL)
);
CREATE TABLE c (
    x text, n int, j jsonb, v varchar(4), num numeric(5, 2), day date,
    CONSTRAINT two_patterns CHECK (x ~ '^a' AND x ~ 'b$'),
    CONSTRAINT not_one_set CHECK (x !~ 'ab'),
    CONSTRAINT typeof_of_text CHECK (jsonb_typeof(x) = 'object'),
    CONSTRAINT octets_of_text CHECK (octet_length(x) = 4),
    CONSTRAINT length_of_int CHECK (char_length(n) < 4),
    CONSTRAINT length_of_expression CHECK (char_length(x || x) < 4),
    CONSTRAINT mixed_list CHECK (x IN ('a', 1)),
    CONSTRAINT list_of_call CHECK (lower(x) IN ('a', 'b')),
    CONSTRAINT upper_call CHECK (upper(x) > 'A'),
    CONSTRAINT through_function CHECK (reads_other(x)),
    CONSTRAINT regex_on_int CHECK (n ~ 'a'),
    CONSTRAINT first_of_month CHECK (day >= '2024-01-01'),
    -- Translated as limits.
    CONSTRAINT safe_text CHECK (x !~ '[<>]' AND btrim(x) <> ''),
    CONSTRAINT narrowed CHECK (n >= 1 AND n >= 3 AND n <= 9 AND n <= 5)
);
ALTER TABLE c ADD CONSTRAINT added CHECK (n > 0);
ALTER TABLE c ADD CONSTRAINT gone CHECK (n > 1);
ALTER TABLE c DROP CONSTRAINT gone;
ALTER TABLE c DROP COLUMN v;
ALTER TABLE c ALTER COLUMN num TYPE numeric(7, 3);
ALTER TABLE c ADD COLUMN w varchar(3);
CREATE TABLE dropped (a int CONSTRAINT dropped_a_check CHECK (a > 0));
DROP TABLE dropped;
CREATE DOMAIN positive AS int CHECK (VALUE > 0);
"""


def _read(sql: str) -> Checks:
    return with_row_rules(read_checks(raw.stmt for raw in pglast.parse_sql(sql)))


CHECKS = _read(SCHEMA)
REFUSED = {u.constraint: u.reason for u in CHECKS.untranslated}

# Over several columns: the first half, from constraints.py, is the same for each.
ROW_REFUSALS = {
    "qualified": "a qualified column",
    "not_boolean": "not a boolean expression",
    "number_operand": "a non-boolean operand of AND, OR, NOT or CASE",
    "subquery": "SubLink is not translated",
    "any_of_column": "IN or ANY of something other than a list",
    "number_in_labels": "`=` between number and label",
    "text_between": "`>=` between text and label: not an order both share",
    "text_plus": "`+` of something other than numbers",
    "times": "the operator '*' is not translated",
    "like_prefix": "LIKE is not translated",
    "nullif_call": "NULLIF(...) is not translated",
    "btrim_other": "btrim() of characters other than the space",
    "btrim_column": "a constant was expected",
    "lower_call": "lower() is not translated",
    "length_of_number": "char_length() of a number value",
    "typeof_text": "jsonb_typeof() of a text value",
    "text_order": "`<` between text and text: not an order both share",
    "date_and_time": "`<` between temporal date and temporal timestamptz: not an order both share",
    "number_and_text": "`=` between number and text",
    "coalesce_kinds": "coalesce() of values of different kinds",
    "simple_case": "CaseExpr is not translated",
    "bit_string": "a constant of another type",
    "unknown_column": "zz is not a column of t",
}


@pytest.mark.parametrize(("constraint", "reason"), ROW_REFUSALS.items())
def test_a_row_expression_refused_says_what_it_holds(constraint: str, reason: str) -> None:
    assert REFUSED[constraint].endswith(f"; as a row: {reason}")


@pytest.mark.parametrize(
    ("constraint", "reason"),
    [
        ("two_patterns", "it holds two patterns"),
        ("not_one_set", "`!~` is translated only for one bracket expression"),
        ("typeof_of_text", "jsonb_typeof() of a text column"),
        ("octets_of_text", "octet_length() of a text column"),
        ("length_of_int", "char_length() of a int4 column"),
        ("length_of_expression", "char_length() of something other than a column"),
        ("mixed_list", "a list of values that are not all text"),
        ("list_of_call", "a list of values of something other than a column"),
        ("upper_call", "upper() of a text column"),
        ("through_function", "reads_other() reads something other than its argument"),
        ("regex_on_int", "n is not a text column"),
        ("first_of_month", "day is a date column: only a number column's limits are translated"),
        ("text_order", "x is a text column: its order follows the collation"),
        ("date_and_time", "d is a date column: only a number column's limits are translated"),
        ("times", "it compares with something other than a constant"),
        ("not_boolean", "the comparison '+' is not translated"),
        ("simple_case", "CaseExpr is not a comparison with constants"),
    ],
)
def test_a_column_limit_refused_says_why(constraint: str, reason: str) -> None:
    assert REFUSED[constraint].startswith(f"{reason}; as a row: ")


def test_forms_over_several_columns_are_read_as_row_expressions() -> None:
    assert {r.constraint for r in CHECKS.row_rules} == {
        "between_columns",
        "enum_label",
        "same_dates",
        "text_list",
        "spaces_trimmed",
        "sizes",
        "fallback",
        "case_without_else",
        "constants",
        "negated",
    }
    rules = {r.constraint: r for r in CHECKS.row_rules}
    assert rules["sizes"].columns == ("arr", "n", "x", "m")
    # length() is char_length() for text; a decimal constant is exact, never a float.
    assert "'\"char_length\"'" in repr(rules["sizes"].expression)
    assert 'Decimal("1.5")' in repr(rules["constants"].expression)
    # A CASE without ELSE is NULL there, which a CHECK passes.
    assert repr(rules["case_without_else"].expression).endswith(
        "Call(func='Const', args=('None',))))"
    )


def test_every_constraint_is_translated_refused_or_read_as_a_row() -> None:
    limits = {(r.table, r.constraint): dict(r.limits) for r in CHECKS.rules}
    rows = {r.constraint for r in CHECKS.row_rules}
    named = {"safe_text", "narrowed", "added", "positive_check"}
    assert {constraint for _, constraint in limits} == named
    assert len(REFUSED) + len(rows) + len(named) == SCHEMA.count("CHECK (") - 2  # gone, dropped
    # `!~ '[<>]'` with btrim(x) <> '': one pattern, a non-space outside the set.
    assert limits[("c", "safe_text")] == {
        "pattern": "(?s)^[^\\x{3C}\\x{3E}]*[^\\x{3C}\\x{3E} ][^\\x{3C}\\x{3E}]*$"
    }
    # Several limits of one kind: the narrowest holds.
    assert limits[("c", "narrowed")] == {"ge": 3, "le": 5}
    assert limits[("positive", "positive_check")] == {"gt": 0}


def test_type_modifiers_follow_alter_table() -> None:
    modifiers: dict[tuple[str, str], Any] = {
        key: value for key, value in CHECKS.modifiers.items() if key[0] == "c"
    }
    assert modifiers == {
        ("c", "n"): Modifier("Int", (4,)),
        ("c", "num"): Modifier("Numeric", (7, 3)),  # retyped
        ("c", "w"): Modifier("VarChar", (3,)),  # added; v was dropped
    }


def test_an_array_column_has_no_modifier() -> None:
    checks = _read("CREATE TABLE a (codes varchar(3)[], sizes int[], size int);")
    assert checks.modifiers == {("a", "size"): Modifier("Int", (4,))}
