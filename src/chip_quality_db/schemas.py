"""API schemas (Create / Update / Response per entity, and Page[T]) built on the generated models.

The field lists come from the SQL: a Create schema is the generated
`Create<Entity>Params` with validators for what the database cannot say; an
Update schema is `Update<Entity>Params` without the key (it travels in the URL);
a Response schema is the table's row model. Every write these schemas serve
takes a Params model (sqlc.yaml lists the short ones under `params_models`), so
each schema is built the same way, from generated types only. A field whose
Python name is escaped (`format_`) carries the SQL name as its alias, which the
API uses. OpenAPI examples ride along.

Names have one rule, the database's: `name_is_clean(col)` in the CHECK of every
human-entered name and identifier column (migration 20261207000100): a visible
character, and no control, format (zero-width, bidi override) or separator
character but the plain space. These schemas do not trim or clean names on their
own: a second rule here would disagree with the database's (`str.strip()` drops
every Unicode whitespace, the CHECK only spaces), so a name is stored as sent or
refused. A name the CHECK refuses is a `RuleViolationError` naming the constraint
and the field (HTTP 422); once the generator translates `name_is_clean`, the
generated Params models, and so these schemas, refuse it before the round trip,
with the same rule. Checksums are still lowercased: a normalisation of one
spelling of the same value, not a rule.

    body = LotCreate.model_validate_json(request_body)   # 422-style field errors
    lot = await lots.create_lot(conn, body)              # a Create schema is the params model
    return LotResponse.model_validate(lot.model_dump())
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from chip_quality_queries import (
    artifacts,
    defects,
    inference_jobs,
    inspections,
    lots,
    parts,
    reports,
)
from chip_quality_queries.models import (
    Artifact,
    AuditLog,
    Defect,
    InferenceJob,
    Inspection,
    Lot,
    Part,
    Report,
)

T = TypeVar("T")

MAX_PAGE_SIZE = 500
MAX_JSON_BYTES = 64 * 1024  # a specification or metadata document larger than this is a mistake
MAX_JSON_DEPTH = 16


# -- pagination ---------------------------------------------------------------


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    """An opaque cursor for keyset pagination: the last row's (created_at, id)."""
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The (created_at, id) in a cursor; ValueError when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, row_id = json.loads(base64.urlsafe_b64decode(padded))
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment, UUID(row_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValueError("invalid page cursor") from exc


class PageRequest(BaseModel):
    """Query parameters of a list endpoint."""

    model_config = ConfigDict(extra="forbid")

    page_size: int = Field(
        default=50, ge=1, le=MAX_PAGE_SIZE, description=f"rows per page, 1 to {MAX_PAGE_SIZE}"
    )
    cursor: str | None = Field(
        default=None, description="next_cursor of the previous page; none for the first page"
    )

    @field_validator("cursor")
    @classmethod
    def _cursor_is_ours(cls, value: str | None) -> str | None:
        if value is not None:
            decode_cursor(value)
        return value

    def after(self) -> tuple[datetime | None, UUID | None]:
        """`(after_created_at, after_id)` for the generated list queries."""
        if self.cursor is None:
            return None, None
        return decode_cursor(self.cursor)


def _page_examples(schema: dict[str, Any], page: type[BaseModel]) -> None:
    """A page of one item, the item its schema's own example (Page[PartResponse]:
    a PartResponse's)."""
    arguments = page.__pydantic_generic_metadata__["args"]
    item = arguments[0] if arguments else None
    shown = (
        item.model_json_schema().get("examples", [])
        if isinstance(item, type) and issubclass(item, BaseModel)
        else []
    )
    cursor = encode_cursor(datetime(2025, 10, 29, 8, 15, tzinfo=UTC), UUID(int=1))
    schema["examples"] = [{"items": shown[:1], "page_size": 1, "next_cursor": cursor}]


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_cursor` is None on the last page."""

    model_config = ConfigDict(json_schema_extra=_page_examples)

    items: list[T] = Field(description="the page's rows, in the list's order")
    page_size: int = Field(description="the page size asked for")
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )

    @classmethod
    def of(cls, rows: list[Any], page_size: int) -> Page[T]:
        """A page from rows fetched with LIMIT page_size, in their list query's order."""
        last = rows[-1] if len(rows) == page_size and rows else None
        cursor = encode_cursor(*_position(last)) if last is not None else None
        return cls(items=rows, page_size=page_size, next_cursor=cursor)


def _position(row: Any) -> tuple[datetime, UUID]:
    """Where a row stands in its list query's keyset order: (created_at, id); audit
    entries have no created_at and are listed by (recorded_at, id)."""
    moment = row.created_at if hasattr(row, "created_at") else row.recorded_at
    return moment, row.id


# -- shared validation --------------------------------------------------------


def _json_depth(value: object, depth: int = 0) -> int:
    if isinstance(value, dict):
        return max((_json_depth(v, depth + 1) for v in value.values()), default=depth + 1)
    if isinstance(value, list):
        return max((_json_depth(v, depth + 1) for v in value), default=depth + 1)
    return depth


def check_json_document(value: object) -> object:
    """A JSON object of bounded size and depth (what a CHECK on jsonb_typeof cannot bound)."""
    if value is None:
        return value
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    if _json_depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"is nested deeper than {MAX_JSON_DEPTH} levels")
    if len(json.dumps(value, default=str)) > MAX_JSON_BYTES:
        raise ValueError(f"is larger than {MAX_JSON_BYTES} bytes")
    return value


def without(model: type[BaseModel], name: str, exclude: set[str], base: type[BaseModel]) -> Any:
    """A copy of `model`'s fields minus `exclude`, on `base` (which carries validators),
    with the generated model's `check_rows` (its CHECKs over several columns): the
    excluded fields are keys and the acting user, which no such CHECK reads."""
    fields: dict[str, Any] = {
        field_name: (info.annotation, info)
        for field_name, info in model.model_fields.items()
        if field_name not in exclude
    }
    check_rows = getattr(model, "check_rows", None)
    validators: dict[str, Any] = (
        {"check_rows": model_validator(mode="after")(check_rows)} if check_rows else {}
    )
    return create_model(name, __base__=base, __validators__=validators, **fields)


class _Rules(BaseModel):
    """Validators shared by the request schemas; they apply to the fields a schema has."""

    model_config = ConfigDict(extra="forbid", str_max_length=10_000)

    @field_validator(
        "specifications",
        "tolerance_requirements",
        "metadata",
        "parameters",
        "location",
        "results",
        check_fields=False,
    )
    @classmethod
    def _json_document(cls, value: object) -> object:
        return check_json_document(value)

    @field_validator("production_date", check_fields=False)
    @classmethod
    def _not_in_future(cls, value: date | None) -> date | None:
        # A CHECK cannot use the current date (it must be immutable); the API can.
        if value is not None and value > datetime.now(UTC).date():
            raise ValueError("cannot be in the future")
        return value

    @field_validator("checksum_sha256", mode="before", check_fields=False)
    @classmethod
    def _lowercase_hex(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


# -- per entity ---------------------------------------------------------------


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


def _rules_with(config: ConfigDict) -> type[_Rules]:
    """_Rules with extra model configuration, as a base for a built schema."""
    return type("_Rules", (_Rules,), {"model_config": config})


def column_filter(row_model: type[BaseModel], column: str) -> Any:
    """An optional filter field of a list endpoint on `column`, described by the
    column's comment (the row model's field description):

        class LotQuery(PageRequest):
            status: LotStatus | None = column_filter(Lot, "status")
    """
    return Field(default=None, description=row_model.model_fields[column].description)


# The parts of a row the database fills in, for the Response schemas' examples.
_KEY = "3f1c9a3e-3b8e-4c53-9c8a-2b6f7c1d2e4f"
_STORED = {
    "id": _KEY,
    "created_at": "2025-10-29T08:15:00.123456Z",
    "updated_at": "2025-10-29T09:30:00.654321Z",
}


def _row_example(values: dict[str, Any]) -> ConfigDict:
    """A Response schema's example: `values` and the stored parts, validated by the
    schema itself (when the OpenAPI document is built) so it cannot drift from it.
    Give nullable columns a value: FastAPI drops every null from the document it
    serves (examples included), and a required field left out breaks the example."""

    def examples(schema: dict[str, Any], model: type[BaseModel]) -> None:
        row = model.model_validate({**_STORED, **values})
        schema["examples"] = [row.model_dump(mode="json", by_alias=True)]

    return ConfigDict(json_schema_extra=examples)


class PartCreate(parts.CreatePartParams, _Rules):
    model_config = _examples(
        {
            "part_number": "PCB-2025-001",
            "part_name": "High-Density PCB",
            "part_type": "pcb",
            "specifications": {"layers": 8, "thickness": "1.6mm"},
            "tolerance_requirements": {"dimensional": "±0.1mm"},
        }
    )


PartUpdate = without(
    parts.UpdatePartParams,
    "PartUpdate",
    {"part_id"},
    _rules_with(_examples({"revision": "B", "is_active": False})),
)


class PartResponse(Part):
    model_config = _row_example(
        {
            "part_number": "PCB-2025-001",
            "part_name": "High-Density PCB",
            "part_type": "pcb",
            "revision": "A",
            "manufacturer": "Acme Boards",
            "description": "8-layer board of the controller family",
            "specifications": {"layers": 8, "thickness": "1.6mm"},
            "tolerance_requirements": {"dimensional": "±0.1mm"},
            "is_active": True,
        }
    )


class LotCreate(lots.CreateLotParams, _Rules):
    model_config = _examples(
        {
            "lot_number": "LOT-2025-001",
            "part_id": "3f1c9a3e-3b8e-4c53-9c8a-2b6f7c1d2e4f",
            "production_date": "2025-10-29",
            "batch_size": 1000,
            "production_line": "LINE-A",
        }
    )


# The expected version travels in the If-Match header, the key in the URL.
LotUpdate = without(
    lots.UpdateLotParams,
    "LotUpdate",
    {"lot_id", "expected_updated_at"},
    _rules_with(_examples({"quantity_inspected": 40, "quantity_rejected": 3})),
)


class LotResponse(Lot):
    model_config = _row_example(
        {
            "lot_number": "LOT-2025-001",
            "part_id": _KEY,
            "production_date": "2025-10-29",
            "batch_size": 1000,
            "production_line": "LINE-A",
            "status": "active",
            "supplier": "Wafer Co",
            "quantity_inspected": 40,
            "quantity_rejected": 3,
            "notes": "first lot of the new stencil",
            "metadata": {},
        }
    )


class DefectCreate(defects.CreateDefectParams, _Rules):
    model_config = _examples(
        {
            "inspection_id": "3f1c9a3e-3b8e-4c53-9c8a-2b6f7c1d2e4f",
            "defect_type": "scratch",
            "severity": "high",
            "location": {"x": 12.5, "y": 40.1},
            "confidence": "0.9731",
            "detected_by": "aoi-model-v3",
        }
    )


DefectUpdate = without(
    defects.UpdateDefectParams,
    "DefectUpdate",
    {"defect_id"},
    _rules_with(_examples({"severity": "critical", "description": "crack across two pads"})),
)


class DefectResponse(Defect):
    model_config = _row_example(
        {
            "inspection_id": _KEY,
            "defect_type": "scratch",
            "severity": "high",
            "location": {"x": 12.5, "y": 40.1},
            "confidence": "0.9731",
            "description": "scratch across the ground plane",
            "detected_by": "aoi-model-v3",
            "review_status": "confirmed",
            "reviewed_by": "bob@fab1",
            "reviewed_at": "2025-10-29T10:02:00Z",
        }
    )


class ArtifactCreate(artifacts.CreateArtifactParams, _Rules):
    model_config = _examples(
        {
            "inspection_id": "3f1c9a3e-3b8e-4c53-9c8a-2b6f7c1d2e4f",
            "artifact_type": "image",
            "storage_uri": "s3://fab-images/insp-1.png",
            "content_type": "image/png",
            "size_bytes": 4096,
            "checksum_sha256": "0" * 64,
        }
    )


class ArtifactResponse(Artifact):
    model_config = _row_example(
        {
            "inspection_id": _KEY,
            "inference_job_id": "9b2e1f6c-0d4a-4e7b-8c3f-5a6d7e8f9012",
            "artifact_type": "image",
            "storage_uri": "s3://fab-images/insp-1.png",
            "content_type": "image/png",
            "size_bytes": 4096,
            "checksum_sha256": "0" * 64,
            "metadata": {"camera": "AOI-3"},
        }
    )


ArtifactUpdate = without(
    artifacts.UpdateArtifactMetadataParams,
    "ArtifactUpdate",
    {"artifact_id"},
    _rules_with(_examples({"metadata": {"camera": "AOI-3"}})),
)
"""An artifact's metadata: the file itself (URI, size, checksum) never changes."""


# A report's requester is the acting user (generated_by), not part of the request.
ReportCreate = without(
    reports.CreateReportParams,
    "ReportCreate",
    {"generated_by"},
    _rules_with(_examples({"report_type": "defect_pareto", "title": "Week 47", "format": "pdf"})),
)


class ReportResponse(Report):
    model_config = _row_example(
        {
            "report_type": "defect_pareto",
            "status": "pending",
            "title": "Week 47",
            "parameters": {},
            "format": "pdf",
            "output_location": None,
            "generated_by": "alice@fab1",
            "error_message": None,
            "completed_at": None,
        }
    )


_INSPECTION_ROW: dict[str, Any] = {
    "lot_id": _KEY,
    "inspection_type": "visual",
    "status": "completed",
    "station_id": "ST-1",
    "operator_id": "op-7",
    "started_at": "2025-10-29T08:20:00Z",
    "completed_at": "2025-10-29T08:25:00Z",
    "passed": False,
    "results": {"scratches": 1},
    "notes": "cleaned before the second pass",
    "metadata": {},
}
"""An inspection's stored row, for examples (the example service shows it with defects)."""


class InspectionCreate(inspections.CreateInspectionParams, _Rules):
    model_config = _examples(
        {
            "lot_id": "3f1c9a3e-3b8e-4c53-9c8a-2b6f7c1d2e4f",
            "inspection_type": "visual",
            "station_id": "ST-1",
            "operator_id": "op-7",
        }
    )


InspectionUpdate = without(
    inspections.UpdateInspectionParams,
    "InspectionUpdate",
    {"inspection_id"},
    _rules_with(_examples({"station_id": "ST-2", "notes": "re-inspected after cleaning"})),
)


class InspectionResponse(Inspection):
    model_config = _row_example(_INSPECTION_ROW)


class InferenceJobCreate(inference_jobs.CreateInferenceJobParams, _Rules):
    model_config = _examples(
        {
            "inspection_id": "3f1c9a3e-3b8e-4c53-9c8a-2b6f7c1d2e4f",
            "model_name": "defect-detector",
            "model_version": "3.1.0",
            "priority": 7,
        }
    )


class InferenceJobResponse(InferenceJob):
    model_config = _row_example(
        {
            "inspection_id": _KEY,
            "model_name": "defect-detector",
            "model_version": "3.1.0",
            "status": "pending",
            "priority": 7,
            "attempts": 0,
            "worker_id": None,
            "started_at": None,
            "completed_at": None,
            "inference_ms": None,
            "results": {},
            "error_message": None,
        }
    )


class AuditEntryResponse(AuditLog):
    model_config = _row_example(
        {
            "table_name": "lots",
            "record_id": _KEY,
            "action": "update",
            "old_values": {"status": "active"},
            "new_values": {"status": "quarantined"},
            "changed_fields": ["status", "updated_at"],
            "actor": "alice@fab1",
            "session_id": "req-7f3a",
            "txid": 771234,
            "occurred_at": "2025-10-29T09:30:00.654321Z",
            "recorded_at": "2025-10-29T09:30:00.655012Z",
            "seq": 42,
            "prev_hash": bytes(32),
            "row_hash": bytes(range(32)),
        }
    )


__all__ = [
    "ArtifactCreate",
    "ArtifactResponse",
    "ArtifactUpdate",
    "AuditEntryResponse",
    "DefectCreate",
    "DefectResponse",
    "DefectUpdate",
    "InferenceJobCreate",
    "InferenceJobResponse",
    "InspectionCreate",
    "InspectionResponse",
    "InspectionUpdate",
    "LotCreate",
    "LotResponse",
    "LotUpdate",
    "Page",
    "PageRequest",
    "PartCreate",
    "PartResponse",
    "PartUpdate",
    "ReportCreate",
    "ReportResponse",
    "check_json_document",
    "column_filter",
    "decode_cursor",
    "encode_cursor",
]
