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

from . import localdb
from .localdb import with_database

MIGRATIONS_DIR = Path("schema/migrations")
SCHEMA_FILE = Path("schema/schema.sql")

# squawk runs on every up section with all its rules but these, for every file:
SQUAWK_EXCLUDED_RULES = (
    # IF NOT EXISTS would hide drift, and after an interrupted CREATE INDEX
    # CONCURRENTLY it would take the INVALID index left behind for the real one.
    "prefer-robust-stmts",
)
# ... and these for a `transaction:false` up section only. dbmate sends a section as
# one string, which PostgreSQL runs as one implicit transaction: CREATE INDEX
# CONCURRENTLY then fails (25001) unless it is the only statement, so such a section
# cannot SET its own timeouts. `make migrate` (chip_quality_dev.migrate) gives every
# migration's session its lock_timeout instead; a concurrent build blocks no reader
# or writer, so it runs without a statement timeout.
SQUAWK_EXCLUDED_WITHOUT_TRANSACTION = ("require-lock-timeout", "require-statement-timeout")

# A dbmate directive: `-- migrate:up` or `-- migrate:down`, then options such as
# `transaction:false`. dbmate's own syntax (it reads it with a regex too), not SQL.
_MARKER = re.compile(r"^--\s*migrate:(up|down)\b(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Migration:
    path: Path
    up: str
    down: str
    # 0-based line of the file where `up` starts, so reports can name the file's lines.
    up_line: int = 0
    # False for `-- migrate:up transaction:false`: dbmate runs the section outside a
    # transaction (needed by CREATE INDEX CONCURRENTLY).
    transaction: bool = True

    @property
    def version(self) -> str:
        return self.path.name.split("_", 1)[0]


def read_migration(path: Path) -> Migration:
    """Split a dbmate file into its up and down sections; both are required."""
    text = path.read_text()
    sections: dict[str, tuple[str, int, str]] = {}
    markers = list(_MARKER.finditer(text))
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        body = text[marker.end() : end]
        start = marker.end() + len(body) - len(body.lstrip())
        sections[marker.group(1)] = (body.strip(), text.count("\n", 0, start), marker.group(2))
    for name in ("up", "down"):
        if not sections.get(name, ("",))[0]:
            raise ValueError(f"{path}: missing or empty `-- migrate:{name}` section")
    up, up_line, options = sections["up"]
    return Migration(
        path,
        up,
        sections["down"][0],
        up_line=up_line,
        transaction="transaction:false" not in options.split(),
    )


def read_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    return [read_migration(path) for path in sorted(directory.glob("*.sql"))]


def squawk_migration(migration: Migration) -> int:
    """squawk on one up section, its findings named by the file's own path and lines.

    A section dbmate runs in a transaction is linted as one (--assume-in-transaction),
    so an index on a table created in the same migration passes while one on an
    existing table fails require-concurrent-index-creation. A statement exempt from a
    rule says why in a comment, then `-- squawk-ignore <rule>` on the line right
    above it (squawk's per-statement ignore).
    """
    excluded: tuple[str, ...] = SQUAWK_EXCLUDED_RULES
    mode = ["--assume-in-transaction"]
    if not migration.transaction:
        excluded += SQUAWK_EXCLUDED_WITHOUT_TRANSACTION
        mode = ["--no-assume-in-transaction"]
    result = subprocess.run(
        [
            "squawk",
            "--pg-version=15.0",
            f"--exclude={','.join(excluded)}",
            *mode,
            f"--stdin-filepath={migration.path}",
        ],
        # Blank lines in place of the header: squawk names the file's own line numbers.
        input="\n" * migration.up_line + migration.up + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stdout.write(result.stdout + result.stderr)
    return result.returncode


def squawk(directory: Path = MIGRATIONS_DIR) -> int:
    failed = [m.path.name for m in read_migrations(directory) if squawk_migration(m) != 0]
    if failed:
        print(f"squawk: {len(failed)} migration(s) with findings: {', '.join(failed)}")
        return 1
    print("squawk: no findings in the up sections")
    return 0


@contextmanager
def migrated_database(
    url: str, name: str, schema_file: Path | None = None, migrations_dir: Path | None = None
) -> Iterator[str]:
    """The URL of database `name` on `url`'s server, migrated from zero by dbmate and
    dropped on exit (and first, when a run that was killed left it behind). dbmate
    dumps the migrated schema to `schema_file` when one is given, and takes the
    migrations from `migrations_dir` when one is given (else DBMATE_MIGRATIONS_DIR)."""
    env = {**os.environ, "DATABASE_URL": with_database(url, name)}
    if migrations_dir is not None:
        env["DBMATE_MIGRATIONS_DIR"] = str(migrations_dir)
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
    # schema.sql is the pinned major's pg_dump output: another major's differs in details.
    version = localdb.binaries_version(localdb.find_bindir())
    if int(version.split(".")[0]) != localdb.PINNED_MAJOR:
        print(
            f"drift: {SCHEMA_FILE} is PostgreSQL {localdb.PINNED_MAJOR}'s pg_dump output; the "
            f"binaries here are {version}: unset LOCALDB_WHEEL and LOCALDB_BINDIR",
            file=sys.stderr,
        )
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
