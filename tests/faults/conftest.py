"""Fault tests: what reaches callers when things go wrong, and what is lost (nothing).

Each test adds what it measured to FIGURES; `make test-faults` prints them at the end.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from chip_quality_db import Pool, create_pool, load_settings
from chip_quality_dev import localdb

FIGURES: dict[str, Any] = {}
ERRORS_SURFACED: Counter[str] = Counter()


def record(name: str, value: Any) -> None:
    FIGURES[name] = value


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES and not ERRORS_SURFACED:
        return
    terminalreporter.section("fault figures")
    for name, value in FIGURES.items():
        terminalreporter.write_line(f"{name:<48} {value}")
    if ERRORS_SURFACED:
        surfaced = ", ".join(f"{k} {v}" for k, v in sorted(ERRORS_SURFACED.items()))
        terminalreporter.write_line(f"{'errors surfaced to callers, by type':<48} {surfaced}")


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[Pool]:
    pool = await create_pool(
        load_settings(DATABASE_URL=db_url, DB_POOL_SIZE=2, DB_MAX_OVERFLOW=3, DB_POOL_TIMEOUT=2)
    )
    yield pool
    # A leak would make close() wait for ever: bound it, the assertion is in the test.
    try:
        await asyncio.wait_for(pool.close(), timeout=10)
    except TimeoutError:
        pool.terminate()
        raise


@pytest.fixture
def local_server(server_url: str) -> localdb.LocalServer:
    """The project's own server, which these tests may restart; refused on any other."""
    server = localdb.default_server()
    if not localdb.is_running(server) or server.url().split("/")[2] != server_url.split("/")[2]:
        pytest.fail("restart tests need the project's local server: run `make test-faults`")
    return server


# A server that answers in German: the server wheels' binaries carry no translations,
# Debian's PostgreSQL 15 does.
PG15_BINDIR = Path("/usr/lib/postgresql/15/bin")
PG15_GERMAN_MESSAGES = Path("/usr/share/locale/de/LC_MESSAGES/postgres-15.mo")
GERMAN_LOCALE = "de_DE.UTF-8"


@pytest.fixture(scope="session")
def german_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A superuser URL to a database on a PostgreSQL 15 server of its own whose messages
    are German (lc_messages=de_DE.UTF-8), stopped at the end of the session.

    The OS need not have the locale: it is compiled with localedef into a folder of
    the test's own, which the server finds through LOCPATH.
    """
    needed = [PG15_BINDIR / name for name in ("initdb", "pg_ctl", "postgres")]
    missing = [str(path) for path in (*needed, PG15_GERMAN_MESSAGES) if not path.exists()]
    if missing:
        pytest.fail(
            "a German-speaking server needs Debian's PostgreSQL 15 with its message "
            f"translations (apt-get install postgresql-15); missing: {', '.join(missing)}"
        )
    localedef = shutil.which("localedef")
    if localedef is None:
        pytest.fail("a German-speaking server needs localedef (Debian: package libc-bin)")
    root = tmp_path_factory.mktemp("german")
    locales = root / "locales"
    locales.mkdir(mode=0o755)
    made = subprocess.run(
        [localedef, "--no-archive", "-i", "de_DE", "-f", "UTF-8", str(locales / GERMAN_LOCALE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if not (locales / GERMAN_LOCALE / "LC_MESSAGES").is_dir():
        pytest.fail(
            f"localedef could not make {GERMAN_LOCALE} (exit {made.returncode}; it needs "
            f"/usr/share/i18n/locales/de_DE and the UTF-8 charmap): {made.stderr.strip()}"
        )
    with localdb.extra_server(
        root / "server",
        bindir=PG15_BINDIR,
        settings={"lc_messages": GERMAN_LOCALE},
        environment={"LOCPATH": str(locales)},
    ) as server:
        yield server.url()
