"""FastAPI integration: the database's lifespan, connection and transaction
dependencies, and problem details (RFC 9457) for the project's errors.

Needs the `fastapi` extra (`pip install chip-quality-db[fastapi]`); importing
`chip_quality_db` alone never imports FastAPI.

    app = FastAPI(lifespan=database_lifespan())   # opens the database at startup, closes it after
    add_error_handlers(app)

    async def current_user(credentials = Security(bearer)) -> str: ...   # the app's own auth

    Reader = Annotated[Handle, Depends(database)]     # reads: replicas when there are any
    Writer = Annotated[Connection, in_transaction(current_user)]

    @app.post("/lots", status_code=201, responses=problem_responses(409, 422))
    async def create_lot(body: LotCreate, db: Writer) -> LotResponse: ...

The acting user. `in_transaction(actor)` takes a FastAPI dependency that
returns the authenticated user's name: a security dependency (`Security(...)`,
OAuth2, a session lookup) or `actor_from_state()`, which reads what the app's
authentication middleware left in `request.state`. There is no default: an
actor never comes from a request header unless the app writes a dependency
that trusts one. The name goes into the transaction (`app.actor`), so every
audit row the request writes names that user.

When a transaction ends. Both dependencies are `Depends(..., scope="function")`:
the commit (or rollback) runs when the endpoint returns, before the response is
sent. A COMMIT that fails therefore becomes the error response, never a 2xx
for a write that did not happen, and the connection goes back to the pool
before a slow client has read the response. (FastAPI's default scope runs the
exit code after the response is sent.)

Retries. A RetryableError (serialization failure, deadlock, lock not
available) is answered 503 with Retry-After, never retried inside the service:
its transaction rolled back, so the client may send the request again, but only
the client knows whether that is what it wants, and a retry here would need the
request body buffered and the endpoint's other side effects known to be
repeatable. An endpoint that knows its work may run twice wraps it in
`chip_quality_db.retry` itself (and makes writes idempotent with `run_once`).

The database handle. The lifespan opens `create_database()`: the primary and,
when DB_REPLICA_URLS names any, its replicas; without replicas it is the pool.
Any opener returning a pool or a handle works (`create_pool`, or one with settings
of its own): this module reaches the database through `transaction()`, `acquire()`
and the handle's `close()` only. Read-only generated queries run on the handle
itself (`database`) go to a replica on a cluster (one that has replayed what
this request already committed); reads that must see the request's own open
transaction run on its connection. `pooled_connection()` pins one connection of
the primary, for work that needs a single session.
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' annotations,
# and one of them (Depends(actor)) names a closure variable, which a string cannot.
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any, TypeAlias

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from chip_quality_queries import Connection as QueryConnection

from ._artifacts import ChecksumMismatchError
from ._cluster import Handle, create_database
from ._errors import (
    AlreadyExistsError,
    AuthenticationError,
    DatabaseError,
    IntegrityError,
    InvalidActorError,
    MissingReferenceError,
    NotFoundError,
    QueryTimeoutError,
    RetryableError,
    RuleViolationError,
    StillReferencedError,
    UnavailableError,
)
from ._pool import acquire
from ._transaction import Isolation, transaction

logger = logging.getLogger(__name__)

Connection: TypeAlias = QueryConnection
"""What the dependencies yield: a pooled connection, inside a transaction or not."""

ActorDependency: TypeAlias = Callable[..., str] | Callable[..., Awaitable[str]]
"""A FastAPI dependency returning the acting user's name (it may have dependencies of its own)."""

# -- lifespan and dependencies ------------------------------------------------


