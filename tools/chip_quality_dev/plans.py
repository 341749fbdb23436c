"""Every named query's plan as a committed, reviewed artifact: queries/plans/<file>.md.

    python -m chip_quality_dev.plans write     # make plans: rewrite queries/plans/
    python -m chip_quality_dev.plans check     # make check: plan drift, then the rules
    python -m chip_quality_dev.plans analyze   # make plans ANALYZE=1: measured report

All three need DATABASE_URL (see localdb run) and explain on the cached plans
dataset (dataset.py), on the pinned major (localdb.PINNED_MAJOR; write and check
refuse another): another version plans differently, as pg_dump dumps differently for schema.sql.

Each query is explained with EXPLAIN (GENERIC_PLAN, COSTS OFF): the plan the
server caches for a prepared statement (asyncpg prepares every query) once it
stops planning per call, independent of any parameter value, and without
costs or row estimates, the figures that move with every statistic. What is
left changes only when a plan's shape, index or condition changes: the file
does not churn, and a diff of it is a plan change to review.

The query text is the generated module's constant (what asyncpg sends, `$n`
placeholders and all); the markers a query carries are comments of its source
in queries/*.sql, found with PostgreSQL's own scanner (pglast).

A utility statement (DDL such as CREATE TEMP TABLE) has no plan: EXPLAIN refuses
it. Its section says so instead of showing a plan, and the rules have nothing of
it to check.
"""

from __future__ import annotations

import asyncio
import difflib
import importlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from pglast import ast, parse_sql
from pglast.parser import scan

from . import dataset, localdb

QUERIES_DIR = Path("queries")
PLANS_DIR = QUERIES_DIR / "plans"
GENERATED_PACKAGE = "chip_quality_queries"

# The marker comment of a query that means to read a whole table: `-- plan: full-scan <why>`.
MARKER_PREFIX = "plan:"
FULL_SCAN = "full-scan"

# Planner settings pinned to PostgreSQL's defaults, so the plans depend on the
# schema, the queries and the dataset, never on how a server was configured.
PLANNER_SETTINGS = {
    "seq_page_cost": "1",
    "random_page_cost": "4",
    "cpu_tuple_cost": "0.01",
    "cpu_index_tuple_cost": "0.005",
    "cpu_operator_cost": "0.0025",
    "effective_cache_size": "4GB",
    "work_mem": "4MB",
    "max_parallel_workers_per_gather": "2",
    "default_statistics_target": "100",
    "jit": "off",
}

HEADER = """\
# Plans of queries/{source}

Written by `make plans` (EXPLAIN (GENERIC_PLAN, COSTS OFF) on the plans dataset,
PostgreSQL {major}); `make check` fails when it differs. Do not edit: change the query
or the schema, run `make plans`, and review the diff. See docs/query-plans.md.
"""


class PlanError(RuntimeError):
    """A query could not be found or explained."""


@dataclass(frozen=True)
class NamedQuery:
    source: str  # the file in queries/, e.g. "defects.sql"
    name: str  # e.g. "ListDefects"
    command: str  # e.g. ":many"
    sql: str  # the generated constant, $n placeholders
    markers: tuple[str, ...] = ()  # `-- plan: ...` comments, without the prefix

    @property
    def full_scan(self) -> bool:
        return any(marker.split()[0] == FULL_SCAN for marker in self.markers if marker)


@dataclass
class Explained:
    query: NamedQuery
    text: str  # EXPLAIN (COSTS OFF) text form, as committed
    plan: dict[str, Any] = field(default_factory=dict)  # FORMAT JSON, for the rules


def read_sources(directory: Path = QUERIES_DIR) -> dict[str, list[tuple[str, str, list[str]]]]:
    """Per query file: (name, command, markers) of each `-- name:` query, in file order."""
    found: dict[str, list[tuple[str, str, list[str]]]] = {}
    for path in sorted(directory.glob("*.sql")):
        text = path.read_text()
        queries: list[tuple[str, str, list[str]]] = []
        for token in scan(text):
            if token.name != "SQL_COMMENT":
                continue
            comment = text[token.start : token.end + 1].removeprefix("--").strip()
            if comment.startswith("name:"):
                words = comment.removeprefix("name:").split()
                if len(words) < 2:
                    raise PlanError(f"{path}: malformed `-- name:` line: {comment!r}")
                queries.append((words[0], words[1], []))
            elif comment.startswith(MARKER_PREFIX):
                if not queries:
                    raise PlanError(f"{path}: `-- {comment}` comes before any `-- name:` line")
                queries[-1][2].append(comment.removeprefix(MARKER_PREFIX).strip())
        found[path.name] = queries
    return found


