"""Where a DSN points, as telemetry reports it (server.address, server.port,
db.namespace) and as connection errors name it ("connecting to h:5432 timed out")."""

from __future__ import annotations

import pytest

from chip_quality_db._connections import Address, address_of, hosts_of


@pytest.mark.parametrize(
    ("dsn", "address", "hosts"),
    [
        ("postgresql://u@h/db", Address("h", 5432, "db"), "h:5432"),
        ("postgresql://u@[::1]:6000/d%20b", Address("::1", 6000, "d b"), "[::1]:6000"),
        # Several hosts: which one asyncpg chose is not in its public API.
        ("postgresql://u@h1:5432,h2:5433/db", Address(None, None, "db"), "h1:5432, h2:5433"),
        # The host in the parameters (a Unix socket): named as such.
        (
            "postgresql:///db?host=/run/postgresql",
            Address(None, None, "db"),
            "the server the URL's parameters name",
        ),
        # A port that is no port (the settings refuse it; telemetry must not fail on it).
        ("postgresql://u@h:99999/db", Address("h", None, "db"), "h:99999"),
    ],
)
def test_a_dsn_names_its_server(dsn: str, address: Address, hosts: str) -> None:
    assert address_of(dsn) == address
    assert hosts_of(dsn) == hosts
