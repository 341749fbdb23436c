"""`make compat BASE=<rev>`: the previous release's queries against the current schema.

    python -m chip_quality_dev.compat [BASE]     # DATABASE_URL (see localdb run)

During a rolling deployment the services of the previous release keep running on
the schema the new release's migrations have made. This lists every break they
would meet, by query and column, in three steps:

1. compile: BASE's queries/*.sql, with BASE's sqlc.yaml, compiled by sqlc and this
   project's plugin against the current migrations into a scratch package. What sqlc
   refuses (a column or table that no longer exists, an operator for a changed
   type) is a break; the refused queries are left out and the rest compiled again.
2. shapes: what sqlc makes of each query on BASE's own migrations, against what it
   makes of it on the current ones: a result column gone (the release's SQL names
   it even where its source says `SELECT *`: sqlc expands the star when the release
   is built), a changed type, a column that may now be NULL where the release's
   model says it never is, a changed parameter type, an enum value gone.
3. calls: each function of the scratch package, called with valid arguments on a
   database migrated from zero to the current schema (chip_quality_dev.compat_probe):
   a statement PostgreSQL refuses, or a NOT NULL column the release's writes do not
   set, is a break. Refusals by the data (keys, CHECKs) are not.

Without BASE, the default is `base_revision()`: the last commit before the newest
migration was added, following first parents (on main: main before the merge that
brought it), which is the release a rolling deployment of that migration still
runs; HEAD when the newest migration is not committed yet. docs/rollout.md states
the rule this checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pglast

from sqlc_gen_asyncpg.request import Column, GenerateRequest, Identifier, Query, parse_request

from .migrations import MIGRATIONS_DIR, migrated_database
from .query_types import sqlc_request

VALUES = Path(__file__).with_name("compat_values.toml")
RELEASE_FILES = ("sqlc.yaml", "queries", "schema/migrations")
MAX_COMPILES = 5  # each drops the queries sqlc refused; one more finds the rest compile


@dataclass(frozen=True, order=True)
class Break:
    file: str  # lots.sql
    query: str  # GetLot
    column: str  # the column or parameter concerned, `notes`, `$2`; "" when none
    what: str

    def __str__(self) -> str:
        where = f"{self.file} {self.query}"
        column = f" {self.column}:" if self.column else ""
        return f"{where:<44}{column} {self.what}"


@dataclass
class Report:
    base: str
    breaks: list[Break]
    functions: int = 0
    completed: int = 0
    refused_only: list[str] = field(default_factory=list)
    # Refused by the one SQLSTATE compat_values.toml expects of them (`expected_refusals`).
    refused_as_expected: list[str] = field(default_factory=list)
    setup_refused: list[str] = field(default_factory=list)  # of compat_values.toml


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()


def base_revision(migrations_dir: Path = MIGRATIONS_DIR) -> tuple[str, str]:
    """The release a rolling deployment of the newest migration still runs, and why."""
    newest = max(migrations_dir.glob("*.sql"))
    added = _git("log", "--first-parent", "--diff-filter=A", "--format=%H", "-1", "--", str(newest))
    if not added:
        return _git("rev-parse", "HEAD"), f"HEAD: {newest.name} is not committed yet"
    base = _git("rev-parse", f"{added}^1")
    return base, f"the last commit before {newest.name} was added ({added[:10]})"


def export_release(revision: str, folder: Path) -> None:
    """sqlc.yaml, queries/ and schema/migrations/ as they were at `revision`."""
    folder.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, *RELEASE_FILES],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)


@dataclass(frozen=True)
class SqlcError:
    file: str  # as sqlc names it, `queries/lots.sql`
    line: int
    message: str


def sqlc_errors(stderr: str) -> list[SqlcError]:
    """sqlc's `file:line:column: message` lines (its own output format, not SQL)."""
    found = []
    for line in stderr.splitlines():
        parts = line.split(":", 3)
        if len(parts) == 4 and parts[1].isdigit() and parts[2].isdigit():
            found.append(SqlcError(parts[0], int(parts[1]), parts[3].strip()))
    return found


def named_statements(text: str) -> list[tuple[str | None, int, int, str]]:
    """Each statement of a query file, split by PostgreSQL's scanner: its query name,
    first and last line, and text."""
    found = []
    for part in pglast.parser.split(text, with_parser=False, only_slices=True):
        statement = text[part]
        first = text.count("\n", 0, part.start) + 1
        last = first + statement.count("\n")
        found.append((_query_name(statement), first, last, statement))
    return found