def generated_sql(source: str) -> dict[str, str]:
    """The SQL constants of the generated module of `source`, by query name."""
    module = importlib.import_module(f"{GENERATED_PACKAGE}.{Path(source).stem}")
    constants: dict[str, str] = {}
    for value in vars(module).values():
        if isinstance(value, str) and value.startswith("-- name: "):
            constants[value.split()[2]] = value
    return constants


def named_queries(directory: Path = QUERIES_DIR) -> list[NamedQuery]:
    queries = []
    for source, entries in read_sources(directory).items():
        constants = generated_sql(source)
        for name, command, markers in entries:
            if name not in constants:
                raise PlanError(
                    f"queries/{source}: {name}: not in generated/{GENERATED_PACKAGE}: "
                    "run `make generate`"
                )
            queries.append(NamedQuery(source, name, command, constants[name], tuple(markers)))
    return queries


# The statements EXPLAIN plans; any other (a utility statement: DDL, SET, ...) has none.
EXPLAINABLE = (
    ast.SelectStmt,
    ast.InsertStmt,
    ast.UpdateStmt,
    ast.DeleteStmt,
    ast.MergeStmt,
    ast.DeclareCursorStmt,
    ast.CreateTableAsStmt,
    ast.ExecuteStmt,
)


def utility_statement(sql: str) -> str | None:
    """The kind of a statement EXPLAIN does not plan (`CREATE TABLE`), or None when it
    plans it. From the parse tree (pglast), like the generator's own analysis."""
    statement = parse_sql(sql)[0].stmt
    if isinstance(statement, EXPLAINABLE):
        return None
    name = type(statement).__name__.removesuffix("Stmt")
    return "CREATE TABLE" if isinstance(statement, ast.CreateStmt) else name


# EXPLAIN (GENERIC_PLAN) must reach the server with its $n unbound: through the
# extended protocol asyncpg binds them (and the server then plans for those
# values), so the statement runs as dynamic SQL inside the server instead.
EXPLAIN_FUNCTION = """
CREATE FUNCTION pg_temp.explain_generic(options text, query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    line text;  -- FORMAT JSON yields one json value: assigned to text here
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (GENERIC_PLAN, ' || options || ') ' || query LOOP
        RETURN NEXT line;
    END LOOP;
END
$$
"""


# EXPLAIN's GENERIC_PLAN option came with PostgreSQL 16 (server_version_num 160000).
GENERIC_PLAN_SINCE = 160000


