"""A password given in any way the settings accept appears in no output the project
makes: settings' repr/str/dump, error messages and their chained causes, log
records, CLI output (the local database's lines too), health() results."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from chip_quality_db import (
    DatabaseError,
    SettingsError,
    create_pool,
    health_check,
    load_settings,
)
from chip_quality_db._connections import connect

SECRET = "Zq7-s3cret-pw"  # recognisable, and survives URL quoting unchanged
ENVIRONMENT = ("DATABASE_URL", "DB_PASSWORD", "DB_PASSWORD_FILE", "DB_USER", "DB_HOST", "DB_PORT")


def with_auth(url: str, userinfo: str, port: int | None = None, query: str | None = None) -> str:
    parts = urlsplit(url)
    host = f"{parts.hostname}:{port or parts.port}"
    return urlunsplit(
        parts._replace(
            netloc=f"{userinfo}@{host}", query=query if query is not None else parts.query
        )
    )


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def ways(
    server_url: str, tmp_path: Path, port: int | None = None
) -> Iterator[tuple[str, dict[str, str]]]:
    """Each way the settings take a password, as environment variables."""
    secret_file = tmp_path / "db-password"
    secret_file.write_text(SECRET + "\n")
    yield "url", {"DATABASE_URL": with_auth(server_url, f"postgres:{SECRET}", port)}
    yield (
        "url query",
        {
            "DATABASE_URL": with_auth(
                server_url, "postgres", port, f"sslmode=disable&password={SECRET}"
            )
        },
    )
    yield (
        "DB_PASSWORD",
        {"DATABASE_URL": with_auth(server_url, "postgres", port), "DB_PASSWORD": SECRET},
    )
    yield (
        "DB_PASSWORD_FILE",
        {
            "DATABASE_URL": with_auth(server_url, "postgres", port),
            "DB_PASSWORD_FILE": str(secret_file),
        },
    )
    parts = urlsplit(server_url)
    yield (
        "DB_* parts",
        {
            "DB_HOST": parts.hostname or "",
            "DB_PORT": str(port or parts.port),
            "DB_USER": "postgres",
            "DB_PASSWORD": SECRET,
            "DB_NAME": parts.path.lstrip("/"),
        },
    )


def rendered(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def test_the_password_reaches_the_driver_but_no_rendering_of_the_settings(
    server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for way, variables in ways(server_url, tmp_path):
        with monkeypatch.context() as env:
            for name, value in variables.items():
                env.setenv(name, value)
            settings = load_settings()
            assert SECRET in settings.dsn(), way  # the driver gets it
            for text in (
                repr(settings),
                str(settings),
                settings.model_dump_json(),
                str(settings.model_dump()),
                settings.display_url,
            ):
                assert SECRET not in text, (way, text)
            assert "***" in settings.display_url, way


async def test_live_sessions_and_failed_connections_show_no_password(
    server_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    closed_port = 1  # nothing listens there: a failed connection
    for port in (None, closed_port):
        for way, variables in ways(server_url, tmp_path, port):
            with monkeypatch.context() as env:
                for name, value in variables.items():
                    env.setenv(name, value)
                settings = load_settings(DB_POOL_TIMEOUT=3)
                if port is None:  # the local server trusts: the password is sent and ignored
                    pool = await create_pool(settings)
                    try:
                        health = await health_check(pool)
                        assert health.ok and SECRET not in health.model_dump_json(), way
                    finally:
                        await pool.close()
                    continue
                for opener in (create_pool, connect):
                    with pytest.raises(DatabaseError) as caught:
                        await opener(settings)  # type: ignore[operator]
                    assert SECRET not in rendered(caught.value), (way, rendered(caught.value))
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://bob:{SECRET}@db.example/x",
        f"postgres://bob:{SECRET}@db.example:notaport/x",
        f"postgres://bob:{SECRET}@db.example/x?sslmode=bogus",
    ],
)
def test_a_bad_setting_names_the_variable_not_the_password(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(DATABASE_URL=url)
    assert "DATABASE_URL" in str(caught.value)
    assert SECRET not in rendered(caught.value)


def test_a_password_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"DB_PASSWORD_FILE: cannot read .*missing"):
        load_settings(DB_PASSWORD_FILE=str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(SettingsError, match="is empty"):
        load_settings(DB_PASSWORD_FILE=str(empty))
    with pytest.raises(SettingsError, match="both set"):
        load_settings(DB_PASSWORD_FILE=str(empty), DB_PASSWORD="x")


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_cli_and_local_database_output_show_no_password(server_url: str, tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT and not k.startswith("DB_")}
    cli = str(Path(sys.executable).with_name("chip-quality-db"))
    localdb = [sys.executable, "-m", "chip_quality_dev.localdb"]
    outputs = []
    for port in (None, 1):
        for way, variables in ways(server_url, tmp_path, port):
            env = {**base, **variables}
            commands = [
                [cli, "health"],
                [cli, "audit", "export-head"],
                [*localdb, "url"],
                [*localdb, "run", "--", "true"],
            ]
            for command in commands:
                done = run(command, env)
                outputs.append((way, port, command[-1], done.returncode, done.stdout + done.stderr))
    failed_migration = run(
        ["dbmate", "--no-dump-schema", "-d", str(tmp_path / "none"), "up"],
        {**base, "DATABASE_URL": with_auth(server_url, f"nobody:{SECRET}", 1)},
    )
    outputs.append(
        (
            "dbmate",
            1,
            "up",
            failed_migration.returncode,
            failed_migration.stdout + failed_migration.stderr,
        )
    )
    leaked = [o for o in outputs if SECRET in o[4]]
    assert not leaked, leaked
    # The commands really ran: failures at the closed port, successes at the server.
    assert any(code != 0 for _, port, _, code, _ in outputs if port == 1)
    assert all(
        code == 0 for _, port, cmd, code, _ in outputs if port is None and cmd in ("url", "true")
    )
    assert any("***" in text for *_, text in outputs)


def test_the_local_database_reveals_the_password_only_when_asked(server_url: str) -> None:
    base = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT and not k.startswith("DB_")}
    env = {**base, "DATABASE_URL": with_auth(server_url, f"postgres:{SECRET}")}
    shown = run([sys.executable, "-m", "chip_quality_dev.localdb", "url", "--with-password"], env)
    assert SECRET in shown.stdout
