"""The fab service: parts, lots, inspections with their defects, artifacts and the
audit trail over HTTP, built from chip_quality_db's pieces only.

    make serve        # uvicorn on 127.0.0.1:8000 against the local database; /docs for OpenAPI

Reads run on the database handle (`Reader`: with DB_REPLICA_URLS set, on a
replica that has seen the request's own writes); writes run in a transaction
that names the caller (`Writer`), so their audit rows say who made them. Errors
arrive as problem details (chip_quality_db.fastapi.add_error_handlers).
"""

import io
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Response
from pydantic import Base64Bytes, BaseModel, ConfigDict, Field

from chip_quality_db import (
    Handle,
    Health,
    RuleViolationError,
    create_database,
    health_check,
    register_artifact,
    require,
)
from chip_quality_db.fastapi import (
    Connection,
    add_error_handlers,
    database,
    database_lifespan,
    in_transaction,
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
)
from chip_quality_queries import artifacts, audit_log, defects, inspections, lots, parts
from chip_quality_queries.models import InspectionStatus, LotStatus, PartType

from .auth import AuthenticatedRoute, current_user, tokens_from_environment

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # LotUpdate is built when chip_quality_db.schemas is imported
    LotChanges = BaseModel
else:
    LotChanges = LotUpdate

Reader = Annotated[Handle, Depends(database)]
Writer = Annotated[Connection, in_transaction(current_user)]

# Every route but /health needs an authenticated caller.
api = APIRouter(
    dependencies=[Depends(current_user)],
    responses=problem_responses(401, 503),
    route_class=AuthenticatedRoute,
)


# -- query parameters of the list endpoints: a page and its filters ------------


class PartQuery(PageRequest):
    part_type: PartType | None = None
    is_active: bool | None = None


class LotQuery(PageRequest):
    part_id: UUID | None = None
    status: LotStatus | None = None
    production_line: str | None = None


class InspectionQuery(PageRequest):
    lot_id: UUID | None = None
    status: InspectionStatus | None = None


# -- parts ----------------------------------------------------------------------


@api.post("/parts", status_code=201, responses=problem_responses(409, 422), tags=["parts"])
async def create_part(body: PartCreate, db: Writer) -> PartResponse:
    part = require(await parts.create_part(db, body), "part", body.part_number)
    return PartResponse.model_validate(part, from_attributes=True)


@api.get("/parts", tags=["parts"], responses=problem_responses(422))
async def list_parts(query: Annotated[PartQuery, Query()], db: Reader) -> Page[PartResponse]:
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


@api.get("/parts/{part_id}", tags=["parts"], responses=problem_responses(404, 422))
async def get_part(part_id: UUID, db: Reader) -> PartResponse:
    part = require(await parts.get_part(db, part_id=part_id), "part", part_id)
    return PartResponse.model_validate(part, from_attributes=True)


@api.delete(
    "/parts/{part_id}", status_code=204, tags=["parts"], responses=problem_responses(404, 409)
)
async def delete_part(part_id: UUID, db: Writer) -> Response:
    """Delete a part that has no lots (a part with lots is refused: 409)."""
    if await parts.delete_part(db, part_id=part_id) == 0:
        require(None, "part", part_id)
    return Response(status_code=204)


# -- lots -------------------------------------------------------------------------


@api.post("/lots", status_code=201, responses=problem_responses(409, 422), tags=["lots"])
async def create_lot(body: LotCreate, db: Writer) -> LotResponse:
    lot = require(await lots.create_lot(db, body), "lot", body.lot_number)
    return LotResponse.model_validate(lot, from_attributes=True)


@api.get("/lots", tags=["lots"], responses=problem_responses(422))
async def list_lots(query: Annotated[LotQuery, Query()], db: Reader) -> Page[LotResponse]:
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


@api.get("/lots/{lot_id}", tags=["lots"], responses=problem_responses(404, 422))
async def get_lot(lot_id: UUID, db: Reader) -> LotResponse:
    lot = require(await lots.get_lot(db, lot_id=lot_id), "lot", lot_id)
    return LotResponse.model_validate(lot, from_attributes=True)


@api.patch("/lots/{lot_id}", tags=["lots"], responses=problem_responses(404, 422))
async def update_lot(lot_id: UUID, body: LotChanges, db: Writer) -> LotResponse:
    """Change some fields of a lot; fields left out stay as they are."""
    changes = lots.UpdateLotParams(**body.model_dump(exclude_unset=True), lot_id=lot_id)
    lot = require(await lots.update_lot(db, changes), "lot", lot_id)
    return LotResponse.model_validate(lot, from_attributes=True)


