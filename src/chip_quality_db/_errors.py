"""The project's exceptions, and the one place that maps asyncpg's errors onto them.

    DatabaseError
    ├── NotFoundError            a row the caller named does not exist
    ├── IntegrityError            the database refused the data
    │   ├── AlreadyExistsError    unique violation (23505)
    │   ├── MissingReferenceError foreign key: the row referred to does not exist (23503)
    │   ├── StillReferencedError  foreign key: other rows still point at this one (23503)
    │   └── RuleViolationError    check, not null, exclusion (23514/23502/23P01), bad value
    ├── RetryableError            serialization failure, deadlock, lock wait (40001/40P01/55P03)
    ├── QueryTimeoutError         statement_timeout (57014)
    ├── UnavailableError          connection lost, server shutting down, pool exhausted
    └── AuditError                a write to an audited table without an actor

Every message names the constraint and, where the server reports it, the
column, in words a service can show its user. The original asyncpg error stays
available as `__cause__`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar

import asyncpg
import orjson
from asyncpg import exceptions as pg


class DatabaseError(Exception):
    """Base of every error this layer raises."""

    def __init__(
        self,
        message: str,
        *,
        constraint: str | None = None,
        table: str | None = None,
        column: str | None = None,
        sqlstate: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.constraint = constraint
        self.table = table
        self.column = column
        self.sqlstate = sqlstate


class NotFoundError(DatabaseError):
    """A row the caller named does not exist."""


class IntegrityError(DatabaseError):
    """The database refused the data."""


class AlreadyExistsError(IntegrityError):
    """A unique constraint: a row with this key exists already."""


class MissingReferenceError(IntegrityError):
    """A foreign key: the row this one refers to does not exist."""


class StillReferencedError(IntegrityError):
    """A foreign key: other rows still refer to the row being deleted or changed."""


class RuleViolationError(IntegrityError):
    """A check or not-null constraint, or a value the column's type cannot hold."""


class RetryableError(DatabaseError):
    """A conflict with a concurrent transaction: running the transaction again can succeed."""


class QueryTimeoutError(DatabaseError):
    """The statement ran longer than statement_timeout and was cancelled."""


class UnavailableError(DatabaseError):
    """The database cannot be reached now: connection lost, server down, or pool exhausted."""


class AuditError(DatabaseError):
    """A write to an audited table was refused: no acting user was set (app.actor)."""


T = TypeVar("T")


def require(row: T | None, what: str, key: object) -> T:
    """The row a query found, or NotFoundError naming what was looked for.

    lot = require(await lots.get_lot(conn, lot_id=lot_id), "lot", lot_id)
    """
    if row is None:
        raise NotFoundError(f"{what} {key} does not exist")
    return row


# `Key (part_number)=(PCB-1) already exists.` -> part_number
_DETAIL_KEY = re.compile(r"Key \(([^)]*)\)=")


def _column_of(error: pg.PostgresError) -> str | None:
    column = getattr(error, "column_name", None)
    if column:
        return str(column)
    match = _DETAIL_KEY.search(getattr(error, "detail", None) or "")
    return match.group(1) if match else None


def translate(error: BaseException) -> DatabaseError | None:
    """The project's error for a driver error, or None when it is not a database error."""
    if isinstance(error, DatabaseError):
        return error
    if isinstance(error, pg.PostgresError):
        return _translate_postgres(error)
    if isinstance(error, UnicodeError | RecursionError | OverflowError | orjson.JSONEncodeError):
        # A value that could not be encoded for the server: lone surrogates, JSON
        # nested deeper than the encoder goes (COPY raises these without wrapping).
        return RuleViolationError(f"invalid value: {error}")
    # Before OSError: TimeoutError is one. asyncpg raises it when no pooled connection frees up.
    if isinstance(error, TimeoutError):
        return UnavailableError("no database connection became free in time (pool timeout)")
    if isinstance(error, asyncpg.InterfaceError | ConnectionError | OSError):
        if isinstance(error, pg.InterfaceError) and "another operation" in str(error):
            return None  # a programming error, not an outage
        return UnavailableError(f"the database connection was lost: {error}")
    if isinstance(error, pg.InternalClientError):
        # asyncpg issue 784: a connection broken mid-protocol surfaces as an internal error.
        return UnavailableError(f"the database connection broke: {error}")
    return None


def _translate_postgres(error: pg.PostgresError) -> DatabaseError:
    sqlstate = error.sqlstate or ""
    constraint = getattr(error, "constraint_name", None)
    table = getattr(error, "table_name", None)
    column = _column_of(error)
    where = f" on {table}" if table else ""
    fields = {"constraint": constraint, "table": table, "column": column, "sqlstate": sqlstate}

    if isinstance(error, pg.UniqueViolationError):
        what = f"{column} " if column else ""
        return AlreadyExistsError(
            f"a row{where} with this {what}already exists ({constraint})", **fields
        )
    if isinstance(error, pg.ForeignKeyViolationError):
        detail = error.detail or ""
        if "is still referenced" in detail:
            return StillReferencedError(
                f"the row is still referenced from {table} ({constraint}): "
                "delete or reassign those rows first",
                **fields,
            )
        return MissingReferenceError(
            f"{column or 'a referenced row'} refers to a row that does not exist ({constraint})",
            **fields,
        )
    if isinstance(error, pg.NotNullViolationError):
        return RuleViolationError(f"{column} is required{where}", **fields)
    if isinstance(error, pg.CheckViolationError | pg.ExclusionViolationError):
        return RuleViolationError(
            f"the row{where} breaks the rule {constraint}: {error.message}", **fields
        )
    if sqlstate == "CQ001":  # raised by the audit trigger: no app.actor set
        return AuditError(error.message, **fields)
    if isinstance(error, pg.RaiseError) and sqlstate == "P0001":
        return RuleViolationError(error.message, **fields)
    if sqlstate.startswith("22"):  # data exceptions: out of range, invalid text, bad encoding
        return RuleViolationError(f"invalid value: {error.message}", **fields)
    if isinstance(
        error, pg.SerializationError | pg.DeadlockDetectedError | pg.LockNotAvailableError
    ):
        return RetryableError(
            f"the transaction conflicted with another one and can be retried: {error.message}",
            **fields,
        )
    if isinstance(error, pg.QueryCanceledError):
        return QueryTimeoutError(f"the query was cancelled: {error.message}", **fields)
    if sqlstate.startswith(("08", "57P")):  # connection exceptions, admin/crash shutdown
        return UnavailableError(f"the database is unavailable: {error.message}", **fields)
    return DatabaseError(error.message or type(error).__name__, **fields)


@contextmanager
def mapped_errors() -> Iterator[None]:
    """Raise the project's error in place of asyncpg's (the original is the cause)."""
    try:
        yield
    except Exception as exc:
        raise_mapped(exc)


def raise_mapped(error: Exception) -> NoReturn:
    """Raise the project's error for `error` (with it as the cause), or `error` itself
    when it already is one or is no database error."""
    mapped = translate(error)
    if mapped is None or mapped is error:
        raise error
    raise mapped from error
