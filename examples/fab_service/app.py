"""The fab service: parts, lots, inspections with their defects, artifacts and the
audit trail over HTTP, built from chip_quality_db's pieces only.

    make serve        # uvicorn on 127.0.0.1:8000 against the local database; /docs for OpenAPI

Reads run on the database handle (`Reader`: with DB_REPLICA_URLS set, on a
replica that has seen the request's own writes); writes run in a transaction
that names the caller (`Writer`), so their audit rows say who made them. Errors
arrive as problem details (chip_quality_db.fastapi.add_error_handlers).
"""

import io
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi_offline import FastAPIOffline
from pydantic import Base64Bytes, BaseModel, ConfigDict, Field

from chip_quality_db import (
    CacheStats,
    Handle,
    Health,
    NodeHealth,
    RuleViolationError,
    create_database,
    health_check,
    register_artifact,
    require,
)
from chip_quality_db.fastapi import (
    Connection,
    add_error_handlers,
    changed_since,
    database,
    database_lifespan,
    entity_tag,
    expected_version,
    in_transaction,
    outage_log,
    problem_responses,
)
from chip_quality_db.schemas import (
    ArtifactCreate,
    ArtifactResponse,
    AuditEntryResponse,
    DefectCreate,
    DefectResponse,
    InspectionCreate,
    InspectionResponse,
    LotCreate,
    LotResponse,
    LotUpdate,
    Page,
    PageRequest,
    PartCreate,
    PartResponse,
    column_filter,
)
from chip_quality_queries import artifacts, audit_log, defects, inspections, lots, parts
from chip_quality_queries.models import (
    Inspection,
    InspectionStatus,
    Lot,
    LotStatus,
    Part,
    PartType,
)

from .auth import AuthenticatedRoute, current_user, tokens_from_environment

DESCRIPTION = """\
Every route but `/health` needs a bearer token; the person it was issued to is the
acting user of the request's writes (the audit trail names them).

Errors are problem details (RFC 9457, `application/problem+json`). Rows read carry
an `ETag` (their version); `PATCH` and `DELETE` honour `If-Match` with it and answer
412 when the row changed since. A 201 carries the new row's `Location`.
"""

if TYPE_CHECKING:  # LotUpdate is built when chip_quality_db.schemas is imported
    LotChanges = BaseModel
else:
    LotChanges = LotUpdate

Reader = Annotated[Handle, Depends(database)]
Writer = Annotated[Connection, in_transaction(current_user)]

# Every route but /health needs an authenticated caller. No route is refused to an
# authenticated one (every token may do everything), so none answers 403.
api = APIRouter(
    dependencies=[Depends(current_user)],
    responses=problem_responses(401, 503),
    route_class=AuthenticatedRoute,
)

# The problem responses each kind of route can give, beside 401 and 503 (above):
# 422 wherever a parameter or body is validated, 400 where a JSON body is parsed.
READ = problem_responses(404, 422)
LIST = problem_responses(422)
CREATE = problem_responses(400, 422)


def etag_header(description: str) -> dict[str, Any]:
    return {"ETag": {"description": description, "schema": {"type": "string"}}}


ROW_ETAG = etag_header("the row's version (from its updated_at): send it as If-Match to change it")
LOCATION = {
    "Location": {"description": "where the new row can be read", "schema": {"type": "string"}}
}


def created(read: str, key: str, *writes: str) -> dict[int | str, dict[str, Any]]:
    """The 201 of a create: Location and ETag headers, and OpenAPI links from the new
    row's id to the operations that take it (what stateful tests follow); `writes`
    also get its ETag as If-Match."""
    by_id = {key: "$response.body#/id"}
    links = {read: {"operationId": read, "parameters": by_id}}
    for write in writes:
        versioned = {**by_id, "header.if-match": "$response.header.ETag"}
        links[write] = {"operationId": write, "parameters": versioned}
    return {201: {"headers": {**LOCATION, **ROW_ETAG}, "links": links}}


def path_id(what: str) -> Any:
    return Path(description=f"the {what}'s id (`id` in the {what}'s body)")


IfMatch = Annotated[
    str | None,
    Header(
        description="the ETag of the version this change is meant for: refused with 412 "
        "when the row changed since; without it the change applies to any version"
    ),
]


def located(request: Request, response: Response, route: str, **key: UUID) -> None:
    """The Location of a created row: its path, relative to this service."""
    response.headers["Location"] = str(
        request.app.url_path_for(route, **{name: str(value) for name, value in key.items()})
    )


def tagged(response: Response, version: datetime) -> None:
    response.headers["ETag"] = entity_tag(version)


