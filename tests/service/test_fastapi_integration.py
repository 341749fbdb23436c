"""chip_quality_db.fastapi on small apps of its own: each error's HTTP mapping, the
transaction ending before the response is sent, the actor from the request's
authenticated user, the lifespan, and FastAPI staying an optional extra."""

import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI, HTTPException, Request, Response

from chip_quality_db import (
    AlreadyExistsError,
    AuditError,
    AuthenticationError,
    ChecksumMismatchError,
    DatabaseError,
    IntegrityError,
    InvalidActorError,
    MissingReferenceError,
    NotFoundError,
    Pool,
    QueryTimeoutError,
    RetryableError,
    RuleViolationError,
    StillReferencedError,
    UnavailableError,
    acquire,
    create_pool,
    load_settings,
)
from chip_quality_db.fastapi import (
    Connection,
    actor_from_state,
    add_error_handlers,
    database_lifespan,
    in_transaction,
    pooled_connection,
)
from chip_quality_queries import audit_log, parts
from chip_quality_queries.models import PartType

TYPE_BASE = "tag:chip-quality-db,2025:problem/"
INTERNALS = "db.internal:5432 password=hunter2"


def client_of(app: FastAPI, *, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def opener(db_url: str, **settings: object) -> Callable[[], Awaitable[Pool]]:
    async def open_database() -> Pool:
        return await create_pool(load_settings(DATABASE_URL=db_url, **settings))

    return open_database


@dataclass
class User:
    """What an authentication middleware leaves in request.state."""

    name: str


async def fixed_actor() -> str:
    return "dana@fab3"


def part_params(number: str) -> parts.CreatePartParams:
    return parts.CreatePartParams(part_number=number, part_name="Test", part_type=PartType.PCB)


# -- the mapping, error by error (no database needed) --------------------------------

MAPPING: list[tuple[DatabaseError, int, str, str | None]] = [
    (NotFoundError("lot 1 does not exist"), 404, "not-found", None),
    (AlreadyExistsError("dup", constraint="parts_part_number_key", column="part_number"), 409,
     "already-exists", None),
    (StillReferencedError("still", constraint="lots_part_id_fkey"), 409, "still-referenced", None),
    (IntegrityError("fk from hand-written SQL", constraint="x_fkey"), 409, "conflict", None),
    (MissingReferenceError("missing", constraint="lots_part_id_fkey", column="part_id"), 422,
     "missing-reference", None),
    (RuleViolationError("rule", constraint="lots_batch_size_check", column="batch_size"), 422,
     "rule-violation", None),
    (ChecksumMismatchError("mismatch", column="checksum_sha256"), 422, "checksum-mismatch", None),
    (InvalidActorError("actor holds U+200B", sqlstate="CQ002"), 422, "invalid-actor", None),
    (RetryableError(f"deadlock {INTERNALS}", sqlstate="40P01"), 503, "concurrent-change", "1"),
    (UnavailableError(f"connection lost {INTERNALS}"), 503, "unavailable", "5"),
    (QueryTimeoutError(f"cancelled {INTERNALS}", sqlstate="57014"), 503, "timeout", None),
    (AuthenticationError(f"login refused {INTERNALS}", sqlstate="28P01"), 500, "internal", None),
    (AuditError(f"no actor {INTERNALS}", sqlstate="CQ001"), 500, "internal", None),
    (DatabaseError(f"syntax error {INTERNALS}", constraint="secret_c", table="t"), 500,
     "internal", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("error", "status", "kind", "retry_after"),
    MAPPING,
    ids=[type(case[0]).__name__ for case in MAPPING],
)
async def test_each_error_becomes_its_problem(
    error: DatabaseError, status: int, kind: str, retry_after: str | None
) -> None:
    app = FastAPI()
    add_error_handlers(app)

    @app.get("/fail")
    async def fail() -> None:
        raise error

    async with client_of(app) as client:
        response = await client.get("/fail")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers.get("retry-after") == retry_after
    body = response.json()
    assert body["type"] == TYPE_BASE + kind
    assert body["status"] == status
    assert body["instance"] == "/fail"
    if status < 500:  # the client's own problem: the error's words, constraint and field
        assert body["detail"] == str(error)
        assert body.get("constraint") == error.constraint
        assert body.get("field") == error.column
    else:  # the server's: nothing of the cause leaves it
        assert INTERNALS not in response.text
        assert str(error) not in response.text
        assert set(body) == {"type", "title", "status", "detail", "instance"}


async def test_other_exceptions_and_http_errors_are_problems_too() -> None:
    app = FastAPI()
    add_error_handlers(app)

    @app.get("/bug")
    async def bug() -> None:
        raise KeyError(INTERNALS)

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, "short and stout", headers={"X-Pot": "1"})

    @app.get("/same")
    async def same() -> None:
        raise HTTPException(304)

    @app.get("/gone")
    async def gone() -> None:
        raise HTTPException(499, "client closed the request")  # nginx's, not in HTTPStatus

    async with client_of(app, raise_app_exceptions=False) as client:
        bug_response = await client.get("/bug")
        teapot_response = await client.get("/teapot")
        gone_response = await client.get("/gone")
        not_allowed = await client.post("/teapot")
        unchanged = await client.get("/same")
    assert bug_response.status_code == 500
    assert bug_response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "internal error",
        "instance": "/bug",
    }
    assert INTERNALS not in bug_response.text
    assert teapot_response.status_code == 418
    assert teapot_response.headers["x-pot"] == "1"
    assert teapot_response.json()["title"] == "I'm a Teapot"
    assert teapot_response.json()["detail"] == "short and stout"
    assert gone_response.status_code == 499
    assert (gone_response.json()["title"], gone_response.json()["detail"]) == (
        "Error",
        "client closed the request",
    )
    assert not_allowed.status_code == 405
    assert not_allowed.headers["content-type"] == "application/problem+json"
    assert not_allowed.headers["allow"] == "GET"
    assert unchanged.status_code == 304
    assert unchanged.content == b""


