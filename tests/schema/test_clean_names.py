"""One meaning of a clean name (migrations 20261207000100 and …0200): name_is_clean and
the CHECK of every human-entered name and identifier column that calls it.

A clean name has a visible character and no control (Cc), format (Cf) or separator
(Zs, Zl, Zp) character but the plain space; blank under any Unicode whitespace is
refused, since every whitespace character but the space is one of those. The same
rule as an actor's: tests/audit/test_attribution.py holds name_is_clean,
audit_actor_is_readable and the runtime's chip_quality_db._actor together.
"""

from __future__ import annotations

import subprocess
import sys
import unicodedata

import asyncpg
import pytest

from tests.conftest import ROOT, run_dbmate

from .test_constraints import DEFECT, INSPECTION, JOB, LOT, PART, REPORT, SEED, update

# Every code point but NUL (text cannot hold it) and the surrogates (UTF-8 cannot).
STORABLE = [c for c in range(1, sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
WHITESPACE = [chr(c) for c in STORABLE if chr(c).isspace()]
REFUSED_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp"}
INVISIBLE = [
    chr(c) for c in STORABLE if unicodedata.category(chr(c)) in REFUSED_CATEGORIES
]  # the plain space among them

CLEAN = [
    "High-Density PCB",  # inner spaces
    "LINE A 2",
    " padded ",  # outer spaces too: nothing is trimmed, a name is stored as sent
    "x",
    "Ångström Łódź Straße",
    "Δέλτα",
    "Привет",
    "東京エレクトロン",
    "서울 반도체",
    "עברית",
    "العربية",
    "हिन्दी",
    "ไทย",
    "Jose\u0301 Mu\u0308ller",  # combining marks (decomposed é, ü)
    "e\u20dd",  # an enclosing mark
    "🔬 probe",
    "✔\ufe0f done",  # emoji presentation selector (a mark, Mn)
    "🇩🇪",  # regional indicators
    'O\'Brien & Sons ("fab") #7 <ok>',
]

# (table, column, SQL that stores $1 in that column of a seeded row, or a new one).
NAME_COLUMNS = [
    ("parts", "part_name", update("parts", PART, "part_name = $1")),
    ("parts", "manufacturer", update("parts", PART, "manufacturer = $1")),
    ("lots", "production_line", update("lots", LOT, "production_line = $1")),
    ("lots", "supplier", update("lots", LOT, "supplier = $1")),
    ("inspections", "station_id", update("inspections", INSPECTION, "station_id = $1")),
    ("inspections", "operator_id", update("inspections", INSPECTION, "operator_id = $1")),
    ("defects", "detected_by", update("defects", DEFECT, "detected_by = $1")),
    (
        "defects",
        "reviewed_by",
        update(
            "defects", DEFECT, "review_status = 'confirmed', reviewed_by = $1, reviewed_at = now()"
        ),
    ),
    ("inference_jobs", "model_name", update("inference_jobs", JOB, "model_name = $1")),
    ("inference_jobs", "model_version", update("inference_jobs", JOB, "model_version = $1")),
    (
        "inference_jobs",
        "worker_id",
        update("inference_jobs", JOB, "status = 'cancelled', worker_id = $1"),
    ),
    ("reports", "title", update("reports", REPORT, "title = $1")),
    ("reports", "generated_by", update("reports", REPORT, "generated_by = $1")),
    (
        "idempotency_keys",
        "actor",
        "INSERT INTO idempotency_keys (key, actor) VALUES ('order-12345', $1)"
        " ON CONFLICT (key) DO UPDATE SET actor = excluded.actor",
    ),
]
UNCLEAN = {"zero-width space": "\u200b", "tab": "\t", "bidi override": "abc\u202edef"}


@pytest.fixture(scope="module")
async def seed(shared_conn: asyncpg.Connection) -> None:
    await shared_conn.execute(SEED)


async def verdicts(conn: asyncpg.Connection, names: list[str]) -> dict[str, bool]:
    rows = await conn.fetch("SELECT n, name_is_clean(n) AS ok FROM unnest($1::text[]) AS n", names)
    return {row["n"]: row["ok"] for row in rows}


async def test_blank_under_every_unicode_whitespace_is_refused(
    shared_conn: asyncpg.Connection,
) -> None:
    assert len(WHITESPACE) > 20  # str.isspace() found them
    blanks = [""] + [form for c in WHITESPACE for form in (c, c * 3, f" {c} ", f"{c} {c}")]
    accepted = [name for name, ok in (await verdicts(shared_conn, blanks)).items() if ok]
    assert accepted == []


async def test_every_control_format_and_separator_character_is_refused(
    shared_conn: asyncpg.Connection,
) -> None:
    """Alone and between letters; only the plain space may stand between letters."""
    assert len(INVISIBLE) > 200
    alone = await verdicts(shared_conn, INVISIBLE)
    assert [f"U+{ord(c):04X}" for c, ok in alone.items() if ok] == []
    inside = await verdicts(shared_conn, [f"a{c}b" for c in INVISIBLE])
    assert [f"U+{ord(n[1]):04X}" for n, ok in inside.items() if ok] == ["U+0020"]


@pytest.mark.parametrize(
    "name",
    [
        "\u200b",
        "\u202e",
        "\u0007",
        "abc\u202edef",
        "\u0007bell",
        "bob\u00a0",
        "a\u200db",
        "\ufeffx",
    ],
    ids=["zero-width", "bidi override", "bell", "inner bidi", "inner bell", "nbsp", "zwj", "bom"],
)
async def test_invisible_and_control_characters_make_a_name_unclean(
    shared_conn: asyncpg.Connection, name: str
) -> None:
    assert await shared_conn.fetchval("SELECT name_is_clean($1)", name) is False


async def test_ordinary_names_in_any_script_are_clean(shared_conn: asyncpg.Connection) -> None:
    assert await verdicts(shared_conn, CLEAN) == dict.fromkeys(CLEAN, True)
    assert await shared_conn.fetchval("SELECT name_is_clean(NULL)") is None  # NULL passes a CHECK


async def test_name_is_clean_keeps_the_form_the_generator_inlines(
    shared_conn: asyncpg.Connection,
) -> None:
    """LANGUAGE sql, a SQL-standard RETURN body, IMMUTABLE (a CHECK needs it), STRICT,
    PARALLEL SAFE; and exactly the character class of audit_actor_is_readable."""
    row = await shared_conn.fetchrow(
        """
        SELECT l.lanname::text, p.provolatile::text, p.proisstrict, p.proparallel::text,
               p.prosqlbody IS NOT NULL AS standard_body,
               pg_get_function_sqlbody(p.oid) AS body,
               (SELECT pg_get_function_sqlbody('audit_actor_is_readable(text)'::regprocedure))
                   AS actor_body
        FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
        WHERE p.oid = 'name_is_clean(text)'::regprocedure
        """
    )
    assert (row["lanname"], row["provolatile"], row["proisstrict"], row["proparallel"]) == (
        "sql",
        "i",
        True,
        "s",
    )
    assert row["standard_body"]
    assert row["body"].replace("name", "actor") == row["actor_body"]


@pytest.mark.parametrize(
    ("table", "column", "sql", "value"),
    [
        pytest.param(table, column, sql, value, id=f"{table}.{column}: {label}")
        for table, column, sql in NAME_COLUMNS
        for label, value in UNCLEAN.items()
    ],
)
async def test_each_name_column_refuses_an_unclean_name_by_its_constraint(
    seed: None, tx: asyncpg.Connection, table: str, column: str, sql: str, value: str
) -> None:
    with pytest.raises(asyncpg.CheckViolationError) as caught:
        await tx.execute(sql, value)
    assert caught.value.constraint_name == f"{table}_{column}_check"
    assert caught.value.table_name == table


@pytest.mark.parametrize(
    ("table", "column", "sql"),
    [pytest.param(*entry, id=f"{entry[0]}.{entry[1]}") for entry in NAME_COLUMNS],
)
async def test_each_name_column_stores_a_clean_name_as_sent(
    seed: None, tx: asyncpg.Connection, table: str, column: str, sql: str
) -> None:
    for name in (" LINE A 2 ", "Jose\u0301 🔬"):
        await tx.execute(sql, name)
        key = "key = 'order-12345'" if table == "idempotency_keys" else "true"
        stored = await tx.fetch(f"SELECT {column} AS v FROM {table} WHERE {key}")
        assert name in {row["v"] for row in stored}


async def test_the_name_constraints_are_validated(shared_conn: asyncpg.Connection) -> None:
    """…0200 validated what …0100 added NOT VALID: each holds for every row, not only new ones."""
    rows = await shared_conn.fetch(
        """
        SELECT conrelid::regclass::text AS table_name, conname::text, convalidated
        FROM pg_constraint
        WHERE contype = 'c' AND pg_get_constraintdef(oid) LIKE '%name_is_clean(%'
        """
    )
    expected = {(table, f"{table}_{column}_check") for table, column, _ in NAME_COLUMNS}
    assert {(row["table_name"], row["conname"]) for row in rows} == expected
    assert all(row["convalidated"] for row in rows)


def query_in_the_validate_header() -> str:
    """The query the header of …0200 gives for finding the rows that fail validation."""
    text = (ROOT / "schema/migrations/20261207000200_validate_clean_names.sql").read_text()
    header = text[: text.index("-- migrate:up")]
    lines = [line[len("--   ") :] for line in header.splitlines() if line.startswith("--   ")]
    assert lines and lines[0].startswith("SELECT") and lines[-1].endswith(";")
    return "\n".join(lines)


async def test_rows_that_fail_validation_stop_it_and_the_header_query_finds_them(
    db_url: str,
) -> None:
    """Stored before the rule (after rolling both migrations back): the first migration
    still applies, the validation stops naming a constraint, the header's query lists
    exactly the bad rows, and once they are corrected the validation goes through."""
    run_dbmate(db_url, "rollback")  # the cache's triggers (20261207000300), after them
    run_dbmate(db_url, "rollback")
    run_dbmate(db_url, "rollback")
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("SELECT set_config('app.actor', 'alice', false)")
        await conn.execute(
            "INSERT INTO parts (part_number, part_name, part_type) VALUES"
            " ('PCB-BAD-1', $1, 'pcb'), ('PCB-OK-1', 'Quad NAND', 'pcb')",
            "abc\u202edef",
        )
        await conn.execute(
            "INSERT INTO idempotency_keys (key, actor) VALUES ('order-99999', $1)", "\t"
        )
        with pytest.raises(subprocess.CalledProcessError) as caught:
            run_dbmate(db_url, "up")
        assert "(23514)" in caught.value.stderr  # check_violation, in any server language
        versions = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [row["version"] for row in versions][-1] == "20261207000100"

        found = await conn.fetch(query_in_the_validate_header())
        assert sorted(tuple(row.values())[0::2] for row in found) == [
            ("idempotency_keys", "actor"),
            ("parts", "part_name"),
        ]
        assert {row[3] for row in found} == {"abc\u202edef", "\t"}

        await conn.execute("UPDATE parts SET part_name = 'abcdef' WHERE part_number = 'PCB-BAD-1'")
        await conn.execute("DELETE FROM idempotency_keys WHERE key = 'order-99999'")
        run_dbmate(db_url, "up")
        assert await conn.fetch(query_in_the_validate_header()) == []
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == "20261207000300"
    finally:
        await conn.close()