# -- query parameters of the list endpoints: a page and its filters ------------


class PartQuery(PageRequest):
    part_type: PartType | None = column_filter(Part, "part_type")
    is_active: bool | None = column_filter(Part, "is_active")


class LotQuery(PageRequest):
    part_id: UUID | None = column_filter(Lot, "part_id")
    status: LotStatus | None = column_filter(Lot, "status")
    production_line: str | None = column_filter(Lot, "production_line")


class InspectionQuery(PageRequest):
    lot_id: UUID | None = column_filter(Inspection, "lot_id")
    status: InspectionStatus | None = column_filter(Inspection, "status")


# -- parts ----------------------------------------------------------------------


@api.post(
    "/parts",
    status_code=201,
    tags=["parts"],
    summary="Register a part",
    responses={**problem_responses(400, 409, 422), **created("get_part", "part_id", "delete_part")},
)
async def create_part(
    body: PartCreate, db: Writer, request: Request, response: Response
) -> PartResponse:
    """Register a part; its part_number must be new (409 otherwise). The response
    carries the part's Location and ETag."""
    part = require(await parts.create_part(db, body), "part", body.part_number)
    located(request, response, "get_part", part_id=part.id)
    tagged(response, part.updated_at)
    return PartResponse.model_validate(part, from_attributes=True)


@api.get("/parts", tags=["parts"], summary="List parts", responses=LIST)
async def list_parts(query: Annotated[PartQuery, Query()], db: Reader) -> Page[PartResponse]:
    """One page of parts in creation order, optionally of one type and activity;
    `next_cursor` leads to the next page."""
    after_created_at, after_id = query.after()
    rows = await parts.list_parts(
        db,
        part_type=query.part_type,
        is_active=query.is_active,
        after_created_at=after_created_at,
        after_id=after_id,
        page_size=query.page_size,
    )
    items = [PartResponse.model_validate(row, from_attributes=True) for row in rows]
    return Page[PartResponse].of(items, query.page_size)


@api.get(
    "/parts/{part_id}",
    tags=["parts"],
    summary="Read a part",
    responses={**READ, 200: {"headers": ROW_ETAG}},
)
async def get_part(
    part_id: Annotated[UUID, path_id("part")], db: Reader, response: Response
) -> PartResponse:
    """The part with this id, with its version as ETag."""
    part = require(await parts.get_part(db, part_id=part_id), "part", part_id)
    tagged(response, part.updated_at)
    return PartResponse.model_validate(part, from_attributes=True)


@api.delete(
    "/parts/{part_id}",
    status_code=204,
    tags=["parts"],
    summary="Delete a part",
    responses=problem_responses(404, 409, 412, 422),
)
async def delete_part(
    part_id: Annotated[UUID, path_id("part")], db: Writer, if_match: IfMatch = None
) -> Response:
    """Delete a part that has no lots (a part with lots is refused: 409; retire it
    instead). With If-Match, only the version named: 412 when it changed since."""
    deleted = await parts.delete_part(
        db, part_id=part_id, expected_updated_at=expected_version(if_match)
    )
    if deleted == 0:
        require(await parts.get_part(db, part_id=part_id), "part", part_id)
        raise changed_since("part", part_id)
    return Response(status_code=204)


# -- lots -------------------------------------------------------------------------


@api.post(
    "/lots",
    status_code=201,
    tags=["lots"],
    summary="Register a lot",
    responses={**problem_responses(400, 409, 422), **created("get_lot", "lot_id", "update_lot")},
)
async def create_lot(
    body: LotCreate, db: Writer, request: Request, response: Response
) -> LotResponse:
    """Register a production lot of a part; its lot_number must be new (409), its
    part must exist (422). The response carries the lot's Location and ETag."""
    lot = require(await lots.create_lot(db, body), "lot", body.lot_number)
    located(request, response, "get_lot", lot_id=lot.id)
    tagged(response, lot.updated_at)
    return LotResponse.model_validate(lot, from_attributes=True)


@api.get("/lots", tags=["lots"], summary="List lots", responses=LIST)
async def list_lots(query: Annotated[LotQuery, Query()], db: Reader) -> Page[LotResponse]:
    """One page of lots in creation order, optionally of one part, status and
    production line; `next_cursor` leads to the next page."""
    after_created_at, after_id = query.after()
    rows = await lots.list_lots(
        db,
        lots.ListLotsParams(
            part_id=query.part_id,
            status=query.status,
            production_line=query.production_line,
            after_created_at=after_created_at,
            after_id=after_id,
            page_size=query.page_size,
        ),
    )
    items = [LotResponse.model_validate(row, from_attributes=True) for row in rows]
    return Page[LotResponse].of(items, query.page_size)


