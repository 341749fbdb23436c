"""`make migrate`: dbmate's migrations applied one at a time, fit for a live database.

    python -m chip_quality_dev.migrate        # DATABASE_URL (see localdb run)

What it adds to `dbmate up` (docs/rollout.md has the why and the figures):

* Every migration's session has a lock_timeout (MIGRATE_LOCK_TIMEOUT, 5s), given as
  a connection parameter, so it holds also for a `transaction:false` section, which
  cannot SET it itself (dbmate sends a section as one string, which PostgreSQL runs as
  one implicit transaction, and CREATE INDEX CONCURRENTLY refuses that: 25001). A
  migration that waits longer for a lock gives up instead of holding the service's
  traffic in the lock queue behind it.
* Index builds get no parallel workers (MIGRATE_MAINTENANCE_WORKERS, 0, given the
  same way as max_parallel_maintenance_workers): a build under live traffic then
  takes one core, not the server's default two workers and its leader.
* A migration that gave up on a lock (55P03), or that PostgreSQL failed to break a
  deadlock (40P01), is tried again, MIGRATE_RETRIES times
  (3) after MIGRATE_BACKOFF seconds (2, doubled each time); then it stops, naming
  the sessions that blocked it (pg_blocking_pids, watched while it waited).
* One rollout at a time, without a waiting snapshot: the rollout lock is dbmate's
  own advisory lock (so `dbmate --migration-lock` runs wait for this one too), taken
  by polling pg_try_advisory_lock. dbmate's --migration-lock waits inside a statement
  that holds a snapshot, which a concurrent index build waits out while its holder
  waits for the lock: a deadlock that PostgreSQL breaks by failing one of them.
* After each run, success or not, it looks for INVALID indexes (an interrupted
  CREATE INDEX CONCURRENTLY leaves one) and says how to clear them.

dbmate applies each migration from a folder holding that file alone, so each one is
a run of its own: timed, retried and reported by itself.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from .migrations import read_migration

# dbmate's --migration-lock key (pg_advisory_lock(48372615)): one rollout at a time,
# whether it runs through `make migrate` or dbmate alone.
ROLLOUT_LOCK_KEY = 48372615
APPLICATION_NAME = "chip-quality-db migrate"
LOCK_TIMEOUT_SQLSTATE = "(55P03)"  # how dbmate's error line ends for a lock timeout
# ... and for a deadlock, which PostgreSQL broke by failing the migration's statement
# (a workload's transaction took its locks in the other order): as after a lock
# timeout, the migration's transaction was rolled back whole, and it can be tried again.
DEADLOCK_SQLSTATE = "(40P01)"
WATCH_INTERVAL = 0.2

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"migrate: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Settings:
    lock_timeout: str = "5s"
    retries: int = 3
    backoff: float = 2.0
    rollout_lock_wait: float = 300.0  # for another rollout to finish, as dbmate's default
    # Parallel workers of an index build (max_parallel_maintenance_workers): none by
    # default, so that a build under live traffic takes one core, not three (the
    # server's default of 2 workers plus the leader took both of this machine's cores
    # and tripled the workload's p99 in make test-rollout).
    maintenance_workers: str = "0"

    @classmethod
    def from_environment(cls) -> Settings:
        return cls(
            lock_timeout=os.environ.get("MIGRATE_LOCK_TIMEOUT", cls.lock_timeout),
            retries=int(os.environ.get("MIGRATE_RETRIES", cls.retries)),
            backoff=float(os.environ.get("MIGRATE_BACKOFF", cls.backoff)),
            maintenance_workers=os.environ.get(
                "MIGRATE_MAINTENANCE_WORKERS", cls.maintenance_workers
            ),
        )


@dataclass(frozen=True)
class Session:
    """A server session as pg_stat_activity shows it."""

    pid: int
    user: str | None
    application: str | None
    client: str | None
    state: str | None
    transaction_age: timedelta | None
    query: str | None

    def describe(self) -> str:
        age = (
            f"in a transaction for {self.transaction_age.total_seconds():.1f} s"
            if self.transaction_age is not None
            else "not in a transaction"
        )
        query = " ".join((self.query or "").split())[:160]
        return (
            f"pid {self.pid} (user {self.user}, application {self.application or '-'}, "
            f"client {self.client or 'local'}), {self.state}, {age}; last statement: {query}"
        )


@dataclass(frozen=True)
class InvalidIndex:
    index: str
    table: str


@dataclass
class Applied:
    """One migration's run: how long it took, in how many attempts, and the longest
    any of them waited for a lock."""

    migration: Path
    seconds: float
    attempts: int
    longest_lock_wait: float = 0.0
    blockers: list[Session] = field(default_factory=list)


class MigrateError(RuntimeError):
    """A migration was not applied; the message says why and what to do."""


SESSIONS = """
SELECT pid, usename AS user, application_name AS application, client_addr::text AS client,
       state, now() - xact_start AS transaction_age, query
  FROM pg_stat_activity
 WHERE pid = ANY($1::int[])
 ORDER BY pid
