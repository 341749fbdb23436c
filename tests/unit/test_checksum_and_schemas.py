"""Checksums of artifact files, and the API schemas refusing bad input field by field."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import ValidationError

from chip_quality_db import checksum_matches, sha256_of
from chip_quality_db.schemas import (
    MAX_JSON_BYTES,
    ArtifactUpdate,
    InferenceJobCreate,
    LotCreate,
    LotUpdate,
    Page,
    PageRequest,
    PartCreate,
    PartUpdate,
    ReportCreate,
    check_json_document,
    decode_cursor,
    encode_cursor,
)


def test_sha256_streams_a_file_larger_than_one_chunk(tmp_path: Path) -> None:
    data = bytes(range(256)) * 20_000  # 5 MB, several chunks
    path = tmp_path / "image.bin"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert sha256_of(path) == expected
    assert sha256_of(io.BytesIO(data)) == expected
    assert checksum_matches(path, expected.upper())
    assert not checksum_matches(path, "0" * 64)


def field_errors(exc: ValidationError) -> dict[str, str]:
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in exc.errors()}


def test_a_check_over_several_columns_points_at_the_fields_given() -> None:
    """lots_quantity_inspected_check (0 <= quantity_inspected <= batch_size): -1 breaks
    it whatever batch_size holds. The error is located at the field the caller gave,
    not at the model (hypothesis found the empty location in test_hostile_input)."""
    with pytest.raises(ValidationError) as caught:
        LotUpdate.model_validate({"quantity_inspected": -1})
    (error,) = caught.value.errors()
    assert error["loc"] == ("quantity_inspected",)
    assert error["type"] == "check_violation"
    assert error["msg"] == (
        "breaks lots_quantity_inspected_check: quantity_inspected, batch_size together"
    )
    # lots_quantity_rejected_check (0 <= quantity_rejected <= quantity_inspected),
    # both given: an error at each.
    with pytest.raises(ValidationError) as caught:
        LotUpdate.model_validate({"quantity_inspected": 5, "quantity_rejected": 7})
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [
        (("quantity_rejected",), "check_violation"),
        (("quantity_inspected",), "check_violation"),
    ]


def test_part_create_reports_each_bad_field() -> None:
    with pytest.raises(ValidationError) as caught:
        PartCreate.model_validate(
            {
                "part_number": "PCB-1",
                "part_name": "x",
                "part_type": "pcbx",
                "specifications": [1],
                "surprise": True,
            }
        )
    errors = field_errors(caught.value)
    assert set(errors) == {"part_type", "specifications", "surprise"}
    assert "JSON object" in errors["specifications"]


def test_json_documents_are_bounded_in_depth() -> None:
    deep: dict[str, object] = {}
    node = deep
    for _ in range(40):
        node["n"] = {}
        node = node["n"]  # type: ignore[assignment]
    with pytest.raises(ValidationError, match="nested deeper"):
        PartCreate(part_number="PCB-1", part_name="x", part_type="pcb", specifications=deep)


def test_lot_create_refuses_a_future_production_date_and_keeps_names_as_sent() -> None:
    with pytest.raises(ValidationError) as caught:
        LotCreate.model_validate(
            {
                "lot_number": "LOT-1",
                "part_id": str(uuid4()),
                "production_date": "2999-01-01",
                "batch_size": 10,
                "production_line": "A",
            }
        )
    assert "production_date" in field_errors(caught.value)
    lot = LotCreate.model_validate(
        {
            "lot_number": "LOT-1",
            "part_id": str(uuid4()),
            "production_date": "2025-01-01",
            "batch_size": 10,
            "production_line": "  LINE-A ",
        }
    )
    # No trimming of its own: the database's name_is_clean is the one rule for names.
    assert lot.production_line == "  LINE-A "


def test_update_schema_has_no_key_and_every_field_optional() -> None:
    assert "part_id" not in PartUpdate.model_fields
    assert PartUpdate().model_dump(exclude_none=True) == {}
    with pytest.raises(ValidationError):
        PartUpdate(part_id=uuid4())


def test_schemas_carry_openapi_examples() -> None:
    assert PartCreate.model_json_schema()["examples"][0]["part_number"] == "PCB-2025-001"


def test_cursor_round_trips_and_garbage_is_refused() -> None:
    moment, row_id = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC), uuid4()
    assert decode_cursor(encode_cursor(moment, row_id)) == (moment, row_id)
    for bad in ("", "bm90LWpzb24", encode_cursor(moment, row_id)[:-3] + "@@@"):
        with pytest.raises(ValueError, match="cursor"):
            decode_cursor(bad)
    with pytest.raises(ValidationError, match="cursor"):
        PageRequest(cursor="garbage")
    with pytest.raises(ValidationError):
        PageRequest(page_size=0)


def test_page_has_a_cursor_only_when_full() -> None:
    class Row:
        def __init__(self) -> None:
            self.id, self.created_at = uuid4(), datetime.now(UTC)

    rows = [Row(), Row()]
    full = Page[object].of(rows, page_size=2)
    assert full.next_cursor is not None
    assert decode_cursor(full.next_cursor) == (rows[1].created_at, rows[1].id)
    assert Page[object].of(rows, page_size=3).next_cursor is None


def test_schemas_built_from_a_function_signature_check_each_field() -> None:
    """ReportCreate, InferenceJobCreate, ArtifactUpdate come from the generated functions'
    keyword arguments: required where the function requires, aliased where escaped."""
    report = ReportCreate.model_validate(
        {"report_type": "defect_pareto", "title": " Week 47 ", "format": "pdf"}
    )
    assert report.model_dump() == {
        "report_type": "defect_pareto",
        "title": " Week 47 ",  # as sent: names are the database's to judge
        "parameters": None,
        "format_": "pdf",
    }
    with pytest.raises(ValidationError) as caught:
        ReportCreate.model_validate({"report_type": "nope", "generated_by": "mallory"})
    assert set(field_errors(caught.value)) == {"report_type", "title", "format", "generated_by"}

    job = InferenceJobCreate.model_validate(
        {"inspection_id": str(uuid4()), "model_name": "det", "model_version": "3"}
    )
    assert job.priority is None
    with pytest.raises(ValidationError) as caught:
        InferenceJobCreate.model_validate({"inspection_id": "x", "model_name": "det"})
    assert set(field_errors(caught.value)) == {"inspection_id", "model_version"}

    deep: dict[str, object] = {}
    for _ in range(40):
        deep = {"d": deep}
    with pytest.raises(ValidationError, match="nested deeper"):
        ArtifactUpdate.model_validate({"metadata": deep})
    with pytest.raises(ValidationError) as caught:
        ArtifactUpdate.model_validate({"metadata": {}, "storage_uri": "s3://elsewhere"})
    assert set(field_errors(caught.value)) == {"storage_uri"}


def test_a_cursor_with_a_naive_time_is_not_one_of_ours() -> None:
    forged = base64.urlsafe_b64encode(
        json.dumps(["2026-01-01T00:00:00", str(uuid4())]).encode()
    ).decode()
    with pytest.raises(ValueError, match="invalid page cursor"):
        decode_cursor(forged)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([1, 2], "must be a JSON object"),
        ({"blob": "x" * (MAX_JSON_BYTES + 1)}, f"is larger than {MAX_JSON_BYTES} bytes"),
    ],
)
def test_a_json_document_that_is_no_bounded_object_is_refused(
    document: object, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        check_json_document(document)
    assert check_json_document(None) is None
    assert check_json_document({"ok": [1, {"nested": True}]}) == {"ok": [1, {"nested": True}]}