@api.get(
    "/lots/{lot_id}",
    tags=["lots"],
    summary="Read a lot",
    responses={**READ, 200: {"headers": ROW_ETAG}},
)
async def get_lot(
    lot_id: Annotated[UUID, path_id("lot")], db: Reader, response: Response
) -> LotResponse:
    """The lot with this id, with its version as ETag."""
    lot = require(await lots.get_lot(db, lot_id=lot_id), "lot", lot_id)
    tagged(response, lot.updated_at)
    return LotResponse.model_validate(lot, from_attributes=True)


@api.patch(
    "/lots/{lot_id}",
    tags=["lots"],
    summary="Change a lot",
    responses={**problem_responses(400, 404, 412, 422), 200: {"headers": ROW_ETAG}},
)
async def update_lot(
    lot_id: Annotated[UUID, path_id("lot")],
    body: LotChanges,
    db: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> LotResponse:
    """Change some fields of a lot; fields left out stay as they are. With If-Match,
    only the version named is changed (412 when the lot changed since), checked by
    the UPDATE itself: two clients that read the same version cannot both write."""
    changes = lots.UpdateLotParams(
        **body.model_dump(exclude_unset=True),
        lot_id=lot_id,
        expected_updated_at=expected_version(if_match),
    )
    lot = await lots.update_lot(db, changes)
    if lot is None:
        require(await lots.get_lot(db, lot_id=lot_id), "lot", lot_id)
        raise changed_since("lot", lot_id)
    tagged(response, lot.updated_at)
    return LotResponse.model_validate(lot, from_attributes=True)


# -- inspections and their defects ------------------------------------------------


class InspectionWithDefects(InspectionResponse):
    """An inspection and its defects, most severe first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **InspectionResponse.model_json_schema()["examples"][0],
                    "defects": DefectResponse.model_json_schema()["examples"],
                }
            ]
        }
    )

    defects: list[DefectResponse] = Field(description="the inspection's defects, most severe first")


@api.post(
    "/inspections",
    status_code=201,
    tags=["inspections"],
    summary="Record an inspection",
    responses={**CREATE, **created("get_inspection", "inspection_id")},
)
async def create_inspection(
    body: InspectionCreate, db: Writer, request: Request, response: Response
) -> InspectionResponse:
    """Record an inspection of a lot (422 when the lot does not exist)."""
    inspection = require(await inspections.create_inspection(db, body), "inspection", body.lot_id)
    located(request, response, "get_inspection", inspection_id=inspection.id)
    tagged(response, inspection.updated_at)
    return InspectionResponse.model_validate(inspection, from_attributes=True)


@api.get("/inspections", tags=["inspections"], summary="List inspections", responses=LIST)
async def list_inspections(
    query: Annotated[InspectionQuery, Query()], db: Reader
) -> Page[InspectionResponse]:
    """One page of inspections in creation order, optionally of one lot and status;
    `next_cursor` leads to the next page."""
    after_created_at, after_id = query.after()
    rows = await inspections.list_inspections(
        db,
        lot_id=query.lot_id,
        status=query.status,
        after_created_at=after_created_at,
        after_id=after_id,
        page_size=query.page_size,
    )
    items = [InspectionResponse.model_validate(row, from_attributes=True) for row in rows]
    return Page[InspectionResponse].of(items, query.page_size)


@api.get(
    "/inspections/{inspection_id}",
    tags=["inspections"],
    summary="Read an inspection with its defects",
    responses={
        **READ,
        200: {"headers": etag_header("changes whenever the inspection or one of its defects does")},
    },
)
async def get_inspection(
    inspection_id: Annotated[UUID, path_id("inspection")], db: Reader, response: Response
) -> InspectionWithDefects:
    """The inspection with all its defects, in one round trip."""
    row = require(
        await inspections.get_inspection_with_defects(db, inspection_id=inspection_id),
        "inspection",
        inspection_id,
    )
    # The body holds the defects too: its tag follows every row in it.
    versions = [row.inspections.updated_at, *(d.updated_at for d in row.defects)]
    response.headers["ETag"] = entity_tag(max(versions), rows=len(versions))
    return InspectionWithDefects.model_validate(
        {**row.inspections.model_dump(), "defects": [d.model_dump() for d in row.defects]}
    )


@api.post(
    "/defects",
    status_code=201,
    tags=["inspections"],
    summary="Record a defect",
    responses={**CREATE, **created("get_defect", "defect_id")},
)
async def create_defect(
    body: DefectCreate, db: Writer, request: Request, response: Response
) -> DefectResponse:
    """Record a defect an inspection found (422 when the inspection does not exist)."""
    defect = require(await defects.create_defect(db, body), "defect", body.inspection_id)
    located(request, response, "get_defect", defect_id=defect.id)
    tagged(response, defect.updated_at)
    return DefectResponse.model_validate(defect, from_attributes=True)


@api.get(
    "/defects/{defect_id}",
    tags=["inspections"],
    summary="Read a defect",
    responses={**READ, 200: {"headers": ROW_ETAG}},
)
async def get_defect(
    defect_id: Annotated[UUID, path_id("defect")], db: Reader, response: Response
) -> DefectResponse:
    """The defect with this id, with its version as ETag."""
    defect = require(await defects.get_defect(db, defect_id=defect_id), "defect", defect_id)
    tagged(response, defect.updated_at)
    return DefectResponse.model_validate(defect, from_attributes=True)


# -- artifacts --------------------------------------------------------------------


class ArtifactUpload(BaseModel):
    """An artifact's record and its file; the file's SHA-256 must be the checksum given."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "artifact": {
                        "inspection_id": "3f1c9a3e-3b8e-4c53-9c8a-2b6f7c1d2e4f",
                        "artifact_type": "image",
                        "storage_uri": "s3://fab-images/insp-1.png",
                        "content_type": "image/png",
                        "size_bytes": 5,
                        "checksum_sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e"
                        "1b161e5c1fa7425e73043362938b9824",
                    },
                    "content": "aGVsbG8=",
                }
            ]
        },
    )

    artifact: ArtifactCreate = Field(description="the artifact's record")
    content: Base64Bytes = Field(description="the file, base64-encoded")