async def server_version_num(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SHOW server_version_num"))


async def prepare_session(conn: asyncpg.Connection) -> None:
    """Settle the planner settings and create the explain function; a server older than
    16, which has no EXPLAIN (GENERIC_PLAN), is refused here, by its version number."""
    version = await server_version_num(conn)
    if version < GENERIC_PLAN_SINCE:
        raise PlanError(
            f"EXPLAIN (GENERIC_PLAN) needs PostgreSQL 16 or later; this server is "
            f"{await conn.fetchval('SHOW server_version')} (server_version_num {version})"
        )
    for name, value in PLANNER_SETTINGS.items():
        await conn.execute("SELECT set_config($1, $2, false)", name, value)
    await conn.execute(EXPLAIN_FUNCTION)


async def explain(conn: asyncpg.Connection, query: NamedQuery) -> Explained:
    """The generic plan of `query`, as text (committed) and JSON (for the rules); for a
    utility statement, which has none, a line saying so and an empty plan."""
    utility = utility_statement(query.sql)
    if utility is not None:
        return Explained(query, f"(no plan: {utility} is a utility statement)")
    try:
        lines = await conn.fetch("SELECT pg_temp.explain_generic('COSTS OFF', $1)", query.sql)
        document = await conn.fetchval(
            "SELECT string_agg(line, E'\\n') FROM pg_temp.explain_generic('FORMAT JSON', $1) line",
            query.sql,
        )
    except asyncpg.PostgresError as exc:
        raise PlanError(f"queries/{query.source}: {query.name}: EXPLAIN failed: {exc}") from exc
    text = "\n".join(row[0] for row in lines)
    return Explained(query, text, json.loads(document)[0]["Plan"])


async def explain_all(url: str, queries: Sequence[NamedQuery]) -> list[Explained]:
    conn = await asyncpg.connect(url)
    try:
        await prepare_session(conn)
        return [await explain(conn, query) for query in queries]
    finally:
        await conn.close()


def render(source: str, explained: Sequence[Explained]) -> str:
    """One file's plans, in the order of its queries; deterministic."""
    parts = [HEADER.format(source=source, major=localdb.PINNED_MAJOR)]
    for item in explained:
        markers = "".join(f"\nMarked: `-- plan: {m}`\n" for m in item.query.markers)
        parts.append(f"\n## {item.query.name}\n{markers}\n```\n{item.text}\n```\n")
    return "".join(parts)


def rendered_files(explained: Sequence[Explained]) -> dict[Path, str]:
    by_source: dict[str, list[Explained]] = {}
    for item in explained:
        by_source.setdefault(item.query.source, []).append(item)
    return {
        PLANS_DIR / f"{Path(source).stem}.md": render(source, items)
        for source, items in sorted(by_source.items())
    }


def write(files: dict[Path, str]) -> None:
    PLANS_DIR.mkdir(exist_ok=True)
    for stale in set(PLANS_DIR.glob("*.md")) - set(files):
        stale.unlink()  # the plans of a query file that no longer exists
    for path, text in files.items():
        path.write_text(text)
    print(f"plans: wrote {len(files)} files in {PLANS_DIR}/")


def drift(files: dict[Path, str], directory: Path = PLANS_DIR) -> bool:
    """Print a diff of the committed plans in `directory` against `files`; whether they differ."""
    committed = {path.name: path.read_text() for path in directory.glob("*.md")}
    explained = {path.name: text for path, text in files.items()}
    differs = False
    for name in sorted(set(explained) | set(committed)):
        expected, actual = committed.get(name, ""), explained.get(name, "")
        if expected != actual:
            differs = True
            sys.stdout.writelines(
                difflib.unified_diff(
                    expected.splitlines(keepends=True),
                    actual.splitlines(keepends=True),
                    fromfile=f"{directory / name} (committed)",
                    tofile=f"{directory / name} (explained now)",
                )
            )
    return differs


async def require_pinned_major(conn: asyncpg.Connection) -> None:
    """Refuse a server of another major than the one queries/plans/ are made on."""
    major = await server_version_num(conn) // 10000
    if major != localdb.PINNED_MAJOR:
        raise PlanError(
            f"{PLANS_DIR}/ holds PostgreSQL {localdb.PINNED_MAJOR}'s plans and this server is "
            f"PostgreSQL {major}: run `make plans` on the local server (LOCALDB_WHEEL and "
            "LOCALDB_BINDIR unset), which runs the pinned major"
        )


async def _explained(url: str) -> tuple[str, list[Explained]]:
    """The dataset's URL (built when missing) and every named query explained on it."""
    conn = await asyncpg.connect(url)
    try:
        await require_pinned_major(conn)
    finally:
        await conn.close()
    queries = named_queries()
    dataset_url = await dataset.ensure(url)
    return dataset_url, await explain_all(dataset_url, queries)


def main(argv: list[str] | None = None) -> int:
    # Imported here: plan_rules and plan_analyze build on this module.
    from . import plan_analyze, plan_rules

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in ("write", "check", "analyze"):
        print("usage: python -m chip_quality_dev.plans {write,check,analyze}", file=sys.stderr)
        return 2
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("plans: DATABASE_URL is not set (run through `localdb run`)", file=sys.stderr)
        return 2
    try:
        if args[0] == "analyze":
            return asyncio.run(plan_analyze.run(url))
        dataset_url, explained = asyncio.run(_explained(url))
        files = rendered_files(explained)
        if args[0] == "write":
            write(files)
            return 0
        status = 0
        if drift(files):
            print(
                f"plans: {PLANS_DIR}/ is out of date: run `make plans`, review and commit it",
                file=sys.stderr,
            )
            status = 1
        else:
            print(f"plans: {PLANS_DIR}/ matches the queries and migrations")
        violations = asyncio.run(plan_rules.check(dataset_url, explained))
        for violation in violations:
            print(violation, file=sys.stderr)
        if violations:
            print(f"plans: {len(violations)} rule violations", file=sys.stderr)
            status = 1
        else:
            print("plans: every plan passes the rules")
        return status
    except (PlanError, dataset.DatasetError, asyncpg.PostgresError, OSError) as exc:
        print(f"plans: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
