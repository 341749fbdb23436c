"""The project's exceptions, and the one place that maps asyncpg's errors onto them.

    DatabaseError
    ├── NotFoundError            a row the caller named does not exist
    ├── IntegrityError            the database refused the data
    │   ├── AlreadyExistsError    unique violation (23505)
    │   ├── MissingReferenceError foreign key: the row referred to does not exist (23503)
    │   ├── StillReferencedError  foreign key: other rows still point at this one (23503;
    │   │                         a RESTRICT action on PostgreSQL 18+: 23001 with a constraint)
    │   └── RuleViolationError    check, not null, exclusion (23514/23502/23P01), bad value
    ├── RetryableError            serialization failure, deadlock, lock wait (40001/40P01/55P03)
    ├── QueryTimeoutError         statement_timeout (57014)
    ├── UnavailableError          connection lost, server shutting down, pool exhausted,
    │                             a write reaching a standby (25006: the primary moved)
    ├── AuthenticationError       login refused (28xxx), server certificate not verified
    └── AuditError                a write to an audited table without an actor (CQ001)
        └── InvalidActorError     an actor that names nobody visible (CQ002)

Classes are decided by SQLSTATE and the error's structured fields, never by
its message, which the server translates (`lc_messages`). A generated function
hands its failures here with what it knows (`QueryFailure`: its name, its
parameters in $N order, the table it writes), so every message names the query,
and the parameter, column or constraint concerned. The original error stays
available as `__cause__`.
"""

from __future__ import annotations

import itertools
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar

import asyncpg
import orjson
from asyncpg import exceptions as pg

from chip_quality_queries import QueryFailure, server_info
from chip_quality_queries._runtime import MissingRowError


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


class AuthenticationError(DatabaseError):
    """The login was refused (SQLSTATE class 28: password, client certificate, pg_hba.conf),
    or the server's TLS certificate did not verify. Not retryable: a setting is wrong."""


class AuditError(DatabaseError):
    """A write to an audited table was refused: no acting user was set (app.actor)."""


class InvalidActorError(AuditError):
    """The acting user is blank, or holds invisible characters (controls, bidi
    overrides, zero-width or other format characters, separators other than a space)."""


T = TypeVar("T")


def require(row: T | None, what: str, key: object) -> T:
    """The row a query found, or NotFoundError naming what was looked for.

    lot = require(await lots.get_lot(conn, lot_id=lot_id), "lot", lot_id)
    """
    if row is None:
        raise NotFoundError(f"{what} {key} does not exist")
    return row


# Encoder errors a value can raise on its way to the server. asyncpg wraps those
# of bind parameters in its client-side DataError; COPY raises them bare.
_ENCODING_ERRORS = (
    UnicodeError,
    RecursionError,
    ArithmeticError,  # OverflowError; decimal.InvalidOperation for text given as numeric
    AttributeError,  # COPY's uuid codec handed something that is no UUID
    orjson.JSONEncodeError,
    ValueError,
    TypeError,
)


def translate(error: BaseException, failure: QueryFailure | None = None) -> DatabaseError | None:
    """The project's error for a driver error, or None when it is not a database error.

    `failure` is what the generated function that ran the query knows; without it
    (SQL run by hand) messages name what the error itself says.
    """
    if isinstance(error, MissingRowError):  # a row its SQL always yields was suppressed
        return DatabaseError(str(error))
    if isinstance(error, DatabaseError):
        driver_error = error.__cause__
        if failure is not None and isinstance(driver_error, Exception):
            # Mapped already on the way up (the pool's own query methods map what
            # hand-written SQL runs); the generated function knows more: map again.
            return translate(driver_error, failure) or error
        return error
    if isinstance(error, pg.PostgresError):
        if _is_client_side(error):
            return _unsendable(error, failure)
        return _translate_postgres(error, failure)
    if isinstance(error, UnicodeError | RecursionError | OverflowError | orjson.JSONEncodeError):
        return _unsendable(error, failure)
    if failure is not None and isinstance(error, _ENCODING_ERRORS):
        # Inside a generated function only the driver call is guarded: a ValueError
        # or TypeError there is a value its codec refused (COPY raises them bare).
        return _unsendable(error, failure)
    if isinstance(error, ssl.SSLCertVerificationError):  # before OSError: it is one
        return AuthenticationError(
            _in(failure, f"the server's TLS certificate was refused: {error.verify_message}")
        )
    # Before OSError: TimeoutError is one. asyncpg raises it when no pooled connection frees up.
    if isinstance(error, TimeoutError):
        return UnavailableError(
            _in(failure, "no database connection became free in time (pool timeout)")
        )
    if isinstance(error, asyncpg.InterfaceError | ConnectionError | OSError):
        if isinstance(error, pg.InterfaceError) and "another operation" in str(error):
            return None  # a programming error, not an outage
        return UnavailableError(_in(failure, f"the database connection was lost: {error}"))
    if isinstance(error, pg.InternalClientError):
        # asyncpg issue 784: a connection broken mid-protocol surfaces as an internal error.
        return UnavailableError(_in(failure, f"the database connection broke: {error}"))
    return None


