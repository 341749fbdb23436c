"""A real local cluster for scale-out work: a primary, a streaming standby, and PgBouncer.

    python -m chip_quality_dev.cluster start    # start (or reuse); print the three URLs
    python -m chip_quality_dev.cluster stop     # stop all three
    python -m chip_quality_dev.cluster status   # which parts run (exit 3 unless all do)
    python -m chip_quality_dev.cluster urls     # the three URLs when all run; starts nothing

(`make cluster`, `make cluster-stop`.) Also `stop-standby`, `start-standby`,
`pause-replay`, `resume-replay` for trying things by hand.

Everything lives in `LOCALDB_CLUSTER_DIR` (default `cluster/` under `LOCALDB_DIR`,
so `.localdb/cluster`, ignored by git), apart from the server `make test` uses:

- `primary/`: a server made like the local one (localdb: the local server's binaries,
  SERVER_OPTIONS, the `chipqdb` user as root), with its own `chip_quality` database;
- `standby/`: `pg_basebackup -R` of the primary through the physical replication
  slot `chipq_standby` (so the primary keeps the WAL a stopped standby still needs),
  started as a hot standby with `hot_standby_feedback=on`; `primary_conninfo` is
  given on its command line at every start, so it follows the primary's port;
- `pgbouncer/`: PgBouncer (the Debian package; installed with apt-get when
  missing and we are root on Debian) in transaction pooling mode in front of the
  primary, its config, auth file, log and pid file there, run as `chipqdb`.

Ports are picked free on first start and kept while they stay free, so URLs
survive a `cluster-stop`/`cluster` and a standby restarted alone keeps its URL.
All URLs use the superuser `postgres`, trusted, no password.

The tests (tests/cluster) use `session()`: it starts what is not running and,
when the last test session that needed it ends, stops what test sessions
started; a cluster someone started with `make cluster` is left running.
Replica helpers for tests are async (asyncpg): `current_lsn`, `wait_for_replay`,
`wait_for_replica`, `pause_replay`, `resume_replay`, `replay_paused`; the
standby alone is stopped and started with `stop_standby`, `start_standby`,
`standby_stopped`.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from chip_quality_db._redact import redact_url

from . import localdb
from .localdb import DATABASE_NAME, SUPERUSER, LocalDbError, LocalServer

SLOT_NAME = "chipq_standby"
# SLOT_NAME written out (no SQL is built from strings here); an active slot is left alone.
DROP_OLD_SLOT = (
    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
    "WHERE slot_name = 'chipq_standby' AND NOT active"
)
STANDBY_NAME = "chipq_standby"  # application_name of its WAL receiver on the primary

# PgBouncer in front of the primary. Why these values:
# - pool_mode transaction: the mode that makes PgBouncer worth having (a server
#   connection per transaction, not per client), and the one that breaks session
#   state and named prepared statements: what the runtime must be proven against.
# - default_pool_size 5: server connections per database and user. Small on
#   purpose: this machine has 2 cores (a pool of 2-4x the cores is the usual
#   sizing), the primary's max_connections (200) is shared with direct
#   connections and the many test databases (a pool each), and 20 client tasks
#   over 5 server connections make multiplexing, and what it breaks, certain
#   rather than occasional.
# - max_client_conn 200: clients PgBouncer accepts in all; several test pools of
#   20 at once fit, and it matches the primary's max_connections.
# - ignore_startup_parameters: PgBouncer 1.18 refuses a client whose startup packet
#   has a parameter it does not track (it tracks client_encoding, DateStyle,
#   TimeZone, standard_conforming_strings, application_name). The runtime's pool
#   sends statement_timeout and idle_in_transaction_session_timeout
#   (chip_quality_db._pool._server_settings); JDBC and psycopg send
#   extra_float_digits. Ignored means DROPPED: through PgBouncer those timeouts do
#   not reach the server (tests/cluster shows it); see docs/scaling.md.
# - server_login_retry 1: after the primary restarts, reconnect within a second
#   instead of the default 15 s.
PGBOUNCER_SETTINGS: dict[str, str] = {
    "pool_mode": "transaction",
    "max_client_conn": "200",
    "default_pool_size": "5",
    "min_pool_size": "0",
    "reserve_pool_size": "0",
    "ignore_startup_parameters": (
        "extra_float_digits,statement_timeout,idle_in_transaction_session_timeout"
    ),
    "server_login_retry": "1",
    "log_connections": "0",
    "log_disconnections": "0",
}

WAIT_SECONDS = 30.0


class ClusterError(LocalDbError):
    """A part of the local cluster could not be found, made or started."""


@dataclass(frozen=True)
class ClusterUrls:
    """URLs of one database by the three ways in: the primary, the standby, PgBouncer."""

    primary: str
    replica: str
    pgbouncer: str
    database: str


@dataclass(frozen=True)
class PgBouncer:
    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / "pgbouncer.ini"

    @property
    def auth_file(self) -> Path:
        return self.root / "userlist.txt"

    @property
    def log_file(self) -> Path:
        return self.root / "pgbouncer.log"

    @property
    def pid_file(self) -> Path:
        return self.root / "pgbouncer.pid"

    @property
    def port_file(self) -> Path:
        return self.root / "port"

    @property
    def port(self) -> int:
        return int(self.port_file.read_text())

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{database}?sslmode=disable"

    @property
    def admin_url(self) -> str:
        """The admin console (SHOW ...; simple query protocol only: psql, not asyncpg)."""
        return self.url("pgbouncer")


@dataclass(frozen=True)
class LocalCluster:
    root: Path

    @property
    def primary(self) -> LocalServer:
        return LocalServer(self.root / "primary")

    @property
    def standby(self) -> LocalServer:
        return LocalServer(self.root / "standby")

    @property
    def pgbouncer(self) -> PgBouncer:
        return PgBouncer(self.root / "pgbouncer")

    @property
    def started_by_tests_file(self) -> Path:
        return self.root / "started-by-tests"

    def urls(self, database: str = DATABASE_NAME) -> ClusterUrls:
        return ClusterUrls(
            primary=self.primary.url(database),
            replica=self.standby.url(database),
            pgbouncer=self.pgbouncer.url(database),
            database=database,
        )


def default_cluster(base: Path | None = None) -> LocalCluster:
    """The checkout's cluster: LOCALDB_CLUSTER_DIR, else `cluster` under LOCALDB_DIR
    (default .localdb); relative paths are taken from `base` (default: the cwd)."""
    base = base or Path.cwd()
    configured = os.environ.get("LOCALDB_CLUSTER_DIR")
    root = Path(configured) if configured else Path(os.environ.get("LOCALDB_DIR", ".localdb"))
    root = root if configured else root / "cluster"
    return LocalCluster((base / root).resolve())


# --- locking ---------------------------------------------------------------------------


@contextmanager
def _locked(cluster: LocalCluster) -> Iterator[None]:
    """Serialise whoever starts or stops this cluster (make, test sessions)."""
    cluster.root.mkdir(parents=True, exist_ok=True)
    with open(cluster.root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- small tools ------------------------------------------------------------------------


def _psql(port: int, sql: str, database: str = "postgres", check: bool = True) -> str:
    """Run `sql` as the superuser on 127.0.0.1:`port`; its output unaligned, tuples only."""
    return run_psql(localdb.find_bindir(), port, sql, database=database, check=check)


def run_psql(
    bindir: Path,
    port: int,
    sql: str,
    *,
    user: str = SUPERUSER,
    database: str = "postgres",
    check: bool = True,
    connect_timeout: int = 5,
    error: type[ClusterError] = ClusterError,
) -> str:
    """Run `sql` as `user` on 127.0.0.1:`port` with `bindir`'s psql: its output
    unaligned, tuples only; `error` when it fails and `check`. (The HA cluster's
    tools use it with Debian's binaries.)"""
    result = subprocess.run(
        [
            str(bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            user,
            "-d",
            database,
            "-X",
            "-q",
            "-tA",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PGCONNECT_TIMEOUT": str(connect_timeout)},
    )
    if check and result.returncode != 0:
        raise error(f"psql on port {port} failed: {sql}\n{result.stderr.strip()}")
    return result.stdout.strip()


def _previous_port(port_file: Path) -> int | None:
    """The port this part had last time, when it can have it again."""
    try:
        port = int(port_file.read_text())
    except (OSError, ValueError):
        return None
    return port if localdb.port_is_free(port) else None


def _give_dir_to_service(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    account = localdb._service_account()
    if account is not None:
        os.chown(path, account.pw_uid, account.pw_gid)
        localdb._make_traversable(path)


def _wait_until(what: str, check: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def _say(message: str) -> None:
    print(f"cluster: {message}", file=sys.stderr)


# --- primary and standby ----------------------------------------------------------------


def _start_primary(cluster: LocalCluster, bindir: Path) -> None:
    primary = cluster.primary
    primary.root.mkdir(parents=True, exist_ok=True)
    # wal_level=replica and max_wal_senders=10 are PostgreSQL's defaults: nothing to set.
    localdb._launch(primary, bindir, port=_previous_port(primary.port_file))
    localdb._ensure_database(primary, bindir)


def _system_identifier(data_dir: Path, bindir: Path) -> str | None:
    if not (data_dir / "global" / "pg_control").exists():
        return None
    out = localdb._run_as_service(
        [str(bindir / "pg_controldata"), "-D", str(data_dir)],
        localdb._service_account(),
        check=False,
    )
    for line in out.stdout.splitlines():
        if line.startswith("Database system identifier:"):
            return line.split(":", 1)[1].strip()
    return None


def _standby_settings(cluster: LocalCluster) -> dict[str, str]:
    """Given on the standby's command line at every start (they win over what -R wrote),
    so the standby follows the primary to whatever port it has now."""
    return {
        "primary_conninfo": (
            f"host=127.0.0.1 port={cluster.primary.port} user={SUPERUSER} "
            f"application_name={STANDBY_NAME}"
        ),
        "primary_slot_name": SLOT_NAME,
        # Reads on a replica are not cancelled because VACUUM on the primary removed
        # rows they still see (the primary keeps them instead).
        "hot_standby_feedback": "on",
    }


def _make_standby(cluster: LocalCluster, bindir: Path) -> float:
    """A fresh base backup of the primary in standby/data (-R: standby.signal and
    primary_conninfo); returns the seconds it took."""
    standby, primary = cluster.standby, cluster.primary
    account = localdb._service_account()
    if standby.data_dir.exists():
        shutil.rmtree(standby.data_dir)
    standby.root.mkdir(parents=True, exist_ok=True)
    standby.data_dir.mkdir(mode=0o700)
    standby.log_file.touch()
    if account is not None:
        for path in (standby.data_dir, standby.log_file):
            os.chown(path, account.pw_uid, account.pw_gid)
        localdb._make_traversable(standby.root)
    # A slot left by an earlier standby would make -C fail; its WAL is no use now.
    _psql(primary.port, DROP_OLD_SLOT)
    began = time.monotonic()
    localdb._run_as_service(
        [
            str(bindir / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            SUPERUSER,
            "-D",
            str(standby.data_dir),
            "-R",  # standby.signal, primary_conninfo
            "-X",
            "stream",
            "-c",
            "fast",  # an immediate checkpoint, not a spread one
            "-C",
            "-S",
            SLOT_NAME,
            "--no-sync",  # a disposable copy: no fsync of every file
        ],
        account,
    )
    return time.monotonic() - began


def _launch_standby(cluster: LocalCluster, bindir: Path) -> float:
    """pg_ctl start (waits until it accepts connections), then until its WAL receiver
    streams from the primary; returns the seconds it took."""
    began = time.monotonic()
    localdb._launch(
        cluster.standby,
        bindir,
        settings=_standby_settings(cluster),
        port=_previous_port(cluster.standby.port_file),
    )
    _wait_until("the standby to stream from the primary", lambda: _streaming(cluster))
    return time.monotonic() - began


def _streaming(cluster: LocalCluster) -> bool:
    status = _psql(cluster.standby.port, "SELECT status FROM pg_stat_wal_receiver", check=False)
    return status == "streaming"


def _start_standby(cluster: LocalCluster, bindir: Path) -> None:
    standby = cluster.standby
    reusable = (standby.data_dir / "standby.signal").exists() and _system_identifier(
        standby.data_dir, bindir
    ) == _system_identifier(cluster.primary.data_dir, bindir)
    if reusable:
        try:
            took = _launch_standby(cluster, bindir)
        except LocalDbError as exc:
            _say(f"the standby's data could not be reused, making it again ({exc})")
            localdb.stop(standby, bindir)
        else:
            _say(f"standby started from its data in {took:.2f} s")
            return
    made = _make_standby(cluster, bindir)
    took = _launch_standby(cluster, bindir)
    _say(f"standby made by pg_basebackup in {made:.2f} s, started and streaming in {took:.2f} s")


def start_standby(cluster: LocalCluster) -> None:
    """Start the standby alone (the primary must run), on the port it had, and wait
    until it streams again."""
    bindir = localdb.find_bindir()
    with _locked(cluster):
        if not localdb.is_running(cluster.primary, bindir):
            raise ClusterError("the primary is not running: start the cluster first")
        if not localdb.is_running(cluster.standby, bindir):
            _start_standby(cluster, bindir)


def stop_standby(cluster: LocalCluster) -> None:
    """Stop the standby alone (fast shutdown); the primary keeps its WAL in the slot."""
    with _locked(cluster):
        localdb.stop(cluster.standby)


@contextmanager
def standby_stopped(cluster: LocalCluster) -> Iterator[None]:
    """The standby stopped for the block, started again (same URL) after it."""
    stop_standby(cluster)
    try:
        yield
    finally:
        start_standby(cluster)


# --- PgBouncer --------------------------------------------------------------------------


def apt_install(packages: list[str]) -> None:
    """apt-get install `packages` (as root on Debian) without letting any of them start
    a service of its own (the HA formation's packages use this too)."""
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:
        # invoke-rc.d asks this script before starting a service; 101: not allowed.
        policy.write_text(
            "#!/bin/sh\n# chip-quality-db: no service starts during this install\nexit 101\n"
        )
        policy.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-q"]
    install = [*apt, "install", "-y", *packages]
    try:
        done = subprocess.run(install, capture_output=True, text=True, env=env)
        if done.returncode != 0:  # package lists missing or stale on a fresh machine
            subprocess.run([*apt, "update"], capture_output=True, text=True, env=env)
            done = subprocess.run(install, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise ClusterError(
                f"apt-get install -y {' '.join(packages)} failed:\n"
                f"{done.stdout[-2000:]}{done.stderr}"
            )
    finally:
        if ours:
            policy.unlink()


def find_pgbouncer(install: bool = True) -> Path:
    """The pgbouncer binary; as root on Debian, installed from the Debian package
    when missing (its own system service kept from starting); else an error that
    says what to install."""
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/bin")
    if found:
        return Path(found)
    debian = Path("/etc/debian_version").exists() and shutil.which("apt-get") is not None
    if not (install and debian and os.geteuid() == 0):
        raise ClusterError(
            "PgBouncer is not installed: install the Debian package `pgbouncer` "
            "(apt-get install pgbouncer; 1.18 on Debian 12) or put a pgbouncer binary on PATH"
        )
    _apt_install_pgbouncer()
    found = shutil.which("pgbouncer", path="/usr/sbin:/usr/bin")
    if not found:
        raise ClusterError("apt-get installed pgbouncer, but no pgbouncer binary was found")
    return Path(found)


def _apt_install_pgbouncer() -> None:
    """apt-get install pgbouncer without letting the package start its own service."""
    _say("PgBouncer is missing: apt-get install -y pgbouncer")
    apt_install(["pgbouncer"])
    # The package's own service stays off on this machine: ours runs as chipqdb.
    if Path("/run/systemd/system").exists():
        subprocess.run(["systemctl", "disable", "--now", "pgbouncer"], capture_output=True)
    elif shutil.which("update-rc.d"):
        subprocess.run(["update-rc.d", "pgbouncer", "disable"], capture_output=True)
    system_pid = _live_pgbouncer_pid(Path("/run/postgresql/pgbouncer.pid"))
    if system_pid is not None:
        subprocess.run(["service", "pgbouncer", "stop"], capture_output=True)


def pgbouncer_version() -> str:
    out = subprocess.run(
        [str(find_pgbouncer(install=False)), "--version"], capture_output=True, text=True
    )
    return out.stdout.splitlines()[0].strip() if out.stdout else "unknown"


def _live_pgbouncer_pid(pid_file: Path) -> int | None:
    """The pid in `pid_file` when that process is alive and is a pgbouncer."""
    try:
        pid = int(pid_file.read_text().strip())
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError):
        return None
    return pid if comm == "pgbouncer" and _alive(pid) else None


def _pgbouncer_config(cluster: LocalCluster, port: int) -> str:
    bouncer = cluster.pgbouncer
    settings = {
        "listen_addr": "127.0.0.1",
        "listen_port": str(port),
        "unix_socket_dir": "",  # TCP on 127.0.0.1 only
        # trust: no password, but the user must be in auth_file; the primary trusts too.
        "auth_type": "trust",
        "auth_file": str(bouncer.auth_file),
        "admin_users": SUPERUSER,
        "logfile": str(bouncer.log_file),
        "pidfile": str(bouncer.pid_file),
        **PGBOUNCER_SETTINGS,
    }
    lines = [
        "; Written by chip_quality_dev.cluster at every start: edits are lost.",
        "[databases]",
        "; every database name the client asks for, on the primary",
        f"* = host=127.0.0.1 port={cluster.primary.port}",
        "",
        "[pgbouncer]",
        *(f"{name} = {value}" for name, value in settings.items()),
        "",
    ]
    return "\n".join(lines)


def _pgbouncer_answers(cluster: LocalCluster) -> bool:
    try:
        port = cluster.pgbouncer.port
    except (OSError, ValueError):
        return False
    return _psql(port, "SHOW VERSION", database="pgbouncer", check=False) != ""


def _pgbouncer_running(cluster: LocalCluster) -> bool:
    return _live_pgbouncer_pid(cluster.pgbouncer.pid_file) is not None


def _stop_pgbouncer(cluster: LocalCluster) -> bool:
    """Stop our PgBouncer (by the pid in its pid file, only when that is a pgbouncer)."""
    pid = _live_pgbouncer_pid(cluster.pgbouncer.pid_file)
    if pid is None:
        return False
    # 1.18: SIGTERM is an immediate shutdown (SIGINT, the safe one, would wait for
    # clients still inside a transaction); the servers behind it stop right after anyway.
    os.kill(pid, signal.SIGTERM)
    _wait_until("PgBouncer to exit", lambda: not _alive(pid), 10)
    return True


def _alive(pid: int) -> bool:
    """Whether the process runs: a zombie waiting for its parent (the daemon's is init,
    which may take seconds to reap it) has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _start_pgbouncer(cluster: LocalCluster) -> bool:
    """Start PgBouncer, or restart it when it points at a primary port of the past;
    False when it ran already as it should."""
    binary = find_pgbouncer()
    bouncer = cluster.pgbouncer
    wanted_target = f"* = host=127.0.0.1 port={cluster.primary.port}"
    if _pgbouncer_running(cluster):
        config = bouncer.config_file.read_text() if bouncer.config_file.exists() else ""
        if wanted_target in config.splitlines():
            return False
        _stop_pgbouncer(cluster)
    _give_dir_to_service(bouncer.root)
    port = _previous_port(bouncer.port_file) or localdb._free_port()
    bouncer.auth_file.write_text(f'"{SUPERUSER}" ""\n')
    bouncer.config_file.write_text(_pgbouncer_config(cluster, port))
    bouncer.port_file.write_text(f"{port}\n")
    began = time.monotonic()
    localdb._run_as_service(
        [str(binary), "-d", "-q", str(bouncer.config_file)], localdb._service_account()
    )
    try:
        _wait_until("PgBouncer to answer", lambda: _pgbouncer_answers(cluster), 10)
    except ClusterError as exc:
        log = bouncer.log_file.read_text(errors="replace") if bouncer.log_file.exists() else ""
        raise ClusterError(f"{exc}\n{bouncer.log_file} ends:\n{log[-2000:]}") from None
    _say(f"{pgbouncer_version()} started on port {port} in {time.monotonic() - began:.2f} s")
    return True


def pgbouncer_show(cluster: LocalCluster, what: str) -> list[list[str]]:
    """`SHOW <what>` on PgBouncer's admin console (CONFIG, POOLS, STATS, ...), as rows of
    strings. Through psql: the console speaks the simple query protocol only."""
    if not what.replace("_", "").isalpha():
        raise ClusterError(f"not a SHOW subject: {what!r}")
    out = _psql(cluster.pgbouncer.port, f"SHOW {what}", database="pgbouncer")
    return [line.split("|") for line in out.splitlines() if line]


def pgbouncer_setting(cluster: LocalCluster, name: str) -> str:
    """One setting as the running PgBouncer has it (SHOW CONFIG)."""
    for row in pgbouncer_show(cluster, "CONFIG"):
        if row[0] == name:
            return row[1]
    raise ClusterError(f"PgBouncer has no setting {name!r}")


# --- the whole cluster ------------------------------------------------------------------


def running_parts(cluster: LocalCluster) -> dict[str, bool]:
    bindir = localdb.find_bindir()
    return {
        "primary": localdb.is_running(cluster.primary, bindir),
        "standby": localdb.is_running(cluster.standby, bindir),
        "pgbouncer": _pgbouncer_running(cluster),
    }


def start(cluster: LocalCluster) -> list[str]:
    """Start whatever of primary, standby and PgBouncer is not running (the primary's
    database `chip_quality` included); return the names of the parts it started."""
    bindir = localdb.find_bindir()
    find_pgbouncer()  # before anything starts: fail early, saying what to install
    started = []
    with _locked(cluster):
        if not localdb.is_running(cluster.primary, bindir):
            _start_primary(cluster, bindir)
            started.append("primary")
        if not localdb.is_running(cluster.standby, bindir):
            _start_standby(cluster, bindir)
            started.append("standby")
        if _start_pgbouncer(cluster):
            started.append("pgbouncer")
    return started


def stop(
    cluster: LocalCluster, parts: tuple[str, ...] = ("pgbouncer", "standby", "primary")
) -> None:
    """Stop these parts (default all: PgBouncer, the standby, then the primary)."""
    bindir = localdb.find_bindir()
    with _locked(cluster):
        if "pgbouncer" in parts and _stop_pgbouncer(cluster):
            _say("PgBouncer stopped")
        for name in ("standby", "primary"):
            server = getattr(cluster, name)
            if name in parts and localdb.is_running(server, bindir):
                localdb.stop(server, bindir)
        cluster.started_by_tests_file.unlink(missing_ok=True)


@contextmanager
def session(cluster: LocalCluster) -> Iterator[ClusterUrls]:
    """The cluster running for the block (a test session). What it had to start is
    stopped when the last such block, in any process, ends; a cluster that ran before
    (`make cluster`) is left running."""
    cluster.root.mkdir(parents=True, exist_ok=True)
    with open(cluster.root / ".users", "w") as users:
        fcntl.flock(users, fcntl.LOCK_SH)  # held by every session using the cluster
        started = start(cluster)
        if started:
            with _locked(cluster):
                previous = _started_by_tests(cluster)
                names = sorted(set(previous) | set(started))
                cluster.started_by_tests_file.write_text("\n".join(names) + "\n")
        try:
            yield cluster.urls()
        finally:
            try:
                fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # another session still uses it: the last one stops it
            else:
                parts = _started_by_tests(cluster)
                if parts:
                    stop(cluster, tuple(parts))


def _started_by_tests(cluster: LocalCluster) -> list[str]:
    try:
        return cluster.started_by_tests_file.read_text().split()
    except OSError:
        return []


# --- replication, for tests (async: they run beside the tests' own tasks) -------------


@asynccontextmanager
async def _connected(target: str | asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    if isinstance(target, asyncpg.Connection):
        yield target
        return
    conn = await asyncpg.connect(target)
    try:
        yield conn
    finally:
        await conn.close()


async def current_lsn(primary: str | asyncpg.Connection) -> str:
    """The primary's current WAL position (after a commit: at or past its commit record)."""
    async with _connected(primary) as conn:
        return str(await conn.fetchval("SELECT pg_current_wal_lsn()::text"))


async def replay_lsn(replica: str | asyncpg.Connection) -> str:
    """How far the standby has replayed."""
    async with _connected(replica) as conn:
        return str(await conn.fetchval("SELECT pg_last_wal_replay_lsn()::text"))


async def wait_for_replay(
    replica: str | asyncpg.Connection, lsn: str, timeout: float = WAIT_SECONDS
) -> float:
    """Wait until the standby has replayed up to `lsn`; return the seconds it took.
    ClusterError after `timeout` (a paused replay never gets there)."""
    began = time.monotonic()
    async with _connected(replica) as conn:
        while True:
            done = await conn.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn)
            if done:
                return time.monotonic() - began
            if time.monotonic() - began > timeout:
                replayed = await conn.fetchval("SELECT pg_last_wal_replay_lsn()::text")
                raise ClusterError(
                    f"the standby replayed only to {replayed}, not {lsn}, in {timeout:.0f} s"
                )
            await asyncio.sleep(0.01)


async def wait_for_replica(
    primary: str | asyncpg.Connection,
    replica: str | asyncpg.Connection,
    timeout: float = WAIT_SECONDS,
) -> str:
    """Wait until the standby has replayed everything the primary has written so far;
    return that LSN."""
    lsn = await current_lsn(primary)
    await wait_for_replay(replica, lsn, timeout)
    return lsn


async def pause_replay(replica: str | asyncpg.Connection) -> None:
    """pg_wal_replay_pause() on the standby, returning once replay has really stopped
    (the standby still receives WAL; it does not apply it)."""
    async with _connected(replica) as conn:
        await conn.execute("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + WAIT_SECONDS
        while await conn.fetchval("SELECT pg_get_wal_replay_pause_state()") != "paused":
            if time.monotonic() > deadline:
                raise ClusterError("the standby did not pause replay")
            await asyncio.sleep(0.01)


async def resume_replay(replica: str | asyncpg.Connection) -> None:
    """pg_wal_replay_resume() on the standby."""
    async with _connected(replica) as conn:
        await conn.execute("SELECT pg_wal_replay_resume()")


@asynccontextmanager
async def replay_paused(replica: str) -> AsyncIterator[None]:
    """Replay paused on the standby for the block, resumed after it whatever happens."""
    await pause_replay(replica)
    try:
        yield
    finally:
        await resume_replay(replica)


# --- command line -----------------------------------------------------------------------


def _print_urls(cluster: LocalCluster) -> None:
    urls = cluster.urls()
    print(f"primary    {redact_url(urls.primary)}")
    print(f"replica    {redact_url(urls.replica)}")
    print(f"pgbouncer  {redact_url(urls.pgbouncer)}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "status"
    cluster = default_cluster()
    try:
        if command == "start":
            start(cluster)
            # Asked for by a person: it stays until cluster-stop, whatever tests do.
            cluster.started_by_tests_file.unlink(missing_ok=True)
            _print_urls(cluster)
        elif command == "stop":
            stop(cluster)
        elif command == "status":
            parts = running_parts(cluster)
            for name, running in parts.items():
                print(f"{name:<10} {'running' if running else 'not running'}")
            return 0 if all(parts.values()) else 3
        elif command == "urls":
            if not all(running_parts(cluster).values()):
                print("cluster: not (all) running: make cluster", file=sys.stderr)
                return 3
            _print_urls(cluster)
        elif command == "stop-standby":
            stop_standby(cluster)
        elif command == "start-standby":
            start_standby(cluster)
        elif command == "pause-replay":
            asyncio.run(pause_replay(cluster.standby.url()))
        elif command == "resume-replay":
            asyncio.run(resume_replay(cluster.standby.url()))
        else:
            print(
                f"cluster: unknown command {command!r} (start, stop, status, urls, "
                "stop-standby, start-standby, pause-replay, resume-replay)",
                file=sys.stderr,
            )
            return 2
    except LocalDbError as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
