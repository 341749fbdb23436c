"""What the generator reads from a query's parse tree (analysis.py), without sqlc.

Whether a query only reads decides whether the runtime may send it to a replica and
whether it may be cached; whether a `:one` always yields a row and which result
columns are never NULL decide the generated return annotations; which column a
parameter is stored in decides which CHECK constraints its argument is checked by.
A wrong answer in the safe direction costs a replica read or an `| None`; in the
other it sends a write to a replica or drops a None check, so each rule's edge is
pinned here. The golden case `behaviour` shows the same through sqlc.
"""

from __future__ import annotations

import pytest

from sqlc_gen_asyncpg.analysis import analyse, assigned_columns, row_values
from sqlc_gen_asyncpg.tree import parse

FUNCTIONS = {"bump": "volatile", "calm": "stable"}  # the schema's own, by volatility


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("SELECT 1 INTO copied FROM t", "SELECT INTO"),
        ("SELECT * FROM t FOR UPDATE", "a locking clause (FOR UPDATE/SHARE)"),
        ("WITH d AS (DELETE FROM t RETURNING id) SELECT * FROM d", "a data-modifying CTE (DELETE)"),
        ("DELETE FROM t", "DELETE"),
        ("SELECT nextval('s')", "calls nextval()"),
        ("SELECT bump(1)", "calls bump(), a VOLATILE function of the schema"),
        # set_config() outlives the transaction unless its third argument is true.
        ("SELECT set_config('a', 'b', false)", "set_config() not local to the transaction"),
        ("SELECT set_config('a', 'b', $1)", "set_config() not local to the transaction"),
        ("SELECT set_config('a', 'b')", "set_config() not local to the transaction"),
    ],
)
def test_a_writing_query_says_what_writes(sql: str, why: str) -> None:
    behaviour = analyse(parse(sql), FUNCTIONS)
    assert not behaviour.read_only
    assert behaviour.why == why


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT set_config('a', 'b', true)",
        "SELECT set_config('a', 'b', true::boolean)",
        "SELECT calm(1)",  # STABLE
        "SELECT lower('A')",  # PostgreSQL's own
        "SELECT 1 UNION SELECT 2",
    ],
)
def test_a_reading_query_reads_only(sql: str) -> None:
    assert analyse(parse(sql), FUNCTIONS).why == "reads only"


def test_the_primary_marker_makes_a_read_a_write() -> None:
    behaviour = analyse(parse("SELECT 1"), FUNCTIONS, (" Must see the last write.", " @primary "))
    assert (behaviour.read_only, behaviour.why) == (False, "marked @primary")


@pytest.mark.parametrize(
    ("sql", "always"),
    [
        ("INSERT INTO t (a) VALUES (1) RETURNING id", True),
        ("INSERT INTO t (a) VALUES (1)", False),  # nothing returned
        ("INSERT INTO t (a) SELECT a FROM u RETURNING id", False),  # may insert nothing
        ("INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING RETURNING id", False),
        ("INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = 2 RETURNING id", True),
        (
            "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = 2 "
            "WHERE t.a > 0 RETURNING id",
            False,
        ),
        ("SELECT 1 UNION SELECT 2", False),
        ("VALUES (1)", True),
        ("VALUES (1) LIMIT 1", False),
        ("SELECT 1", True),
        ("SELECT 1 WHERE false", False),
        ("SELECT count(*) FROM t", True),
        ("SELECT coalesce(max(a), 0)::int, count(*) FROM t", True),
        ("SELECT count(*) FROM t LIMIT 1", False),
        ("SELECT count(*) FROM t OFFSET 1", False),
        ("SELECT count(*) FROM t GROUP BY a", False),
        ("SELECT DISTINCT count(*) FROM t", False),
        ("SELECT count(*) OVER () FROM t", False),  # a window: one row per row of t
        ("SELECT a FROM t", False),
    ],
)
def test_a_one_always_has_a_row_only_when_it_must(sql: str, always: bool) -> None:
    assert analyse(parse(sql), FUNCTIONS).always_row is always


def test_never_null_columns() -> None:
    sql = (
        "SELECT coalesce(a, 0), coalesce(a, NULL), coalesce(a, '0'::text), exists(SELECT 1),"
        " (SELECT 1), count(*) OVER (), count(a)::int FROM t"
    )
    assert analyse(parse(sql), FUNCTIONS).never_null == {0, 2, 3, 6}
    returning = "INSERT INTO t (a) VALUES (1) RETURNING coalesce(a, 1), a"
    assert analyse(parse(returning), FUNCTIONS).never_null == {0}


@pytest.mark.parametrize(
    ("sql", "assigned", "filled"),
    [
        (
            "INSERT INTO t (a, b) SELECT $1, $2::int",
            {1: (("t", "a"),), 2: (("t", "b"),)},
            {("t", "a"): (1, False), ("t", "b"): (2, False)},
        ),
        (  # several rows: no parameter fills a column for sure
            "INSERT INTO t (a, b) VALUES ($1, coalesce($2, 0)), ($3, $4)",
            {1: (("t", "a"),), 2: (("t", "b"),), 3: (("t", "a"),), 4: (("t", "b"),)},
            {},
        ),
        (  # what fills EXCLUDED.x on insert fills the column it sets on conflict; a row
            # check sees the proposed row only (the SET goes into the conflicting row)
            "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) "
            'DO UPDATE SET b = EXCLUDED.a, a = $3, c = excluded."b"',
            {1: (("t", "a"), ("t", "b")), 2: (("t", "b"), ("t", "c")), 3: (("t", "a"),)},
            {("t", "a"): (1, False), ("t", "b"): (2, False)},
        ),
        (  # a column only the conflict's SET fills is not in the proposed row
            "INSERT INTO t (a, hi) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET lo = $3",
            {1: (("t", "a"),), 2: (("t", "hi"),), 3: (("t", "lo"),)},
            {("t", "a"): (1, False), ("t", "hi"): (2, False)},
        ),
        (  # each CASE result may be stored; NULLIF($4, 0) may store NULL instead of 0
            "UPDATE t SET a = CASE WHEN $1 > 0 THEN $2 ELSE $3 END, b = nullif($4, 0)",
            {2: (("t", "a"),), 3: (("t", "a"),)},
            {},
        ),
        (
            "WITH w AS (UPDATE t SET a = coalesce($1, a) RETURNING a) INSERT INTO u (x) SELECT $2",
            {1: (("t", "a"),), 2: (("u", "x"),)},
            {("t", "a"): (1, True), ("u", "x"): (2, False)},
        ),
        ("INSERT INTO t (a) SELECT $1 UNION SELECT $2", {}, {}),  # either may be stored
    ],
)
def test_the_columns_a_parameter_is_stored_in(
    sql: str,
    assigned: dict[int, tuple[tuple[str, str], ...]],
    filled: dict[tuple[str, str], tuple[int, bool]],
) -> None:
    parsed = parse(sql)
    assert assigned_columns(parsed) == assigned
    assert row_values(parsed) == filled