def query_error(error: Exception, failure: QueryFailure) -> Exception:
    """The error handler of the generated queries (installed by chip_quality_db):
    the project's error for `error`, or `error` itself when it is no database error."""
    return translate(error, failure) or error


def _in(failure: QueryFailure | None, message: str) -> str:
    return f"{failure.query}: {message}" if failure else message


def _is_client_side(error: pg.PostgresError) -> bool:
    # asyncpg raises its DataError for a bind parameter it cannot encode without
    # asking the server: no message and no severity from a server, the encoder's
    # error as the cause.
    return type(error) is pg.DataError and error.message is None


def _number_after(text: str, marker: str) -> int | None:
    """The number right after `marker` in `text` (asyncpg's own, untranslated wording)."""
    _, found, rest = text.partition(marker)
    digits = "".join(itertools.takewhile(str.isdigit, rest))
    return int(digits) if found and digits else None


def _unsendable(error: BaseException, failure: QueryFailure | None) -> RuleViolationError:
    """A value the driver could not encode for the server: name its parameter."""
    text = str(error)
    # asyncpg: "invalid input for query argument $5: ... in element #3 of executemany()".
    number = _number_after(text, "query argument $")
    row = _number_after(text, "element #")
    reason = str(error.__cause__) if error.__cause__ is not None else text
    name: str | None = None
    if failure is not None:
        if number is not None:
            name = failure.param(number)
        elif failure.column is not None:
            name = failure.param(failure.column + 1)
            row = failure.row
    where = f"parameter {name}" if name else (f"parameter ${number}" if number else "a value")
    if row is not None:
        where += f" of row {row}"
    return RuleViolationError(
        _in(failure, f"{where} cannot be sent to the database: {reason or type(error).__name__}"),
        column=name,
        sqlstate="22000",
    )


def _parameter_of(error: pg.PostgresError, failure: QueryFailure | None) -> str | None:
    """The parameter a server error is about: the column it names, when the query has
    a parameter of that name, or the `$N` of PostgreSQL's bind context."""
    if failure is None:
        return None
    column = getattr(error, "column_name", None)
    if column and column in failure.params:
        return str(column)
    # "unnamed portal parameter $2": the context is translated, `$N` is not.
    number = _number_after(getattr(error, "context", None) or "", "$")
    return failure.param(number) if number is not None else None


def _which_value(parameter: str | None, failure: QueryFailure | None) -> str:
    """The words naming the value a data exception is about."""
    if parameter:
        return f"parameter {parameter}"
    if failure is not None and len(failure.params) == 1:
        return f"parameter {failure.params[0]}"
    if failure is not None and failure.params:
        # The server reports no field for errors such as a negative LIMIT or a
        # numeric overflow in an assignment: the candidates are all we know.
        return f"one of the parameters ({', '.join(failure.params)}; the server does not say which)"
    return "a value"


def _still_referenced(error: pg.PostgresError, failure: QueryFailure | None) -> bool | None:
    """Whether a foreign-key violation means "other rows still refer to this one"
    (True) or "the row referred to does not exist" (False); None when unknown.

    PostgreSQL reports both with the same SQLSTATE and fields, and the referencing
    table as `table_name`; only the translated text differs. The statement decides:
    a delete can only orphan rows, an insert can only miss its target, and an
    update misses its target when it wrote the referencing table itself.
    """
    if failure is None:
        return None
    if failure.statement == "delete":
        return True
    if failure.statement == "insert":
        return False
    if failure.statement in ("update", "merge") and failure.table:
        return failure.table != getattr(error, "table_name", None)
    return None