@api.post(
    "/artifacts",
    status_code=201,
    tags=["artifacts"],
    summary="Register an artifact with its file",
    responses={**CREATE, **created("get_artifact", "artifact_id")},
)
async def register(
    upload: ArtifactUpload, db: Writer, request: Request, response: Response
) -> ArtifactResponse:
    """Register an artifact: refused (422) when its file's SHA-256 or size is not the one given.

    A production service would stream the file to object storage; this one only checks it.
    """
    if len(upload.content) != upload.artifact.size_bytes:
        raise RuleViolationError(
            f"size_bytes is {upload.artifact.size_bytes} but the file has "
            f"{len(upload.content)} bytes",
            column="size_bytes",
        )
    artifact = await register_artifact(db, upload.artifact, io.BytesIO(upload.content))
    located(request, response, "get_artifact", artifact_id=artifact.id)
    tagged(response, artifact.updated_at)
    return ArtifactResponse.model_validate(artifact, from_attributes=True)


@api.get(
    "/artifacts/{artifact_id}",
    tags=["artifacts"],
    summary="Read an artifact's record",
    responses={**READ, 200: {"headers": ROW_ETAG}},
)
async def get_artifact(
    artifact_id: Annotated[UUID, path_id("artifact")], db: Reader, response: Response
) -> ArtifactResponse:
    """The artifact's record (not its file), with its version as ETag."""
    artifact = require(
        await artifacts.get_artifact(db, artifact_id=artifact_id), "artifact", artifact_id
    )
    tagged(response, artifact.updated_at)
    return ArtifactResponse.model_validate(artifact, from_attributes=True)


# -- audit trail -------------------------------------------------------------------


class AuditEntry(AuditEntryResponse):
    """One change, with who made it; the hash chain's links in hex."""

    # AuditEntryResponse holds the hashes as raw bytes, which JSON cannot carry as they are.
    model_config = ConfigDict(ser_json_bytes="hex")


@api.get(
    "/audit/{table_name}/{record_id}",
    tags=["audit"],
    summary="The audit history of a record",
    responses=LIST,
)
async def audit_history(
    table_name: Annotated[
        str, Path(description=AuditEntryResponse.model_fields["table_name"].description)
    ],
    record_id: Annotated[
        UUID, Path(description=AuditEntryResponse.model_fields["record_id"].description)
    ],
    db: Reader,
) -> list[AuditEntry]:
    """Every change of one record, oldest first, with who made it (an empty list for
    a record that never changed or does not exist)."""
    rows = await audit_log.audit_history_of_record(db, table_name=table_name, record_id=record_id)
    return [AuditEntry.model_validate(row, from_attributes=True) for row in rows]


# -- health ------------------------------------------------------------------------

health = APIRouter(tags=["health"])