def test_importing_chip_quality_db_does_not_import_fastapi() -> None:
    code = "import sys, chip_quality_db; sys.exit('fastapi' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# -- against the database --------------------------------------------------------------


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[FastAPI]:
    """An app on a fresh database: pool of at most two connections, 0.3 s to get one."""
    app = FastAPI(
        lifespan=database_lifespan(
            opener(db_url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=1, DB_POOL_TIMEOUT=0.3)
        )
    )
    add_error_handlers(app)
    async with app.router.lifespan_context(app):
        yield app


Writer = Annotated[Connection, in_transaction(fixed_actor)]
Reader = Annotated[Connection, pooled_connection()]
AsUser = Annotated[Connection, in_transaction(actor_from_state(name=lambda user: user.name))]
Snapshot = Annotated[Connection, in_transaction(None, readonly=True)]


async def test_a_failing_commit_is_the_response_not_a_success(app: FastAPI) -> None:
    """The transaction ends before the response is sent: a constraint checked at
    COMMIT turns the response into its error, and nothing is written."""
    pool: Pool = app.state.database
    await pool.execute(
        "CREATE TABLE part_notes (id uuid PRIMARY KEY, part_id uuid NOT NULL"
        " REFERENCES parts (id) DEFERRABLE INITIALLY DEFERRED)"
    )

    @app.post("/notes")
    async def add_note(db: Writer) -> dict[str, bool]:
        await db.execute("INSERT INTO part_notes VALUES ($1, $2)", uuid4(), uuid4())
        return {"ok": True}  # the foreign key is checked only at COMMIT

    async with client_of(app) as client:
        response = await client.post("/notes")
    assert response.status_code == 409, response.text
    assert response.json()["type"] == TYPE_BASE + "conflict"
    assert response.json()["constraint"] == "part_notes_part_id_fkey"
    assert await pool.fetchval("SELECT count(*) FROM part_notes") == 0


