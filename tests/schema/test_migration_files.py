"""Static checks of the migration files: no database needed."""

from __future__ import annotations

import re

import pytest

from chip_quality_db.dev.migrations import Migration, read_migrations
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

MIGRATIONS = read_migrations(ROOT / "schema/migrations")

migrations = pytest.mark.parametrize(
    "migration", MIGRATIONS, ids=[migration.path.name for migration in MIGRATIONS]
)


def header(migration: Migration) -> list[str]:
    """The lines before `-- migrate:up`."""
    text = migration.path.read_text()
    return text[: text.index("-- migrate:up")].strip().splitlines()


def statements(sql: str) -> list[str]:
    """The SQL without comment lines, one string per non-empty line."""
    return [
        line.strip()
        for line in sql.splitlines()
        if line.strip() and not line.strip().startswith("--")
    ]


def test_the_migrations_directory_holds_the_six_migrations() -> None:
    assert [migration.path.name for migration in MIGRATIONS] == [
        "20261125000100_create_enum_types.sql",
        "20261125000200_create_parts_and_lots.sql",
        "20261125000300_create_inspections_and_defects.sql",
        "20261125000400_create_inference_jobs_and_artifacts.sql",
        "20261125000500_create_reports.sql",
        "20261125000600_create_audit_log_and_triggers.sql",
    ]


@migrations
def test_each_migration_has_a_non_empty_down_section(migration: Migration) -> None:
    assert statements(migration.down), "the down section has no SQL"
    assert any(line.upper().startswith("DROP ") for line in statements(migration.down))


@migrations
def test_each_migration_starts_with_a_header_comment(migration: Migration) -> None:
    lines = header(migration)
    assert lines, "nothing before -- migrate:up"
    assert all(line.startswith("--") for line in lines), "the header holds SQL"
    words = " ".join(line.lstrip("-").strip() for line in lines).split()
    assert len(words) >= 10, "the header does not say what the migration does"


@migrations
def test_each_migration_file_is_named_by_a_timestamp_and_a_snake_case_name(
    migration: Migration,
) -> None:
    assert re.fullmatch(r"\d{14}_[a-z0-9_]+\.sql", migration.path.name)


@migrations
def test_each_up_section_bounds_its_lock_waits(migration: Migration) -> None:
    up = statements(migration.up)
    assert "SET LOCAL lock_timeout = '5s';" in up
    assert "SET LOCAL statement_timeout = '1min';" in up