def _translate_postgres(error: pg.PostgresError, failure: QueryFailure | None) -> DatabaseError:
    sqlstate = error.sqlstate or ""
    constraint = getattr(error, "constraint_name", None)
    table = getattr(error, "table_name", None)
    column = getattr(error, "column_name", None) or constraint_columns(
        getattr(error, "schema_name", None), table, constraint
    )
    parameter = _parameter_of(error, failure)
    where = f" on {table}" if table else ""
    fields = {"constraint": constraint, "table": table, "column": column, "sqlstate": sqlstate}
    server_says = error.message or type(error).__name__

    def message(text: str) -> str:
        return _in(failure, text)

    if isinstance(error, pg.UniqueViolationError):
        what = f"this {column}" if column else "these values"
        return AlreadyExistsError(
            message(f"a row{where} with {what} already exists ({constraint})"), **fields
        )

    def still_referenced() -> StillReferencedError:
        return StillReferencedError(
            message(
                f"the row is still referenced from {table} ({constraint}): "
                "delete or reassign those rows first"
            ),
            **fields,
        )

    if sqlstate == "23001" and constraint:
        # A foreign key's RESTRICT action: PostgreSQL 18 reports it as restrict_violation
        # (23001) naming the constraint, 15 to 17 as foreign_key_violation (23503). Only
        # a foreign key names a constraint with 23001 (the project's triggers name none).
        return still_referenced()
    if isinstance(error, pg.ForeignKeyViolationError):
        still = _still_referenced(error, failure)
        if still:
            return still_referenced()
        if still is False:
            return MissingReferenceError(
                message(
                    f"{column or 'a referenced row'} refers to a row that does not exist "
                    f"({constraint})"
                ),
                **fields,
            )
        return IntegrityError(
            message(f"the foreign key {constraint}{where} refused the change: {server_says}"),
            **fields,
        )
    if isinstance(error, pg.NotNullViolationError):
        return RuleViolationError(message(f"{column} is required{where}"), **fields)
    if isinstance(error, pg.CheckViolationError | pg.ExclusionViolationError):
        about = f" ({column})" if column else ""
        # The rule itself, as the catalog defines it, rather than the server's sentence.
        rule = constraint_definition(getattr(error, "schema_name", None), table, constraint)
        return RuleViolationError(
            message(f"the row{where} breaks the rule {constraint}{about}: {rule or server_says}"),
            **fields,
        )
    if sqlstate == "23001":  # restrict_violation: created_at changed, audit_log edited
        about = f" ({column})" if column else ""
        return RuleViolationError(
            message(f"the change{where}{about} is not allowed: {server_says}"), **fields
        )
    if sqlstate == "CQ001":  # raised by the audit trigger: no app.actor set
        return AuditError(message(server_says), **fields)
    if sqlstate == "CQ002":  # raised by the audit trigger: app.actor names nobody visible
        return InvalidActorError(message(server_says), **fields)
    if isinstance(error, pg.RaiseError) and sqlstate == "P0001":
        return RuleViolationError(message(server_says), **fields)
    if sqlstate.startswith("22"):  # data exceptions: out of range, invalid text, bad encoding
        if parameter:
            fields["column"] = column or parameter
        return RuleViolationError(
            message(f"{_which_value(parameter, failure)} is invalid: {server_says}"), **fields
        )
    if isinstance(
        error, pg.SerializationError | pg.DeadlockDetectedError | pg.LockNotAvailableError
    ):
        return RetryableError(
            message(
                f"the transaction conflicted with another one and can be retried: {server_says}"
            ),
            **fields,
        )
    if isinstance(error, pg.QueryCanceledError):
        return QueryTimeoutError(message(f"the query was cancelled: {server_says}"), **fields)
    if sqlstate == "25006":
        # read_only_sql_transaction: the server is a standby now (a demoted primary, or a
        # pooler still pointing at one). An outage while the primary moves, not bad data:
        # the pool discards its connections to that server (Pool._failed) and a retry
        # finds the new primary. (A transaction the caller itself set READ ONLY gets this
        # too; that is a programming error, and retrying it does not help.)
        return UnavailableError(
            message(f"the server is read-only (a standby: the primary has moved): {server_says}"),
            **fields,
        )
    if sqlstate.startswith("28"):  # invalid authorization: password, certificate, pg_hba
        return AuthenticationError(message(f"the login was refused: {server_says}"), **fields)
    if sqlstate.startswith(("08", "57P")):  # connection exceptions, admin/crash shutdown
        return UnavailableError(message(f"the database is unavailable: {server_says}"), **fields)
    return DatabaseError(message(server_says), **fields)


# The columns and the definition of each constraint, read from the catalog when a
# pool opens: the server names the constraint of a unique or foreign-key violation
# but its column only in the (translated) detail text, and says what a CHECK means
# only in its own (translated) sentence.
_constraint_columns: dict[tuple[str, str, str], str] = {}
_constraint_definitions: dict[tuple[str, str, str], str] = {}


async def load_constraint_columns(
    conn: asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record],
) -> None:
    """Remember which columns each constraint of the database covers, and its rule."""
    for row in await server_info.constraint_columns(conn):
        key = (row.schema_name, row.table_name, row.constraint_name)
        _constraint_columns[key] = row.columns
        _constraint_definitions[key] = row.definition


def constraint_definition(
    schema: str | None, table: str | None, constraint: str | None
) -> str | None:
    """A constraint's definition (`CHECK (...)`), as `load_constraint_columns` found it."""
    if not (schema and table and constraint):
        return None
    return _constraint_definitions.get((schema, table, constraint))


def constraint_columns(schema: str | None, table: str | None, constraint: str | None) -> str | None:
    """The column(s) of a constraint, as `load_constraint_columns` found them."""
    if not (schema and table and constraint):
        return None
    return _constraint_columns.get((schema, table, constraint))


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
