"""The CHECKs the migrations leave in place, as PostgreSQL names them and follows them.

The replay in constraints.py must end with PostgreSQL's own set of CHECKs: an
unnamed one named as ChooseConstraintName does, renames and drops followed. Each
name below was read from pg_constraint on PostgreSQL 15 after this SCHEMA;
tests/schema/test_check_replay_server.py asserts the same against a live server.
A form the replay cannot follow exactly stops generation, naming the statement.
"""

from __future__ import annotations

import pglast
import pytest

from sqlc_gen_asyncpg.constraints import Checks, SchemaReplayError, read_checks

SCHEMA = """
CREATE TABLE t (
    a int CHECK (a > 0),
    b int CHECK (a < b),
    c text CHECK (true),
    CHECK (a < 10),
    CHECK (b > a),
    CHECK (t.b > 0),
    CHECK (t IS NOT NULL)
);
ALTER TABLE t ADD CHECK (a < 100), ADD CONSTRAINT t_named CHECK (a < 50);
ALTER TABLE t ADD CHECK (a < 101), ADD COLUMN d int CHECK (d > 0) CHECK (a > 2);
ALTER TABLE t ADD COLUMN e int CONSTRAINT t_e_named CHECK (e > 0);
ALTER TABLE t RENAME TO t_old;
CREATE TABLE t (a int CHECK (a > 0));
CREATE TABLE u (e int, CONSTRAINT u_e_check UNIQUE (e));
ALTER TABLE u ADD CHECK (e > 0);
CREATE TABLE w (
    a int,
    b int,
    n int CHECK (n >= 0),
    CHECK (a > 0 AND b > 0),
    CHECK (a > 1),
    CHECK (b > 1),
    CHECK (w IS NOT NULL)
);
ALTER TABLE w DROP COLUMN a;
ALTER TABLE w RENAME COLUMN b TO bb;
ALTER TABLE w RENAME CONSTRAINT w_b_check TO w_bb_positive;
ALTER TABLE w ALTER COLUMN n TYPE bigint;
ALTER TABLE w ADD CHECK (bb < 100);
CREATE TABLE z (a int CHECK (a > 0));
ALTER TABLE z ADD CHECK (a > 1), DROP CONSTRAINT z_a_check;
CREATE TABLE a_table_whose_name_is_long_enough_to_be_cut_short_somewhere (
    a_column_whose_name_is_long_enough_to_be_cut_as_well int
        CHECK (a_column_whose_name_is_long_enough_to_be_cut_as_well > 0),
    CHECK (a_column_whose_name_is_long_enough_to_be_cut_as_well < 10)
);
CREATE DOMAIN dd AS int CHECK (VALUE > 0) CHECK (VALUE < 10);
ALTER DOMAIN dd ADD CHECK (VALUE <> 5);
ALTER DOMAIN dd DROP CONSTRAINT dd_check1;
ALTER DOMAIN dd ADD CONSTRAINT dd_small CHECK (VALUE < 8);
ALTER DOMAIN dd RENAME CONSTRAINT dd_check2 TO dd_not_five;
ALTER DOMAIN dd RENAME TO digit;
CREATE DOMAIN gone AS int CHECK (VALUE > 0);
DROP DOMAIN gone;
CREATE TABLE dropped (a int CHECK (a > 0));
DROP TABLE dropped;
"""