# -- inspections and their defects ------------------------------------------------


class InspectionWithDefects(InspectionResponse):
    """An inspection and its defects, most severe first."""

    defects: list[DefectResponse]


@api.post("/inspections", status_code=201, responses=problem_responses(422), tags=["inspections"])
async def create_inspection(body: InspectionCreate, db: Writer) -> InspectionResponse:
    inspection = require(await inspections.create_inspection(db, body), "inspection", body.lot_id)
    return InspectionResponse.model_validate(inspection, from_attributes=True)


@api.get("/inspections", tags=["inspections"], responses=problem_responses(422))
async def list_inspections(
    query: Annotated[InspectionQuery, Query()], db: Reader
) -> Page[InspectionResponse]:
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
    "/inspections/{inspection_id}", tags=["inspections"], responses=problem_responses(404, 422)
)
async def get_inspection(inspection_id: UUID, db: Reader) -> InspectionWithDefects:
    """The inspection with all its defects, in one round trip."""
    row = require(
        await inspections.get_inspection_with_defects(db, inspection_id=inspection_id),
        "inspection",
        inspection_id,
    )
    return InspectionWithDefects.model_validate(
        {**row.inspections.model_dump(), "defects": [d.model_dump() for d in row.defects]}
    )


@api.post("/defects", status_code=201, responses=problem_responses(422), tags=["inspections"])
async def create_defect(body: DefectCreate, db: Writer) -> DefectResponse:
    defect = require(await defects.create_defect(db, body), "defect", body.inspection_id)
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

    artifact: ArtifactCreate
    content: Base64Bytes = Field(description="the file, base64-encoded")


@api.post("/artifacts", status_code=201, responses=problem_responses(422), tags=["artifacts"])
async def register(upload: ArtifactUpload, db: Writer) -> ArtifactResponse:
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
    return ArtifactResponse.model_validate(artifact, from_attributes=True)


@api.get("/artifacts/{artifact_id}", tags=["artifacts"], responses=problem_responses(404, 422))
async def get_artifact(artifact_id: UUID, db: Reader) -> ArtifactResponse:
    artifact = require(
        await artifacts.get_artifact(db, artifact_id=artifact_id), "artifact", artifact_id
    )
    return ArtifactResponse.model_validate(artifact, from_attributes=True)


# -- audit trail -------------------------------------------------------------------


class AuditEntry(AuditEntryResponse):
    """One change, with who made it; the hash chain's links in hex."""

    # AuditEntryResponse holds the hashes as raw bytes, which JSON cannot carry as they are.
    model_config = ConfigDict(ser_json_bytes="hex")


@api.get("/audit/{table_name}/{record_id}", tags=["audit"], responses=problem_responses(422))
async def audit_history(table_name: str, record_id: UUID, db: Reader) -> list[AuditEntry]:
    """Every change of one record, oldest first, with who made it."""
    rows = await audit_log.audit_history_of_record(db, table_name=table_name, record_id=record_id)
    return [AuditEntry.model_validate(row, from_attributes=True) for row in rows]


# -- health ------------------------------------------------------------------------

health = APIRouter(tags=["health"])


@health.get("/health", responses={503: {"model": Health, "description": "database unreachable"}})
async def get_health(db: Reader, response: Response) -> Health:
    """Whether the database answers (within 2 s), its version and the pool's size."""
    report = await health_check(db, timeout=2.0)
    if not report.ok:
        response.status_code = 503
        logger.warning("health check failed: %s", report.error)
        report.error = "the database does not answer"  # the cause is for the logs, not clients
    return report


def create_app(
    open_database: Callable[[], Awaitable[Handle]] = create_database,
    tokens: Mapping[str, str] | None = None,
) -> FastAPI:
    """The service. `tokens` maps bearer tokens to the people they were issued to
    (default: FAB_SERVICE_TOKENS); the database opens at startup (default: the
    primary and replicas of the DATABASE_URL / DB_* settings)."""
    app = FastAPI(
        title="Fab quality service",
        summary="Parts, lots, inspections, defects and artifacts of the chip quality platform",
        version="0.1.0",
        lifespan=database_lifespan(open_database),
    )
    app.state.tokens = dict(tokens if tokens is not None else tokens_from_environment())
    add_error_handlers(app)
    app.include_router(health)
    app.include_router(api)
    return app
