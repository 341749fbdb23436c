"""Settings from the environment: defaults, precedence, and errors that name the variable."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import SecretStr

from chip_quality_db import SettingsError, load_settings
from chip_quality_db._connections import ssl_argument as _ssl_argument


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATABASE_URL",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_PASSWORD",
        "DB_POOL_SIZE",
        "DB_MAX_OVERFLOW",
        "DB_SSLMODE",
        "DB_SSLROOTCERT",
        "DB_SSLCERT",
        "DB_SSLKEY",
        "ENVIRONMENT",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_seed_documents() -> None:
    settings = load_settings()
    assert (settings.pool_size, settings.max_overflow, settings.max_size) == (10, 20, 30)
    assert settings.pool_recycle == 3600 and settings.pool_pre_ping is True
    assert settings.dsn() == "postgresql://chip_quality_user@localhost:5432/chip_quality"


def test_parts_build_the_url_with_quoting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_HOST", "db.fab")
    monkeypatch.setenv("DB_PORT", "6432")
    monkeypatch.setenv("DB_USER", "svc")
    monkeypatch.setenv("DB_PASSWORD", "p@ss/word")
    assert load_settings().dsn() == "postgresql://svc:p%40ss%2Fword@db.fab:6432/chip_quality"


def test_database_url_wins_and_the_sqlalchemy_scheme_is_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DB_HOST", "ignored")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@h:5/d")
    assert load_settings().dsn() == "postgresql://u@h:5/d"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DB_POOL_SIZE", "ten"),
        ("DB_POOL_SIZE", "0"),
        ("DB_MAX_OVERFLOW", "-1"),
        ("DB_PORT", "70000"),
        ("DB_POOL_PRE_PING", "maybe"),
        ("DB_SSLMODE", "sometimes"),
        ("ENVIRONMENT", "prod"),
        ("DATABASE_URL", "mysql://u@h/d"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer"])
def test_production_refuses_unencrypted_modes(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DB_SSLMODE", mode)
    with pytest.raises(SettingsError, match="production"):
        load_settings()


def test_production_reads_sslmode_from_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/d?sslmode=disable")
    monkeypatch.setenv("DB_SSLMODE", "verify-full")
    with pytest.raises(SettingsError, match="disable"):
        load_settings()
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/d?sslmode=verify-full")
    assert load_settings().effective_sslmode == "verify-full"


def test_a_client_key_needs_a_certificate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_SSLMODE", "verify-full")
    monkeypatch.setenv("DB_SSLKEY", "/etc/app/client.key")
    with pytest.raises(SettingsError, match="DB_SSLKEY is set without DB_SSLCERT"):
        load_settings()


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer"])
def test_a_client_certificate_needs_tls(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    # Below require, asyncpg may connect without TLS and the certificate would be dropped.
    monkeypatch.setenv("DB_SSLMODE", mode)
    monkeypatch.setenv("DB_SSLCERT", "/etc/app/client.crt")
    with pytest.raises(SettingsError, match="DB_SSLCERT needs DB_SSLMODE require"):
        load_settings()


def test_tls_files_in_the_url_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_SSLROOTCERT", "/env/ca.crt")
    monkeypatch.setenv("DB_SSLCERT", "/env/client.crt")
    monkeypatch.setenv("DB_SSLKEY", "/env/client.key")
    monkeypatch.setenv("DB_SSLMODE", "verify-full")
    settings = load_settings()
    assert (settings.effective_sslrootcert, settings.effective_sslcert) == (
        "/env/ca.crt",
        "/env/client.crt",
    )
    monkeypatch.setenv(
        "DATABASE_URL",
        "postgresql://u@h/d?sslrootcert=/url/ca.crt&sslcert=/url/c.crt&sslkey=/url/c.key",
    )
    settings = load_settings()
    assert (
        settings.effective_sslrootcert,
        settings.effective_sslcert,
        settings.effective_sslkey,
    ) == ("/url/ca.crt", "/url/c.crt", "/url/c.key")


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer", "require"])
def test_modes_without_verification_go_to_asyncpg_by_name(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("DB_SSLMODE", mode)
    assert _ssl_argument(load_settings()) == mode


@pytest.mark.parametrize(("mode", "checks_name"), [("verify-ca", False), ("verify-full", True)])
def test_verification_without_a_root_certificate_uses_the_system_cas(
    monkeypatch: pytest.MonkeyPatch, mode: str, checks_name: bool
) -> None:
    # asyncpg, handed the mode name, would demand ~/.postgresql/root.crt instead.
    monkeypatch.setenv("DB_SSLMODE", mode)
    context = _ssl_argument(load_settings())
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is checks_name


@pytest.mark.parametrize(
    ("variable", "mode"),
    [("DB_SSLROOTCERT", "verify-full"), ("DB_SSLCERT", "verify-full"), ("DB_SSLCERT", "require")],
)
def test_an_unreadable_tls_file_is_a_settings_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, mode: str
) -> None:
    monkeypatch.setenv("DB_SSLMODE", mode)
    monkeypatch.setenv(variable, str(tmp_path / "absent.pem"))
    with pytest.raises(SettingsError, match=variable):
        _ssl_argument(load_settings())


def test_a_malformed_replica_url_names_the_setting_and_the_entry() -> None:
    # Issue #25: the port `5552x` raised a bare "invalid literal for int()".
    with pytest.raises(SettingsError) as caught:
        load_settings(
            DATABASE_URL="postgresql://app@db:5432/chip_quality",
            DB_REPLICA_URLS="postgresql://app@r1:5433/chip_quality,"
            "postgresql://app:s3cret@r2:5552x/chip_quality",
        )
    message = str(caught.value)
    assert "DB_REPLICA_URLS" in message and "'5552x'" in message
    assert "postgresql://app:***@r2:5552x/chip_quality" in message
    assert "s3cret" not in message and "s3cret" not in repr(caught.value.__cause__)


def test_a_replica_entry_with_several_hosts_is_one_replica_per_host() -> None:
    nodes = "postgresql://app@n1:5432,n2:5433,n3:5434/chip_quality?target_session_attrs=read-write"
    settings = load_settings(
        DATABASE_URL=nodes,
        DB_REPLICA_URLS=f"{nodes},postgresql://app@r9:6000/chip_quality",
        DB_PASSWORD="pw",
    )
    assert settings.replica_dsns() == [
        "postgresql://app:pw@n1:5432/chip_quality",
        "postgresql://app:pw@n2:5433/chip_quality",
        "postgresql://app:pw@n3:5434/chip_quality",
        "postgresql://app:pw@r9:6000/chip_quality",
    ]


def test_connecting_has_its_own_time_limit() -> None:
    assert load_settings().connect_timeout == 10
    assert load_settings(DB_CONNECT_TIMEOUT="2.5").connect_timeout == 2.5
    with pytest.raises(SettingsError, match="DB_CONNECT_TIMEOUT"):
        load_settings(DB_CONNECT_TIMEOUT="0")


def test_urls_handed_over_as_secrets_are_checked_alike() -> None:
    """One settings object made from another's values (SecretStr): the same checks,
    and an empty entry of DB_REPLICA_URLS (a doubled comma) is no replica."""
    first = load_settings(DATABASE_URL="postgresql://app@h/chip_quality")
    settings = load_settings(
        DATABASE_URL=first.database_url,
        DB_REPLICA_URLS=SecretStr(
            "postgresql://app@r1/chip_quality,,postgresql://app@r2/chip_quality"
        ),
    )
    assert settings.dsn() == "postgresql://app@h/chip_quality"
    assert settings.replica_dsns() == [
        "postgresql://app@r1/chip_quality",
        "postgresql://app@r2/chip_quality",
    ]
    with pytest.raises(SettingsError, match="expected a postgresql:// URL, got scheme 'mysql'"):
        load_settings(DATABASE_URL=SecretStr("mysql://app@h/chip_quality"))


def test_a_password_in_the_url_and_a_password_file_are_refused_together(tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("from-the-file\n")
    with pytest.raises(
        SettingsError,
        match="DATABASE_URL holds a password and DB_PASSWORD_FILE is set: keep one",
    ):
        load_settings(
            DATABASE_URL="postgresql://app:in-the-url@h/chip_quality",
            DB_PASSWORD_FILE=str(password_file),
        )