class ReplicaHealth(NodeHealth):
    """A replica as the database handle's monitor last measured it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "postgresql://app:***@replica-1:5432/chip_quality",
                    "role": "replica",
                    "in_rotation": True,
                    "staleness_s": 0.4,
                }
            ]
        }
    )

    url: str = Field(description="the replica's URL, its password masked")
    role: str = Field(description="replica")
    in_rotation: bool = Field(description="whether reads go to it now")
    staleness_s: float | None = Field(
        description="seconds behind the primary at the last check; null when unknown"
    )
    error: str | None = Field(default=None, description="why it is out of rotation")


class CacheReport(CacheStats):
    """The query result cache's counters (docs/caching.md), when the service enabled it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "listening": True,
                    "entries": 1200,
                    "bytes": 950000,
                    "max_entries": 10000,
                    "max_bytes": 67108864,
                    "hits": 48210,
                    "misses": 1310,
                    "evictions": 0,
                    "bypasses": 2,
                    "invalidations": 310,
                    "reconnects": 0,
                }
            ]
        }
    )

    listening: bool = Field(
        description="whether its listening connection is up; false: nothing is served"
    )
    entries: int = Field(description="results kept now")
    bytes: int = Field(description="bytes those results take, as counted against max_bytes")
    max_entries: int = Field(description="DB_CACHE_MAX_ENTRIES")
    max_bytes: int = Field(description="DB_CACHE_MAX_BYTES")
    hits: int = Field(description="calls answered from the cache")
    misses: int = Field(description="calls that went to the database and stored their result")
    evictions: int = Field(description="results pushed out by the bounds")
    bypasses: int = Field(description="calls that could not use the cache (listener away)")
    invalidations: int = Field(description="notifications of committed writes heard")
    reconnects: int = Field(description="times the listener came back, each emptying the cache")


class HealthReport(Health):
    """chip_quality_db's Health, each field described for the OpenAPI document."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ok": True,
                    "latency_ms": 1.8,
                    "server_version": "18.6",
                    "primary": "db-1:5432",
                    "pool_size": 10,
                    "pool_idle": 9,
                    "replicas": [],
                }
            ]
        }
    )

    ok: bool = Field(description="whether the database answered within the timeout")
    latency_ms: float = Field(description="how long it took to answer, in milliseconds")
    server_version: str | None = Field(description="the server's version; null when down")
    primary: str | None = Field(
        default=None,
        description="host:port of the server that answered: the primary now; null when down",
    )
    pool_size: int = Field(description="connections the pool holds")
    pool_idle: int = Field(description="of those, idle ones")
    error: str | None = Field(default=None, description="why it is not ok")
    replicas: list[ReplicaHealth] = Field(  # type: ignore[assignment]
        default=[], description="each replica reads may go to (none without DB_REPLICA_URLS)"
    )
    cache: CacheReport | None = Field(
        default=None, description="the query result cache's counters; null when it is off"
    )


@health.get(
    "/health",
    summary="Whether the database answers",
    responses={503: {"model": HealthReport, "description": "database unreachable"}},
)
async def get_health(db: Reader, request: Request, response: Response) -> HealthReport:
    """Whether the database answers (within 2 s), its version and the pool's size;
    503 when it does not. No token needed."""
    report = await health_check(db, timeout=2.0)
    if not report.ok:
        response.status_code = 503
        # One line per outage (its cause, for the logs), not one per probe.
        outage_log(request).failed(report.error)
        report.error = "the database does not answer"  # the cause is for the logs, not clients
    return HealthReport.model_validate(report.model_dump())


def create_app(
    open_database: Callable[[], Awaitable[Handle]] = create_database,
    tokens: Mapping[str, str] | None = None,
) -> FastAPI:
    """The service. `tokens` maps bearer tokens to the people they were issued to
    (default: FAB_SERVICE_TOKENS); the database opens at startup (default: the
    primary and replicas of the DATABASE_URL / DB_* settings)."""
    app = FastAPIOffline(
        title="Fab quality service",
        summary="Parts, lots, inspections, defects and artifacts of the chip quality platform",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=database_lifespan(open_database),
        # operationId = the function's name: what links name, and what a generated
        # client's functions are called (create_lot, not create_lot_lots_post).
        generate_unique_id_function=lambda route: route.name,
        # /docs and /redoc from the assets of the `docs` extra, never a CDN; Swagger UI
        # would also ask validator.swagger.io about the document.
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.tokens = dict(tokens if tokens is not None else tokens_from_environment())
    add_error_handlers(app)
    app.include_router(health)
    app.include_router(api)
    return app