def _query_name(statement: str) -> str | None:
    for token in pglast.parser.scan(statement):
        if token.name != "SQL_COMMENT":
            return None
        words = statement[token.start : token.end + 1].removeprefix("--").split()
        if len(words) >= 2 and words[0] == "name:":
            return words[1]
    return None


def _quoted(message: str) -> str:
    """The first double-quoted name in sqlc's message (`column "notes" does not exist`)."""
    parts = message.split('"')
    return parts[1] if len(parts) >= 3 else ""


def compile_release(folder: Path) -> list[Break]:
    """`sqlc generate` in `folder` until it compiles, leaving out each query it refuses;
    a break for each refusal."""
    breaks: list[Break] = []
    for _ in range(MAX_COMPILES):
        result = subprocess.run(
            ["sqlc", "generate"], cwd=folder, capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            return breaks
        errors = sqlc_errors(result.stderr)
        if not errors:
            raise RuntimeError(f"sqlc failed without naming a query:\n{result.stderr}")
        refused: dict[str, set[str]] = {}
        for error in errors:
            path = folder / error.file
            for name, first, last, _ in named_statements(path.read_text()):
                if name is not None and first <= error.line <= last:
                    refused.setdefault(error.file, set()).add(name)
                    column = _quoted(error.message)
                    breaks.append(Break(path.name, name, column, f"sqlc: {error.message}"))
        if not refused:
            raise RuntimeError(f"sqlc failed outside any named query:\n{result.stderr}")
        for file, names in refused.items():
            path = folder / file
            kept = [s for name, _, _, s in named_statements(path.read_text()) if name not in names]
            path.write_text("".join(f"{statement};\n\n" for statement in kept))
    raise RuntimeError(f"sqlc still failed after {MAX_COMPILES} compiles")


def _type(identifier: Identifier) -> str:
    schema = "" if identifier.schema in ("", "pg_catalog", "public") else f"{identifier.schema}."
    return schema + identifier.name


def _columns(request: GenerateRequest, query: Query) -> dict[str, Column]:
    """A query's result columns by name, an embedded table's standing for its own."""
    tables = {
        (schema.name, table.rel.name): table
        for schema in request.catalog.schemas
        for table in schema.tables
    }
    found: dict[str, Column] = {}
    for column in query.columns:
        if column.embed_table is not None:
            schema = column.embed_table.schema or request.catalog.default_schema
            table = tables[(schema, column.embed_table.name)]
            found.update({f"{table.rel.name}.{c.name}": c for c in table.columns})
        else:
            found[column.name] = column
    return found


def _enums(request: GenerateRequest) -> dict[str, set[str]]:
    """Each enum's values, by the name `_type` gives its columns."""
    default = request.catalog.default_schema
    return {
        (enum.name if schema.name == default else f"{schema.name}.{enum.name}"): set(enum.vals)
        for schema in request.catalog.schemas
        for enum in schema.enums
    }


def compare_shapes(before: GenerateRequest, after: GenerateRequest) -> list[Break]:
    """What the queries of `before` (BASE on its own schema) lose on `after` (the same
    queries on the current schema). Queries sqlc refused on `after` are not here."""
    breaks: list[Break] = []
    now = {query.name: query for query in after.queries}
    enums_before, enums_after = _enums(before), _enums(after)

    def gone_values(column: Column) -> str:
        name = _type(column.type)
        lost = enums_before.get(name, set()) - enums_after.get(name, enums_before.get(name, set()))
        return ", ".join(sorted(lost))

    for query in before.queries:
        current = now.get(query.name)
        if current is None:
            continue
        file = Path(query.filename).name
        columns = _columns(after, current)
        for name, column in _columns(before, query).items():
            new = columns.get(name)
            if new is None:
                breaks.append(
                    Break(
                        file,
                        query.name,
                        name,
                        "the release reads this column; the current schema has none "
                        "(dropped or renamed)",
                    )
                )
            elif _type(new.type) != _type(column.type) or new.is_array != column.is_array:
                was, now_ = _type(column.type), _type(new.type)
                breaks.append(Break(file, query.name, name, f"type changed: {was} -> {now_}"))
            elif column.not_null and not new.not_null:
                breaks.append(
                    Break(
                        file,
                        query.name,
                        name,
                        "may now be NULL; the release's model says it never is",
                    )
                )
            elif lost := gone_values(column):
                breaks.append(Break(file, query.name, name, f"enum values gone: {lost}"))
        params = {param.number: param.column for param in current.params}
        for param in query.params:
            new_param = params.get(param.number)
            label = f"${param.number} {param.column.name}".strip()
            if new_param is not None and _type(new_param.type) != _type(param.column.type):
                was, now_ = _type(param.column.type), _type(new_param.type)
                breaks.append(Break(file, query.name, label, f"parameter type: {was} -> {now_}"))
            elif lost := gone_values(param.column):
                breaks.append(Break(file, query.name, label, f"enum values gone: {lost}"))
    return breaks


def call_functions(generated: Path, url: str) -> dict[str, Any]:
    """compat_probe's outcome of each function of the package in `generated`, and the
    setup statements the schema refused."""
    result = subprocess.run(
        [sys.executable, "-m", "chip_quality_dev.compat_probe", str(generated), str(VALUES)],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"compat_probe failed:\n{result.stderr}")
    found: dict[str, Any] = json.loads(result.stdout)
    return found


@contextmanager
def _scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="compat-") as tmp:
        yield Path(tmp)


