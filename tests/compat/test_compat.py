"""`make compat`: the previous release's queries against the current schema.

Each check runs the real thing: git archive of a revision, sqlc with the project's
plugin, a database migrated from zero, every function called (chip_quality_dev.compat).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from chip_quality_dev.compat import Break, base_revision, check
from tests.conftest import ROOT

# Four ways a schema change breaks the release before it, in one migration.
BREAKING = """-- What a contract step must not do while the previous release runs.
-- migrate:up
ALTER TABLE lots DROP COLUMN notes;
ALTER TABLE lots ALTER COLUMN batch_size TYPE integer;
ALTER TABLE reports ADD COLUMN reviewer text NOT NULL;
ALTER TYPE report_format RENAME TO report_format_old;
CREATE TYPE report_format AS ENUM ('pdf', 'csv', 'json', 'html');
ALTER TABLE reports ALTER COLUMN format DROP DEFAULT,
    ALTER COLUMN format TYPE report_format USING format::text::report_format,
    ALTER COLUMN format SET DEFAULT 'pdf';
DROP TYPE report_format_old;
-- migrate:down
ALTER TABLE reports DROP COLUMN reviewer;
ALTER TABLE lots ALTER COLUMN batch_size TYPE bigint;
ALTER TABLE lots ADD COLUMN notes text;
"""


def head() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()


def test_the_previous_release_runs_on_the_current_schema(server_url: str) -> None:
    base, _ = base_revision(ROOT / "schema/migrations")
    report = check(server_url, base)
    assert report.breaks == []
    assert report.functions > 80
    # Every function really ran: the values compat gives them are valid, and the two
    # that act on an archived month reached their own rule (compat_values.toml).
    assert report.refused_only == []
    assert sorted(report.refused_as_expected) == ["DropArchivedAuditMonth", "RestoreAuditMonth"]
    assert report.completed + len(report.refused_as_expected) == report.functions


def test_a_dropped_column_the_previous_queries_read_is_reported(
    server_url: str, tmp_path: Path
) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(ROOT / "schema/migrations", migrations)
    (migrations / "29991231000000_contract_too_early.sql").write_text(BREAKING)

    report = check(server_url, head(), migrations)

    by_query = {(b.query, b.column): b for b in report.breaks}
    # Read through `SELECT *`, which the release's SQL spells out: found by comparing shapes.
    assert by_query[("GetLot", "notes")].what.startswith("the release reads this column")
    assert by_query[("ListLots", "notes")].file == "lots.sql"
    # Named in the query: sqlc refuses it.
    assert by_query[("UpdateLot", "notes")].what == 'sqlc: column "notes" does not exist'
    assert ("CreateLot", "notes") in by_query
    # A changed type, and a NOT NULL column the release's insert does not set.
    assert by_query[("GetLot", "batch_size")].what == "type changed: int8 -> int4"
    assert by_query[("CreateReport", "reviewer")].what.startswith("23502:")
    # An enum value the release may write or read is gone.
    assert by_query[("GetReport", "format")].what == "enum values gone: xlsx"
    assert all(isinstance(b, Break) for b in report.breaks)
    assert not any(b.file != "lots.sql" and b.column == "notes" for b in report.breaks)
