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
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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


async def database(request: Request) -> AsyncIterator[Handle]:
    """Dependency: the app's database handle. Generated queries run on it take a
    connection each (read-only ones a replica's, on a cluster). An endpoint that
    returns after using it tells the outage log the database answers again."""
    log = outage_log(request)
    failures = log.failures
    yield _handle(request)
    if log.failures == failures:  # no request failed to reach it meanwhile (this one included)
        log.reached()


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
            outage_log(request).reached()
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
                outage_log(request).reached()
                yield conn

        return Depends(anonymous, scope="function")

    async def attributed(
        request: Request, name: Annotated[str, Depends(actor)]
    ) -> AsyncIterator[Connection]:
        async with transaction(
            _handle(request), actor=name, isolation=isolation, readonly=readonly
        ) as conn:
            outage_log(request).reached()
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


# -- outages ----------------------------------------------------------------------


class OutageLog:
    """One log line when the database stops answering, one when it is back.

    While the database is down every request that needs it fails with 503: a line
    (and a traceback) per request would bury the one fact worth reading in thousands
    of repeats. The first failure is logged (WARNING, its cause without traceback: a
    lost connection is an expected failure, not a bug) and the failures after it
    counted; the first request that reaches the database again logs the outage's
    length and how many requests failed meanwhile (WARNING). One per app
    (`outage_log(request)`); the problem-details handler and the dependencies of this
    module feed it, an endpoint that checks the database itself (a health check) may.
    """

    def __init__(self, log: logging.Logger = logger) -> None:
        self._log = log
        self._since: float | None = None  # monotonic time of the first failure
        self.failed_requests = 0  # in the current outage
        self.failures = 0  # ever: a request that saw it unchanged saw no failure

    @property
    def down(self) -> bool:
        """Whether the last request that needed the database failed to reach it."""
        return self._since is not None

    def failed(self, cause: object) -> None:
        """A request could not reach the database (`cause`: its error, for the log)."""
        if self._since is None:
            self._since = time.monotonic()
            self.failed_requests = 0
            self._log.warning(
                "database unreachable: %s; requests that need it answer 503 until it is back",
                cause,
            )
        self.failed_requests += 1
        self.failures += 1

    def reached(self) -> None:
        """A request reached the database."""
        if self._since is None:
            return
        seconds = time.monotonic() - self._since
        self._since = None
        self._log.warning(
            "database reachable again after %.1f s; %d requests failed meanwhile",
            seconds,
            self.failed_requests,
        )


def outage_log(request: Request) -> OutageLog:
    """The app's OutageLog (made on first use)."""
    state = request.app.state
    found: OutageLog | None = getattr(state, "database_outage", None)
    if found is None:
        found = state.database_outage = OutageLog()
    return found


# -- entity tags (ETag, If-Match) ---------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_VERSION = datetime(1, 1, 1, tzinfo=UTC)


def entity_tag(version: datetime, rows: int = 1) -> str:
    """The ETag of a row whose version is `version` (its `updated_at`): the
    microseconds since 1970 in quotes, a strong tag (`"1733590000123456"`). A body
    made of several rows (an inspection with its defects) passes the newest
    version among them and how many there are, so that removing one changes it too
    (`"1733590000123456-4"`); such a tag is for caches, no If-Match matches it.

    Why updated_at: a trigger sets it to the changing transaction's start time
    whenever a row really changes (an UPDATE that changes nothing keeps it, and so
    the tag, rightly), at microsecond precision; two transactions that change the
    same row one after the other do not start in the same microsecond. No version
    column, so no migration of every table and no second thing to keep in step."""
    micros = (version - _EPOCH) // _MICROSECOND
    return f'"{micros}"' if rows == 1 else f'"{micros}-{rows}"'


def expected_version(if_match: str | None) -> datetime | None:
    """The version an `If-Match` header asks a write to find (pass it as the
    query's `expected_updated_at`): None without the header or for `*` (any
    version). A header that holds no tag this service gives (a weak tag, a
    list, garbage) can match no row: it gives a version no row has, so the write
    changes nothing and the endpoint answers 412, or 404 when the row is gone."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip()
    digits = tag[1:-1] if len(tag) > 2 and tag[0] == tag[-1] == '"' else ""
    if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        return _NO_VERSION
    return _EPOCH + int(digits) * _MICROSECOND


def changed_since(what: str, key: object) -> HTTPException:
    """The 412 an endpoint raises when its conditional write found the row
    changed since the version the client's If-Match named."""
    return HTTPException(
        412,
        f"{what} {key} changed since the version in If-Match: read it again (its ETag) "
        "and send the change against that",
    )


# -- problem details ------------------------------------------------------------


_ALREADY_EXISTS: dict[str, Any] = {
    "type": "tag:chip-quality-db,2025:problem/already-exists",
    "title": "Already exists",
    "status": 409,
    "detail": "create_lot: a row on lots with this lot_number already exists (lots_lot_number_key)",
    "instance": "/lots",
    "constraint": "lots_lot_number_key",
    "field": "lot_number",
}


def _text(description: str) -> dict[str, str]:
    return {"type": "string", "description": description}


_FIELD_ERROR: dict[str, Any] = {
    "type": "object",
    "title": "FieldError",
    "description": "One invalid field of a request.",
    "properties": {
        "field": _text("the field (a dotted path), or the columns of a CHECK over several"),
        "in": _text("where it was sent: body, query, path or header"),
        "message": _text("what is wrong with it"),
        "type": _text("pydantic's error type, e.g. greater_than"),
        "constraint": _text("the CHECK constraint it breaks, when one does"),
    },
    "required": ["field", "in", "message", "type"],
    "examples": [
        {
            "field": "batch_size",
            "in": "body",
            "message": "Input should be greater than 0",
            "type": "greater_than",
        }
    ],
}