def check(url: str, base: str, migrations_dir: Path = MIGRATIONS_DIR) -> Report:
    """Every break BASE's queries meet on the schema of `migrations_dir`."""
    with _scratch() as tmp:
        release = tmp / "release"
        export_release(base, release)
        # The same queries on the current migrations: the scratch package.
        candidate = tmp / "candidate"
        candidate.mkdir()
        shutil.copy(release / "sqlc.yaml", candidate / "sqlc.yaml")
        shutil.copytree(release / "queries", candidate / "queries")
        shutil.copytree(migrations_dir, candidate / "schema/migrations")
        breaks = compile_release(candidate)
        breaks += compare_shapes(
            parse_request(sqlc_request(release)), parse_request(sqlc_request(candidate))
        )
        name = f"compat_{os.getpid()}"
        with migrated_database(url, name, migrations_dir=migrations_dir.resolve()) as db:
            probed = call_functions(candidate / "generated", db)
    outcomes = probed["functions"]
    expected_refusals: dict[str, str] = tomllib.loads(VALUES.read_text()).get(
        "expected_refusals", {}
    )
    report = Report(base, breaks, functions=len(outcomes), setup_refused=probed["setup"])
    for outcome in outcomes:
        for found in outcome["breaks"]:
            report.breaks.append(
                Break(
                    f"{outcome['module']}.sql",
                    str(outcome["query"]),
                    found["column"],
                    found["what"].splitlines()[0],
                )
            )
        expected = expected_refusals.get(str(outcome["query"]))
        if outcome["completed"]:
            report.completed += 1
        elif outcome["breaks"]:
            pass
        elif expected and all(str(r).startswith(f"{expected}:") for r in outcome["refusals"]):
            report.refused_as_expected.append(str(outcome["query"]))
        else:
            report.refused_only.append(f"{outcome['query']}: {outcome['refusals']}")
    report.breaks = sorted(set(report.breaks))
    return report


def print_report(report: Report, why: str) -> None:
    print(f"compat: BASE {report.base[:10]}, {why}")
    print(
        f"compat: {report.functions} functions of BASE called on the current schema: "
        f"{report.completed} completed, {len(report.refused_as_expected)} refused as "
        f"expected, {len(report.refused_only)} refused by the data only, "
        f"{len(report.breaks)} break(s)"
    )
    for line in report.setup_refused:
        print(f"  setup row refused ({VALUES.name} needs updating for this schema): {line}")
    for line in report.refused_only:
        print(f"  not exercised (refused by the data each time): {line}")
    for found in report.breaks:
        print(f"  BREAK {found}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    url = os.environ.get("DATABASE_URL")
    if not url or len(args) > 1:
        print("usage: DATABASE_URL=... python -m chip_quality_dev.compat [BASE]", file=sys.stderr)
        return 2
    if args and args[0]:
        base, why = _git("rev-parse", "--verify", f"{args[0]}^{{commit}}"), f"given as {args[0]}"
    else:
        base, why = base_revision()
    try:
        report = check(url, base)
    except (RuntimeError, subprocess.CalledProcessError) as error:
        print(f"compat: {error}", file=sys.stderr)
        return 2
    print_report(report, why)
    if report.breaks:
        print(
            "compat: the release at BASE would break on this schema: "
            "expand first, contract in a later release (docs/rollout.md)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
