"""Errors raised on the client side, before or without any server answer, arrive as
the project's errors (or stay what they are when they are programming errors).

The server's own errors are translated against a real server (tests/runtime,
tests/faults); these the driver and the operating system raise in the client, so a
service's handler sees an outage as UnavailableError whatever the way it broke.
"""

from __future__ import annotations

import asyncpg
import pytest
from asyncpg import exceptions as pg

from chip_quality_db import UnavailableError, translate
from chip_quality_db._errors import constraint_columns, constraint_definition


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (TimeoutError(), "no database connection became free in time (pool timeout)"),
        (ConnectionResetError("reset by peer"), "the database connection was lost: reset by peer"),
        (
            asyncpg.InterfaceError("connection is closed"),
            "the database connection was lost: connection is closed",
        ),
        # asyncpg issue 784: a connection broken mid-protocol is an internal error.
        (
            pg.InternalClientError("unexpected message type"),
            "the database connection broke: unexpected message type",
        ),
    ],
)
def test_a_broken_or_busy_connection_is_unavailable(error: Exception, message: str) -> None:
    mapped = translate(error)
    assert isinstance(mapped, UnavailableError)
    assert str(mapped) == message


def test_two_operations_on_one_connection_stay_a_programming_error() -> None:
    """Not an outage: retrying would not help, the code must change."""
    busy = asyncpg.InterfaceError("cannot perform operation: another operation is in progress")
    assert translate(busy) is None
    assert translate(KeyError("x")) is None


def test_a_constraint_not_named_in_full_has_no_columns_or_definition() -> None:
    for schema, table, constraint in [(None, "t", "c"), ("public", None, "c"), ("public", "t", "")]:
        assert constraint_columns(schema, table, constraint) is None
        assert constraint_definition(schema, table, constraint) is None