def database_lifespan(
    open_database: Callable[[], Awaitable[Handle]] = create_database,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that opens the database at startup (`app.state.database`) and
    closes it at shutdown. The default opens `create_database()` with settings
    from the environment; pass `lambda: create_database(settings)` for others.

    An app with a lifespan of its own enters this one inside it:

        async with database_lifespan()(app):
            yield
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        handle = await open_database()
        app.state.database = handle
        try:
            yield
        finally:
            del app.state.database
            await handle.close()

    return lifespan


async def database(request: Request) -> Handle:
    """Dependency: the app's database handle. Generated queries run on it take a
    connection each (read-only ones a replica's, on a cluster)."""
    return _handle(request)


def _handle(request: Request) -> Handle:
    handle: Handle | None = getattr(request.app.state, "database", None)
    if handle is None:
        raise RuntimeError(
            "the app has no database: create it with FastAPI(lifespan=database_lifespan())"
        )
    return handle


def pooled_connection() -> Any:
    """Dependency: one connection of the primary, outside any transaction, given
    back when the endpoint returns (for work that needs one session)."""

    async def connection(request: Request) -> AsyncIterator[Connection]:
        async with acquire(_handle(request)) as conn:
            yield conn

    return Depends(connection, scope="function")


def in_transaction(
    actor: ActorDependency | None,
    *,
    isolation: Isolation | None = None,
    readonly: bool = False,
) -> Any:
    """Dependency: a connection inside a transaction that names the acting user;
    it commits when the endpoint returns and rolls back when it raises.

    `actor` is a FastAPI dependency returning the authenticated user's name (see
    the module docstring); None only for a transaction that writes nothing
    audited (`readonly=True` reads from one snapshot).
    """
    if actor is None:

        async def anonymous(request: Request) -> AsyncIterator[Connection]:
            async with transaction(
                _handle(request), isolation=isolation, readonly=readonly
            ) as conn:
                yield conn

        return Depends(anonymous, scope="function")

    async def attributed(
        request: Request, name: Annotated[str, Depends(actor)]
    ) -> AsyncIterator[Connection]:
        async with transaction(
            _handle(request), actor=name, isolation=isolation, readonly=readonly
        ) as conn:
            yield conn

    return Depends(attributed, scope="function")


def actor_from_state(
    attribute: str = "user",
    *,
    name: Callable[[Any], str] = str,
    challenge: str = "Bearer",
) -> Callable[[Request], Awaitable[str]]:
    """An actor dependency reading `request.state.<attribute>`, which the app's
    authentication middleware sets for an authenticated request; `name` turns
    that object into the actor's name. Without it the request is refused with
    401 (`WWW-Authenticate: <challenge>`).
    """

    async def actor(request: Request) -> str:
        user = getattr(request.state, attribute, None)
        if user is None:
            raise HTTPException(
                401, "authentication required", headers={"WWW-Authenticate": challenge}
            )
        return name(user)

    return actor


# -- problem details ------------------------------------------------------------


class Problem(BaseModel):
    """An error response (RFC 9457 problem details), sent as application/problem+json."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "tag:chip-quality-db,2025:problem/already-exists",
                    "title": "Already exists",
                    "status": 409,
                    "detail": "create_lot: a row on lots with this lot_number already "
                    "exists (lots_lot_number_key)",
                    "instance": "/lots",
                    "constraint": "lots_lot_number_key",
                    "field": "lot_number",
                }
            ]
        }
    )

    type: str = Field(default="about:blank", description="URI naming the kind of problem")
    title: str = Field(description="short summary of the kind of problem")
    status: int = Field(description="the HTTP status code")
    detail: str | None = Field(default=None, description="what went wrong this time")
    instance: str | None = Field(default=None, description="the request path")
    constraint: str | None = Field(default=None, description="the database constraint refused")
    field: str | None = Field(default=None, description="the field (column) concerned")
    errors: list[dict[str, str]] | None = Field(
        default=None,
        description="each invalid field: field, in, message, type (and constraint, for a CHECK)",
    )


PROBLEM_TYPE_BASE = "tag:chip-quality-db,2025:problem/"
"""Prefix of the project's problem types (tag URIs: names, not links)."""


@dataclass(frozen=True)
class _Kind:
    status: int
    slug: str
    title: str
    detail: str | None = None
    """Fixed text in place of the error's own message (5xx: no internals leave the server)."""
    retry_after: int | None = None


# Looked up along the error's class hierarchy: the most specific class wins.
_KINDS: dict[type[DatabaseError], _Kind] = {
    NotFoundError: _Kind(404, "not-found", "Not found"),
    AlreadyExistsError: _Kind(409, "already-exists", "Already exists"),
    StillReferencedError: _Kind(409, "still-referenced", "Still referenced"),
    IntegrityError: _Kind(409, "conflict", "Conflicts with stored data"),
    MissingReferenceError: _Kind(422, "missing-reference", "Refers to a missing row"),
    RuleViolationError: _Kind(422, "rule-violation", "Breaks a rule"),
    ChecksumMismatchError: _Kind(422, "checksum-mismatch", "Checksum does not match"),
    InvalidActorError: _Kind(422, "invalid-actor", "Invalid acting user"),
    RetryableError: _Kind(
        503,
        "concurrent-change",
        "Concurrent change",
        "the request conflicted with a concurrent one and was rolled back; send it again",
        retry_after=1,
    ),
    UnavailableError: _Kind(
        503,
        "unavailable",
        "Database unavailable",
        "the database cannot be reached now; try again later",
        retry_after=5,
    ),
    QueryTimeoutError: _Kind(
        503, "timeout", "Database timeout", "the database did not answer in time"
    ),
    # A refused login is a server misconfiguration: the client can do nothing about it.
    AuthenticationError: _Kind(500, "internal", "Internal Server Error", "internal error"),
    DatabaseError: _Kind(500, "internal", "Internal Server Error", "internal error"),
}


def _kind_of(error: DatabaseError) -> _Kind:
    for cls in type(error).__mro__:
        if cls in _KINDS:
            return _KINDS[cls]
    return _KINDS[DatabaseError]


def problem_response(
    request: Request, problem: Problem, headers: dict[str, str] | None = None
) -> Response:
    """`problem` as an application/problem+json response to `request` (its path
    is the `instance` unless the problem names one)."""
    body = problem.model_dump(exclude_none=True)
    body.setdefault("instance", request.url.path)
    return JSONResponse(
        body, status_code=problem.status, headers=headers, media_type="application/problem+json"
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _database_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DatabaseError)
    kind = _kind_of(exc)
    public = kind.detail is None
    if kind.status == 500:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    elif kind.status > 500:
        logger.warning("%s %s: %s", request.method, request.url.path, exc)
    problem = Problem(
        type=PROBLEM_TYPE_BASE + kind.slug,
        title=kind.title,
        status=kind.status,
        detail=str(exc) if public else kind.detail,
        constraint=exc.constraint if public else None,
        field=exc.column if public else None,
    )
    headers = {"Retry-After": str(kind.retry_after)} if kind.retry_after else None
    return problem_response(request, problem, headers)


def _field_error(error: Any) -> dict[str, str]:
    location = [str(part) for part in error.get("loc", ())]
    where, path = (location[0], location[1:]) if location else ("body", [])
    context = error.get("ctx") or {}
    found = {
        # A CHECK over several columns fails the body as a whole: name its columns.
        "field": ".".join(path) or str(context.get("columns") or where),
        "in": where,
        "message": str(error.get("msg", "")),
        "type": str(error.get("type", "")),
    }
    if error.get("type") == "check_violation":  # a CHECK the generated model carries
        found["constraint"] = str(context.get("constraint", ""))
    return found


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # The submitted values ("input") stay out: they may be large, or secret.
    errors = [_field_error(error) for error in exc.errors()]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    problem = Problem(
        type=PROBLEM_TYPE_BASE + "invalid-request",
        title="Invalid request",
        status=422,
        detail=f"{first['field']}: {first['message']}{more}",
        constraint=first.get("constraint") or None,
        field=first["field"] or None,
        errors=errors,
    )
    return problem_response(request, problem)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code in (204, 304):  # no body allowed
        return Response(status_code=exc.status_code, headers=headers)
    problem = Problem(
        title=_phrase(exc.status_code),
        status=exc.status_code,
        detail=exc.detail if isinstance(exc.detail, str) else None,
    )
    return problem_response(request, problem, headers)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # Starlette's ServerErrorMiddleware calls this, then re-raises `exc` to the
    # server, which logs it.
    problem = Problem(title="Internal Server Error", status=500, detail="internal error")
    return problem_response(request, problem)


def add_error_handlers(app: FastAPI) -> None:
    """Answer the project's errors, request validation and HTTP errors with problem details.

    NotFoundError 404; AlreadyExistsError, StillReferencedError, other
    IntegrityError 409; MissingReferenceError, RuleViolationError (with
    ChecksumMismatchError), InvalidActorError and request validation 422, naming
    the constraint and the field; RetryableError and UnavailableError 503 with
    Retry-After, QueryTimeoutError 503; AuthenticationError, AuditError and any
    other error 500, with no detail of the cause (it is logged).
    """
    app.add_exception_handler(DatabaseError, _database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem-details bodies for `statuses`."""
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": _phrase(status),
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }


__all__ = [
    "ActorDependency",
    "Connection",
    "Problem",
    "actor_from_state",
    "add_error_handlers",
    "database",
    "database_lifespan",
    "in_transaction",
    "pooled_connection",
    "problem_response",
    "problem_responses",
]