_COMPONENTS = "#/components/schemas/"


class Problem(BaseModel):
    """An error response (RFC 9457 problem details), sent as application/problem+json."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ALREADY_EXISTS]})

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
    # The nearest class with a kind: DatabaseError itself, at the latest.
    return next(_KINDS[cls] for cls in type(error).__mro__ if cls in _KINDS)


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
    elif isinstance(exc, UnavailableError):
        outage_log(request).failed(exc)  # one line per outage, not one per request
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
    if any(error.get("type") == "json_invalid" for error in exc.errors()):
        # Not a field's value refused: the body is no JSON at all.
        return problem_response(request, _MALFORMED_BODY)
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


_MALFORMED_BODY = Problem(
    type=PROBLEM_TYPE_BASE + "malformed-body",
    title="Malformed body",
    status=400,
    detail="the request body is not valid JSON",
)


def add_error_handlers(app: FastAPI) -> None:
    """Answer the project's errors, request validation and HTTP errors with problem details.

    A body that is no JSON 400 (`malformed-body`); NotFoundError 404;
    AlreadyExistsError, StillReferencedError, other IntegrityError 409;
    MissingReferenceError, RuleViolationError (with ChecksumMismatchError),
    InvalidActorError and request validation 422, naming the constraint and the
    field; RetryableError and UnavailableError 503 with Retry-After,
    QueryTimeoutError 503; AuthenticationError, AuditError and any other error
    500, with no detail of the cause (it is logged). Also documents the Problem
    schema that `problem_responses` refers to.
    """
    app.add_exception_handler(DatabaseError, _database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    _document_problems(app)


def _example(status: int, slug: str | None, detail: str, **more: Any) -> dict[str, Any]:
    title = _phrase(status) if slug is None else slug.replace("-", " ").capitalize()
    kind = "about:blank" if slug is None else PROBLEM_TYPE_BASE + slug
    return {"type": kind, "title": title, "status": status, "detail": detail, **more}


# What each documented status says, as an example of its body (the handlers above
# decide the bodies; these only show one).
_EXAMPLES: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("The body is not valid JSON", _MALFORMED_BODY.model_dump(exclude_none=True)),
    401: (
        "No valid credentials",
        _example(401, None, "a valid bearer token is required"),
    ),
    403: ("The caller may not do this", _example(403, None, "not allowed")),
    404: (
        "No such row",
        _example(404, "not-found", "lot 3f1c9a3e-3b8e-4c53-9c8a-2b6f7c1d2e4f does not exist"),
    ),
    409: ("Conflicts with stored data", _ALREADY_EXISTS),
    412: (
        "The row changed since the version in If-Match",
        _example(
            412,
            None,
            "lot 3f1c9a3e-3b8e-4c53-9c8a-2b6f7c1d2e4f changed since the version in If-Match: "
            "read it again (its ETag) and send the change against that",
        ),
    ),
    422: (
        "A value is refused (request validation or a rule of the database)",
        _example(
            422,
            "invalid-request",
            "batch_size: Input should be greater than 0",
            field="batch_size",
            errors=[
                {
                    "field": "batch_size",
                    "in": "body",
                    "message": "Input should be greater than 0",
                    "type": "greater_than",
                }
            ],
        ),
    ),
    503: (
        "The database is unreachable, timed out, or a concurrent change rolled the "
        "request back: send it again later (Retry-After)",
        _example(503, "unavailable", "the database cannot be reached now; try again later"),
    ),
}


def _document_problems(app: FastAPI) -> None:
    """Put Problem and FieldError into the app's OpenAPI components, where the
    responses of `problem_responses` refer to them (one schema, not a copy per
    response: a generated client gets one Problem class)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            problem = Problem.model_json_schema()
            # `errors` as it goes on the wire: a list of FieldError objects, absent
            # rather than null (bodies leave out what is None). Code generators read
            # that, where an untyped mapping in a union with null defeats some.
            errors = problem["properties"]["errors"]
            problem["properties"]["errors"] = {
                "type": "array",
                "items": {"$ref": _COMPONENTS + "FieldError"},
                "description": errors["description"],
            }
            schemas["Problem"] = problem
            schemas["FieldError"] = _FIELD_ERROR
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem-details bodies for `statuses`,
    each with an example (and `Retry-After` for 503). The schema is the components'
    Problem, which `add_error_handlers` adds to the app's document."""
    schema = {"$ref": _COMPONENTS + "Problem"}
    found: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description, example = _EXAMPLES.get(status, (_phrase(status), None))
        media: dict[str, Any] = {"schema": schema}
        if example is not None:
            media["example"] = example
        entry: dict[str, Any] = {
            "description": description,
            "content": {"application/problem+json": media},
        }
        if status == 503:
            entry["headers"] = {
                "Retry-After": {
                    "description": "seconds to wait before sending the request again",
                    "schema": {"type": "integer"},
                }
            }
        found[status] = entry
    return found


__all__ = [
    "ActorDependency",
    "Connection",
    "OutageLog",
    "Problem",
    "actor_from_state",
    "add_error_handlers",
    "changed_since",
    "database",
    "database_lifespan",
    "entity_tag",
    "expected_version",
    "in_transaction",
    "outage_log",
    "pooled_connection",
    "problem_response",
    "problem_responses",
]