LONG = "a_table_whose_name_is_long_enough_to_be_cut_short_somewhere"
# (table or domain, constraint) -> the column its translated rule limits (None: the
# CHECK is left to the database: it reads several columns, none, or is not translated)
EXPECTED = {
    ("t_old", "t_a_check"): "a",  # a column CHECK
    ("t_old", "t_check"): None,  # b's column CHECK reads a and b: no column in its name
    ("t_old", "t_check1"): None,  # reads no column
    ("t_old", "t_a_check1"): "a",  # a table CHECK is named after the one column it reads
    ("t_old", "t_check2"): None,  # two unnamed table CHECKs over several columns
    ("t_old", "t_b_check"): None,  # t.b is b; a qualified name is left to the database
    ("t_old", "t_check3"): None,  # the whole row
    ("t_old", "t_a_check2"): "a",  # ALTER TABLE ADD CHECK, unnamed
    ("t_old", "t_named"): "a",
    ("t_old", "t_d_check"): "d",  # ADD COLUMN's own CHECKs before ADD CHECK
    ("t_old", "t_a_check3"): "a",
    ("t_old", "t_a_check4"): "a",
    ("t_old", "t_e_named"): "e",
    ("t", "t_a_check5"): "a",  # the renamed table still holds t_a_check..t_a_check4
    ("u", "u_e_check1"): "e",  # a UNIQUE holds u_e_check
    ("w", "w_bb_positive"): "bb",  # renamed column, then renamed constraint
    ("w", "w_check1"): None,  # a whole-row CHECK survives DROP COLUMN
    ("w", "w_n_check"): "n",
    ("w", "w_bb_check"): "bb",
    ("z", "z_a_check"): "a",  # DROP CONSTRAINT runs before ADD in one ALTER TABLE
    (LONG, "a_table_whose_name_is_long_e_a_column_whose_name_is_long__check"): "a_column_"
    "whose_name_is_long_enough_to_be_cut_as_well",
    (LONG, "a_table_whose_name_is_long_e_a_column_whose_name_is_long_check1"): "a_column_"
    "whose_name_is_long_enough_to_be_cut_as_well",
    ("digit", "dd_check"): "value",
    ("digit", "dd_small"): "value",
    ("digit", "dd_not_five"): None,  # `<>`: left to the database
}


def _read(sql: str) -> Checks:
    return read_checks(raw.stmt for raw in pglast.parse_sql(sql))


CHECKS = _read(SCHEMA)


def constraint_names(checks: Checks) -> set[tuple[str, str]]:
    """(table or domain, constraint) of every CHECK, translated or left to the database."""
    return {(r.table, r.constraint) for r in checks.rules} | {
        (u.table, u.constraint) for u in checks.untranslated
    }


def test_the_replay_ends_with_postgresqls_constraint_names() -> None:
    assert constraint_names(CHECKS) == set(EXPECTED)


def test_each_translated_check_reads_the_column_postgresql_names() -> None:
    read = {(r.table, r.constraint): r.column for r in CHECKS.rules}
    assert read == {key: column for key, column in EXPECTED.items() if key in read}
    assert {key for key, column in EXPECTED.items() if column} == set(read)


def test_a_renamed_column_is_followed_into_the_check() -> None:
    rule = next(r for r in CHECKS.rules if r.constraint == "w_bb_positive")
    assert (rule.check_sql, rule.limits) == ("bb > 1", (("gt", 1),))
    assert ("w", "b") not in CHECKS.column_types
    assert CHECKS.column_types[("w", "bb")] == "int4"


def test_a_retyped_column_changes_the_rules_type() -> None:
    rule = next(r for r in CHECKS.rules if r.constraint == "w_n_check")
    assert rule.sql_type == "int8"


def test_a_drop_column_drops_every_check_reading_it() -> None:
    checks = _read(
        "CREATE TABLE w (a int, b int, CHECK (a > 0 AND b > 0), CHECK (b > 0));"
        "ALTER TABLE w DROP COLUMN a;"
    )
    assert constraint_names(checks) == {("w", "w_b_check")}


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("CREATE TABLE c () INHERITS (p)", "INHERITS, PARTITION OF, OF"),
        ("CREATE TABLE c PARTITION OF p DEFAULT", "INHERITS, PARTITION OF, OF"),
        ("CREATE TABLE c (LIKE p INCLUDING CONSTRAINTS)", "a table made LIKE another"),
        ("DROP FUNCTION f(int) CASCADE", "a CASCADE drop may take CHECKs with it"),
        ("DROP TYPE mood CASCADE", "a CASCADE drop may take CHECKs with it"),
        ("ALTER TABLE p ADD CHECK (zz > 0)", "zz is not a column of p"),
    ],
)
def test_a_form_not_followed_stops_generation_naming_the_statement(
    statement: str, reason: str
) -> None:
    with pytest.raises(SchemaReplayError) as refusal:
        _read(f"CREATE TABLE p (a int CHECK (a > 0)); {statement};")
    message = str(refusal.value)
    assert message.startswith("schema statement `")
    assert reason in message
    assert (
        pglast.parse_sql(statement)[0].stmt == pglast.parse_sql(message.split("`")[1])[0].stmt
    )  # the statement, as PostgreSQL's parser reads it