"""

# The migration's sessions (dbmate may open more than one), how long each has waited
# for the lock it waits for, and who holds it.
WAITING = """
SELECT a.pid,
       coalesce(extract(epoch FROM now() - l.waitstart), 0)::float8 AS waited,
       pg_blocking_pids(a.pid) AS blockers
  FROM pg_stat_activity AS a
  LEFT JOIN pg_locks AS l ON l.pid = a.pid AND NOT l.granted
 WHERE a.application_name = $1 AND a.datname = current_database()
"""

INVALID_INDEXES = """
SELECT i.indexrelid::regclass::text AS index, i.indrelid::regclass::text AS table
  FROM pg_index AS i
  JOIN pg_class AS c ON c.oid = i.indexrelid
 WHERE NOT i.indisvalid AND c.relkind = 'i'
 ORDER BY 1
"""

ROLLOUT_LOCK_HOLDER = """
SELECT pid FROM pg_locks
 WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = $1 AND objsubid = 1
"""


def with_parameters(url: str, **parameters: str) -> str:
    """`url` with these connection parameters (lib/pq, which dbmate uses, sends
    parameters it does not know itself to the server as settings)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(parameters)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def sessions(conn: asyncpg.Connection, pids: Sequence[int]) -> list[Session]:
    return [Session(**dict(row)) for row in await conn.fetch(SESSIONS, list(pids))]


async def invalid_indexes(conn: asyncpg.Connection) -> list[InvalidIndex]:
    return [InvalidIndex(row["index"], row["table"]) for row in await conn.fetch(INVALID_INDEXES)]


def invalid_index_advice(indexes: Sequence[InvalidIndex]) -> str:
    lines = [
        f"{len(indexes)} INVALID index(es): a CREATE INDEX CONCURRENTLY that did not finish "
        "(lock timeout, cancel, deadlock, or duplicate keys for a unique index). "
        "PostgreSQL updates such an index on every write but never reads it, and the "
        "migration that builds it fails while it exists. Drop each without blocking writes:"
    ]
    lines += [f"    DROP INDEX CONCURRENTLY {i.index};   -- on {i.table}" for i in indexes]
    lines.append(
        "then run `make migrate` again: a migration that failed is not recorded as applied, "
        "so it builds the index anew."
    )
    return "\n".join(lines)


async def applied_versions(conn: asyncpg.Connection) -> set[str]:
    if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
        return set()
    return {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}


async def _take_rollout_lock(conn: asyncpg.Connection, settings: Settings, log: Log) -> None:
    """The rollout lock, polled: no statement of ours waits (and holds a snapshot)."""
    deadline = time.monotonic() + settings.rollout_lock_wait
    told = False
    while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", ROLLOUT_LOCK_KEY):
        holders = await sessions(
            conn, [row["pid"] for row in await conn.fetch(ROLLOUT_LOCK_HOLDER, ROLLOUT_LOCK_KEY)]
        )
        if time.monotonic() > deadline:
            raise MigrateError(
                "another rollout held the migration lock for "
                f"{settings.rollout_lock_wait:.0f} s: "
                + "; ".join(holder.describe() for holder in holders)
            )
        if not told:
            log("waiting for another rollout: " + "; ".join(h.describe() for h in holders))
            told = True
        await asyncio.sleep(0.5)


