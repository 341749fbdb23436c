"""Checks on the dbmate migrations: squawk on their up sections, and schema.sql drift.

    python -m chip_quality_dev.migrations squawk   # lint every up section
    python -m chip_quality_dev.migrations drift    # needs DATABASE_URL (see localdb run)

The drift check migrates a scratch database on the same server from zero
(`migrated_database`, which the query-types check uses too) and compares
dbmate's dump of it with the committed schema/schema.sql.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .localdb import with_database

MIGRATIONS_DIR = Path("schema/migrations")
SCHEMA_FILE = Path("schema/schema.sql")

# Rules squawk applies to changes of existing, busy tables. Every migration of
# this project so far creates its tables, so they would only flag the creation
# of objects nobody can be locked out of yet. Revisit when a migration alters a
# table that holds data.
SQUAWK_EXCLUDED_RULES = (
    "require-concurrent-index-creation",  # indexes on tables created in the same migration
    # dbmate runs each migration in one transaction; IF NOT EXISTS would hide drift.
    "prefer-robust-stmts",
)

_MARKER = re.compile(r"^--\s*migrate:(up|down)\b.*$", re.MULTILINE)


@dataclass(frozen=True)
class Migration:
    path: Path
    up: str
    down: str

    @property
    def version(self) -> str:
        return self.path.name.split("_", 1)[0]


def read_migration(path: Path) -> Migration:
    """Split a dbmate file into its up and down sections; both are required."""
    text = path.read_text()
    sections: dict[str, str] = {}
    markers = list(_MARKER.finditer(text))
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        sections[marker.group(1)] = text[marker.end() : end].strip()
    for name in ("up", "down"):
        if not sections.get(name):
            raise ValueError(f"{path}: missing or empty `-- migrate:{name}` section")
    return Migration(path, sections["up"], sections["down"])


def read_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    return [read_migration(path) for path in sorted(directory.glob("*.sql"))]


def squawk() -> int:
    migrations = read_migrations()
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for migration in migrations:
            target = Path(tmp) / migration.path.name
            target.write_text(migration.up + "\n")
            files.append(str(target))
        excluded = ",".join(SQUAWK_EXCLUDED_RULES)
        return subprocess.run(
            ["squawk", "--pg-version=15.0", f"--exclude={excluded}", *files], check=False
        ).returncode


@contextmanager
def migrated_database(url: str, name: str, schema_file: Path | None = None) -> Iterator[str]:
    """The URL of database `name` on `url`'s server, migrated from zero by dbmate and
    dropped on exit (and first, when a run that was killed left it behind). dbmate
    dumps the migrated schema to `schema_file` when one is given."""
    env = {**os.environ, "DATABASE_URL": with_database(url, name)}
    dump = ["--schema-file", str(schema_file)] if schema_file else ["--no-dump-schema"]

    def dbmate(*args: str) -> None:
        subprocess.run(["dbmate", *dump, *args], env=env, check=True, stdout=subprocess.DEVNULL)

    try:
        dbmate("drop")
        dbmate("up")
        yield env["DATABASE_URL"]
    finally:
        dbmate("drop")


def drift() -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("drift: DATABASE_URL is not set (run through `localdb run`)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        dumped = Path(tmp) / "schema.sql"
        with migrated_database(url, f"schema_drift_{os.getpid()}", dumped):
            pass
        expected, actual = SCHEMA_FILE.read_text(), dumped.read_text()
    if expected == actual:
        print(f"drift: {SCHEMA_FILE} matches the migrations")
        return 0
    sys.stdout.writelines(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"{SCHEMA_FILE} (committed)",
            tofile="dump of the migrations",
        )
    )
    print(f"drift: {SCHEMA_FILE} is out of date: run `make migrate` and commit it", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    commands = {"squawk": squawk, "drift": drift}
    if len(args) != 1 or args[0] not in commands:
        print(
            f"usage: python -m chip_quality_dev.migrations {{{','.join(commands)}}}",
            file=sys.stderr,
        )
        return 2
    try:
        return commands[args[0]]()
    except (ValueError, subprocess.CalledProcessError) as exc:
        print(f"migrations: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