async def test_an_endpoint_that_raises_rolls_its_writes_back(app: FastAPI) -> None:
    @app.post("/half")
    async def half(db: Writer) -> None:
        await parts.create_part(db, part_params("PCB-HALF"))
        raise HTTPException(400, "changed my mind")

    @app.post("/whole")
    async def whole(db: Writer) -> dict[str, str]:
        part = await parts.create_part(db, part_params("PCB-WHOLE"))
        assert part is not None
        return {"id": str(part.id)}

    async with client_of(app) as client:
        assert (await client.post("/half")).status_code == 400
        created = await client.post("/whole")
    assert created.status_code == 200
    pool: Pool = app.state.database
    assert await parts.get_part_by_number(pool, part_number="PCB-HALF") is None
    entries = await audit_log.audit_history_of_record(
        pool, table_name="parts", record_id=UUID(created.json()["id"])
    )
    assert [entry.actor for entry in entries] == ["dana@fab3"]


async def test_a_locked_row_is_503_with_retry_after(app: FastAPI) -> None:
    """Lock not available (55P03) is a RetryableError: 503, Retry-After, rolled back."""
    pool: Pool = app.state.database
    part = await parts.create_part(pool, part_params("PCB-LOCKED"))
    assert part is not None

    @app.put("/parts/{part_id}/touch")
    async def touch(part_id: UUID, db: Writer) -> None:
        await db.execute("SELECT 1 FROM parts WHERE id = $1 FOR UPDATE NOWAIT", part_id)

    async with acquire(pool) as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM parts WHERE id = $1 FOR UPDATE", part.id)
        async with client_of(app) as client:
            response = await client.put(f"/parts/{part.id}/touch")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"] == TYPE_BASE + "concurrent-change"


async def test_no_free_connection_is_503_with_retry_after(app: FastAPI) -> None:
    pool: Pool = app.state.database

    @app.get("/count")
    async def count(db: Reader) -> int | None:
        return await parts.count_parts(db)

    async with acquire(pool), acquire(pool), client_of(app) as client:  # both connections taken
        response = await client.get("/count")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["detail"] == "the database cannot be reached now; try again later"
    async with client_of(app) as client:
        assert (await client.get("/count")).json() == 0


async def test_the_actor_comes_from_the_authenticated_user(app: FastAPI) -> None:
    @app.middleware("http")
    async def login(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Any:
        # Stands in for real authentication: the test's header is the verified identity.
        if name := request.headers.get("X-Test-Login"):
            request.state.user = User(name)
        return await call_next(request)

    @app.post("/parts/{number}")
    async def create(number: str, db: AsUser) -> dict[str, str]:
        part = await parts.create_part(db, part_params(number))
        assert part is not None
        return {"id": str(part.id)}

    async with client_of(app) as client:
        created = await client.post("/parts/PCB-CAROL", headers={"X-Test-Login": "carol@fab2"})
        anonymous = await client.post("/parts/PCB-NOBODY")
    assert created.status_code == 200, created.text
    entries = await audit_log.audit_history_of_record(
        app.state.database, table_name="parts", record_id=UUID(created.json()["id"])
    )
    assert [entry.actor for entry in entries] == ["carol@fab2"]
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json()["detail"] == "authentication required"


async def test_a_read_only_transaction_needs_no_actor(app: FastAPI) -> None:
    @app.get("/snapshot")
    async def snapshot(db: Snapshot) -> list[bool]:
        return [db.is_in_transaction(), await db.fetchval("SHOW transaction_read_only") == "on"]

    async with client_of(app) as client:
        assert (await client.get("/snapshot")).json() == [True, True]


async def test_the_lifespan_opens_and_closes_the_database(db_url: str) -> None:
    app = FastAPI(lifespan=database_lifespan(opener(db_url, DB_POOL_SIZE=1)))
    add_error_handlers(app)

    @app.get("/count")
    async def count(db: Reader) -> int | None:
        return await parts.count_parts(db)

    async with app.router.lifespan_context(app):
        pool: Pool = app.state.database
        async with client_of(app) as client:
            assert (await client.get("/count")).json() == 0
    assert pool.is_closing()
    assert not hasattr(app.state, "database")

    async with client_of(app, raise_app_exceptions=False) as client:  # not started
        response = await client.get("/count")
    assert response.status_code == 500
    assert response.json()["detail"] == "internal error"
