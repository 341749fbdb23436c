"""`make query-types` against PostgreSQL: the server's types of every parameter and
result column, against the generated annotations (chip_quality_dev.query_types).

A case generated here by the real sqlc and plugin holds queries sqlc mistypes and
one annotation mistyped by hand; each is reported by query and column. Every golden
case's package is checked too (every shape the generator emits: Params models, bulk
rows, embeds, composites, batches, overrides), and the project's own is clean.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import asyncpg
import pytest

from chip_quality_dev import query_types
from chip_quality_queries._catalog import QUERIES
from tests.generator.golden import CASES, REQUEST_FILE, installed

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
version: "2"
plugins:
  - name: asyncpg
    process:
      cmd: sqlc-gen-asyncpg
      format: json
sql:
  - engine: postgresql
    schema: schema.sql
    queries: query.sql
    codegen:
      - plugin: asyncpg
        out: generated
        options:
          package: query_types_case_pkg
"""

SCHEMA = """\
CREATE TABLE readings (
    id integer PRIMARY KEY,
    value numeric NOT NULL,
    taken_at timestamptz NOT NULL
);
"""

# What sqlc 1.31's own inference makes of these is in the comments; the server knows.
QUERIES_SQL = """\
-- name: Magnitudes :many
SELECT abs(value) AS magnitude FROM readings;

-- name: Days :many
SELECT generate_series(sqlc.arg(first)::timestamptz, sqlc.arg(last)::timestamptz, '1 day') AS day;

-- name: Latest :one
SELECT (SELECT max(taken_at) FROM readings) AS latest;

-- name: ReadingsAbove :many
SELECT id, value FROM readings WHERE id > sqlc.arg(min_id) + 1;

-- name: GetReading :one
SELECT * FROM readings WHERE id = $1;
"""

EXPECTED = {
    # abs(numeric) and generate_series(timestamptz, ...) are integers to sqlc
    "query.py Magnitudes column magnitude: generated int, server numeric (Decimal)",
    "query.py Days column day: generated int, server timestamptz (AwareDatetime)",
    # a scalar subquery has no type for sqlc, nor has `sqlc.arg(x) + 1`
    "query.py Latest column latest: generated object, server timestamptz (AwareDatetime)",
    "query.py ReadingsAbove parameter $1 min_id: generated object | None, server int4 (int)",
    # by hand, below: the annotations checked are the package's, not sqlc's
    "query.py GetReading parameter $1 id_: generated str, server int4 (int)",
}

# sqlc's mistakes the golden cases hold (and the generator passes on): length() taken
# for the geometric one (float8), max() and upper() of no type.
GOLDEN_DIFFERENCES = {
    "embed": {
        "query.py BooksWithAuthors column title_length: generated float, server int4 (int)",
    },
    "rows": {
        "query.py Unnamed column max: generated object, server int4 (int)",
        "query.py AddSamplesAndReturnWhatTheReportNeedsToKnowAboutEachOfThem column upper:"
        " generated object, server text (str)",
    },
}


async def _apply(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_queries_the_server_types_otherwise_are_named_with_their_column(
    tmp_path: Path, empty_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sqlc.yaml").write_text(CONFIG)
    (tmp_path / "schema.sql").write_text(SCHEMA)
    (tmp_path / "query.sql").write_text(QUERIES_SQL)
    subprocess.run(["sqlc", "generate"], cwd=tmp_path, check=True, capture_output=True)
    module = tmp_path / "generated/query_types_case_pkg/query.py"
    source = module.read_text()
    assert "*, id_: int)" in source  # `id_`: not the builtin's name
    module.write_text(source.replace("*, id_: int)", "*, id_: str)"))
    monkeypatch.syspath_prepend(str(tmp_path / "generated"))
    await _apply(empty_db_url, SCHEMA)

    resolver = query_types.type_resolver(query_types.sqlc_request(tmp_path), tmp_path)
    report = await query_types.Checker(resolver).check(empty_db_url)

    assert {str(difference) for difference in report.differences} == EXPECTED
    assert report.queries == 5


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
async def test_every_golden_case_is_checked_column_by_column(
    case: Path, empty_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(case))  # the modules its overrides name
    monkeypatch.syspath_prepend(str(installed(case.name)))
    await _apply(empty_db_url, (case / "schema.sql").read_text())

    resolver = query_types.type_resolver((case / REQUEST_FILE).read_bytes(), case)
    report = await query_types.Checker(resolver).check(empty_db_url)

    assert {str(d) for d in report.differences} == GOLDEN_DIFFERENCES.get(case.name, set())
    assert report.queries > 0
    assert report.values > 0


async def test_the_project_package_has_the_types_the_server_reports(db_url: str) -> None:
    resolver = query_types.type_resolver(query_types.sqlc_request(ROOT), ROOT)
    report = await query_types.Checker(resolver).check(db_url)

    assert [str(difference) for difference in report.differences] == []
    assert report.queries == len(QUERIES)
    # GetInspectionWithDefects.defects: JSON read as Defect models, the person's word.
    assert report.declared == 1
