"""Static checks of the migration files: no database needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pglast import parse_sql

from chip_quality_dev.migrations import Migration, read_migrations, squawk
from tests.conftest import ROOT

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


def test_the_migrations_directory_holds_exactly_these_migrations_in_order() -> None:
    assert [migration.path.name for migration in MIGRATIONS] == [
        "20261125000100_create_enum_types.sql",
        "20261125000200_create_parts_and_lots.sql",
        "20261125000300_create_inspections_and_defects.sql",
        "20261125000400_create_inference_jobs_and_artifacts.sql",
        "20261125000500_create_reports.sql",
        "20261125000600_create_audit_log_and_triggers.sql",
        "20261125000700_harden_audit_trail.sql",
        "20261125000800_create_idempotency_keys.sql",
        "20261130000900_readable_actors.sql",
        "20261201000100_partition_audit_log.sql",
        "20261201000200_create_audit_checkpoints.sql",
        "20261201000300_create_analytics_views.sql",
        "20261201000500_index_artifacts_checksum.sql",
        "20261201000600_cover_defect_type_in_defects_by_inspection.sql",
        "20261201000700_audit_chain_end_in_transaction.sql",
        "20261207000100_clean_names.sql",
        "20261207000200_validate_clean_names.sql",
        "20261207000300_notify_cache_of_writes.sql",
    ]


@migrations
def test_each_migration_has_a_non_empty_down_section(migration: Migration) -> None:
    assert statements(migration.down), "the down section has no SQL"
    # It drops what the up section made, or (a migration that only replaced a
    # function's body) puts the previous body back.
    assert any(
        line.upper().startswith(("DROP ", "CREATE OR REPLACE FUNCTION "))
        for line in statements(migration.down)
    )


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


# An up section may run a statement for at most a minute, unless its work grows
# with the data already there; such a migration is named here with its limit.
LONGER_STATEMENT_TIMEOUTS = {
    # The backfill chains (hashes and updates) every existing audit_log row once.
    "20261125000700_harden_audit_trail.sql": "10min",
    # Copies every audit_log row into the partitioned table (and back, down).
    "20261201000100_partition_audit_log.sql": "30min",
    # Fills the analytics views from every lot, inspection, defect and job.
    "20261201000300_create_analytics_views.sql": "10min",
    # The index build reads every defect (1.3 s for 1,100,000 on the plans dataset).
    "20261201000600_cover_defect_type_in_defects_by_inspection.sql": "10min",
    # Validating the clean-name CHECKs reads every row of seven tables (defects too).
    "20261207000200_validate_clean_names.sql": "10min",
}


def test_every_longer_statement_timeout_names_an_existing_migration() -> None:
    names = {migration.path.name for migration in MIGRATIONS}
    assert set(LONGER_STATEMENT_TIMEOUTS) <= names


@migrations
def test_each_up_section_bounds_its_lock_waits(migration: Migration) -> None:
    if not migration.transaction:
        # One statement (see the test below): its lock_timeout is the session's, which
        # `make migrate` sets (chip_quality_dev.migrate).
        return
    up = statements(migration.up)
    limit = LONGER_STATEMENT_TIMEOUTS.get(migration.path.name, "1min")
    assert "SET LOCAL lock_timeout = '5s';" in up
    assert f"SET LOCAL statement_timeout = '{limit}';" in up
    # Before any other statement, so that no lock is taken without the limits.
    assert up[:2] == ["SET LOCAL lock_timeout = '5s';", f"SET LOCAL statement_timeout = '{limit}';"]


@migrations
def test_a_section_without_transaction_holds_one_statement(migration: Migration) -> None:
    # dbmate sends a section as one string, which PostgreSQL runs as one implicit
    # transaction: CREATE INDEX CONCURRENTLY refuses that (25001) unless it is alone.
    if not migration.transaction:
        assert len(parse_sql(migration.up)) == 1


def write_migration(folder: Path, up: str, *, transaction: bool = True) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "29991231000000_new.sql"
    options = "" if transaction else " transaction:false"
    path.write_text(
        f"-- A new migration.\n-- migrate:up{options}\n{up}\n-- migrate:down\nSELECT 1;\n"
    )
    return path


TIMEOUTS = "SET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '1min';\n"


def test_squawk_fails_a_plain_index_on_an_existing_table(tmp_path: Path) -> None:
    write_migration(tmp_path, TIMEOUTS + "CREATE INDEX defects_x_idx ON defects (detected_by);")
    assert squawk(tmp_path) != 0


def test_squawk_passes_an_index_built_concurrently_outside_a_transaction(tmp_path: Path) -> None:
    write_migration(
        tmp_path,
        "CREATE INDEX CONCURRENTLY defects_x_idx ON defects (detected_by);",
        transaction=False,
    )
    assert squawk(tmp_path) == 0


def test_squawk_fails_a_concurrent_build_inside_a_transaction(tmp_path: Path) -> None:
    write_migration(tmp_path, TIMEOUTS + "CREATE INDEX CONCURRENTLY x ON defects (detected_by);")
    assert squawk(tmp_path) != 0


def test_squawk_passes_an_index_of_a_table_made_in_the_same_migration(tmp_path: Path) -> None:
    write_migration(tmp_path, TIMEOUTS + "CREATE TABLE t (a bigint);\nCREATE INDEX t_idx ON t (a);")
    assert squawk(tmp_path) == 0


def test_squawk_exempts_one_statement_that_says_why(tmp_path: Path) -> None:
    write_migration(
        tmp_path,
        TIMEOUTS
        + "-- An empty table, created by an earlier migration of the same release.\n"
        + "-- squawk-ignore require-concurrent-index-creation\n"
        + "CREATE INDEX a_idx ON defects (detected_by);\n"
        + "CREATE INDEX b_idx ON defects (reviewed_by);",
    )
    assert squawk(tmp_path) != 0  # the second statement is not exempt


# The rollout test's migrations (tests/rollout) are the safe forms squawk asks for;
# its control (a plain CREATE INDEX on defects) is what squawk refuses.
ROLLOUT = ROOT / "tests/rollout"


def test_every_rollout_test_migration_passes_squawk() -> None:
    assert squawk(ROLLOUT / "migrations") == 0


def test_the_rollout_tests_control_is_what_squawk_refuses() -> None:
    assert squawk(ROLLOUT / "control") != 0


def test_the_rollout_tests_index_and_backfill_run_outside_a_transaction() -> None:
    without = [m.path.name for m in read_migrations(ROLLOUT / "migrations") if not m.transaction]
    assert without == [
        "29990101000300_index_concurrently.sql",
        "29990101001000_rename_backfill.sql",
    ]
    assert all(
        len(parse_sql(m.up)) == 1
        for m in read_migrations(ROLLOUT / "migrations")
        if not m.transaction
    )