class _Watch:
    """Watches the migration's sessions while dbmate runs: the longest lock wait seen
    and the sessions that blocked it last."""

    def __init__(self, conn: asyncpg.Connection, application: str) -> None:
        self.conn, self.application = conn, application
        self.longest_wait = 0.0
        self.blockers: list[Session] = []

    async def run(self) -> None:
        while True:
            rows = await self.conn.fetch(WAITING, self.application)
            pids = sorted({pid for row in rows for pid in row["blockers"]})
            for row in rows:
                self.longest_wait = max(self.longest_wait, row["waited"])
            if pids:
                self.blockers = await sessions(self.conn, pids)
            await asyncio.sleep(WATCH_INTERVAL)


async def _dbmate(url: str, migration: Path) -> tuple[int, str]:
    """`dbmate migrate` of this one file; its exit status and output."""
    with tempfile.TemporaryDirectory(prefix="migrate-") as folder:
        (Path(folder) / migration.name).symlink_to(migration.resolve())
        process = await asyncio.create_subprocess_exec(
            "dbmate",
            "--url",
            url,
            "--migrations-dir",
            folder,
            "--no-dump-schema",
            "migrate",
            # The rollout lock is ours already: dbmate waiting for it would wait for us.
            env={**os.environ, "DBMATE_MIGRATION_LOCK": "false"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def _apply_one(
    url: str, watch_conn: asyncpg.Connection, migration: Path, settings: Settings, log: Log
) -> Applied:
    application = f"{APPLICATION_NAME} {migration.name.split('_', 1)[0]}"
    dbmate_url = with_parameters(
        url,
        lock_timeout=settings.lock_timeout,
        max_parallel_maintenance_workers=settings.maintenance_workers,
        application_name=application,
    )
    result = Applied(migration, 0.0, 0)
    delay = settings.backoff
    while True:
        result.attempts += 1
        watch = _Watch(watch_conn, application)
        watcher = asyncio.create_task(watch.run())
        started = time.perf_counter()
        try:
            code, output = await _dbmate(dbmate_url, migration)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        result.seconds = time.perf_counter() - started
        result.longest_lock_wait = max(result.longest_lock_wait, watch.longest_wait)
        result.blockers = watch.blockers or result.blockers
        if code == 0:
            log(f"applied {migration.name} in {result.seconds:.2f} s")
            return result
        blocked = ", ".join(f"pid {s.pid}" for s in result.blockers) or "a session not seen"
        timed_out = LOCK_TIMEOUT_SQLSTATE in output
        deadlocked = DEADLOCK_SQLSTATE in output
        if (timed_out or deadlocked) and await invalid_indexes(watch_conn):
            # A retry would fail on the index the last attempt left.
            timed_out = deadlocked = False
        if not (timed_out or deadlocked) or result.attempts > settings.retries:
            raise MigrateError(_failure(migration, output, result, settings, timed_out, deadlocked))
        why = (
            f"lock not granted within its lock_timeout (blocked by {blocked})"
            if timed_out
            else "failed to break a deadlock with another session"
        )
        log(
            f"{migration.name}: {why}; {_left_behind(migration)}; retry {result.attempts} of "
            f"{settings.retries} in {delay:.1f} s"
        )
        await asyncio.sleep(delay)
        delay *= 2


def _left_behind(migration: Path) -> str:
    if read_migration(migration).transaction:
        return "nothing of it applied"
    return "what it committed before (a transaction:false migration) stays"


def _failure(
    migration: Path,
    output: str,
    result: Applied,
    settings: Settings,
    timed_out: bool,
    deadlocked: bool = False,
) -> str:
    lines = [f"{migration.name} was not applied:", *("    " + line for line in output.splitlines())]
    if deadlocked:
        lines.append(
            f"PostgreSQL failed it to break a deadlock in each of {result.attempts} attempts: "
            f"{_left_behind(migration)}. A transaction of the services takes the same locks "
            "in the other order; run `make migrate` again when it is quieter, or give the "
            "migration its locks up front (LOCK TABLE ... in the services' order)."
        )
    if timed_out:
        lines.append(
            "It waited longer than its lock_timeout (its own SET LOCAL, else "
            f"MIGRATE_LOCK_TIMEOUT={settings.lock_timeout}) for a lock in each of "
            f"{result.attempts} attempts and gave up each time: {_left_behind(migration)}. "
            "The statements queued behind its request waited no longer than that (and "
            "those on tables it had locked already)."
        )
    if result.blockers:
        lines.append("Sessions that held the lock it waited for (pg_blocking_pids):")
        lines += [f"    {session.describe()}" for session in result.blockers]
        if timed_out:
            lines.append(
                "Let them finish (or end one: SELECT pg_terminate_backend(<pid>)), then run "
                "`make migrate` again; MIGRATE_RETRIES and MIGRATE_BACKOFF give it more tries."
            )
    return "\n".join(lines)


async def _ensure_database(url: str) -> None:
    for command in ("wait", "create"):
        process = await asyncio.create_subprocess_exec(
            "dbmate", "--url", url, command, stdout=asyncio.subprocess.DEVNULL
        )
        if await process.wait() != 0 and command == "wait":
            raise MigrateError("the database server did not become available")
        try:
            await (await asyncpg.connect(url)).close()
            return
        except asyncpg.InvalidCatalogNameError:
            continue  # dbmate creates it
    raise MigrateError("dbmate could not create the database")


async def apply(
    url: str, migrations: Sequence[Path], settings: Settings | None = None, log: Log = _stderr
) -> list[Applied]:
    """Apply those of `migrations` (dbmate files, in order) that are not applied yet,
    one dbmate run each, under the rollout lock; then check for INVALID indexes."""
    settings = settings or Settings()
    await _ensure_database(url)
    lock = await asyncpg.connect(url, server_settings={"application_name": APPLICATION_NAME})
    watch = await asyncpg.connect(url, server_settings={"application_name": APPLICATION_NAME})
    done: list[Applied] = []
    failure: MigrateError | None = None
    try:
        await _take_rollout_lock(lock, settings, log)
        applied = await applied_versions(lock)
        for migration in migrations:
            if migration.name.split("_", 1)[0] in applied:
                continue
            try:
                done.append(await _apply_one(url, watch, migration, settings, log))
            except MigrateError as error:
                failure = error
                break
        invalid = await invalid_indexes(lock)
    finally:
        await watch.close()
        await lock.close()  # releases the rollout lock
    if invalid:
        advice = invalid_index_advice(invalid)
        failure = MigrateError(f"{failure}\n{advice}" if failure else advice)
    if failure is not None:
        raise failure
    return done


def _dump_schema(url: str) -> int:
    return subprocess.run(["dbmate", "--url", url, "dump"], check=False).returncode


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--no-dump"]):
        print("usage: python -m chip_quality_dev.migrate [--no-dump]", file=sys.stderr)
        return 2
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("migrate: DATABASE_URL is not set (run through `localdb run`)", file=sys.stderr)
        return 2
    folder = Path(os.environ.get("DBMATE_MIGRATIONS_DIR", "schema/migrations"))
    try:
        applied = asyncio.run(apply(url, sorted(folder.glob("*.sql")), Settings.from_environment()))
    except MigrateError as error:
        print(f"migrate: {error}", file=sys.stderr)
        return 1
    if not applied:
        _stderr("nothing to apply")
    if not args and os.environ.get("DBMATE_NO_DUMP_SCHEMA", "").lower() not in ("1", "true"):
        return _dump_schema(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
