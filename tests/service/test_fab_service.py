"""Every endpoint of the example service, over HTTP against real PostgreSQL: the
happy paths, each error as problem details, the caller in the audit trail, and
a walk through the pages of a list."""

import base64
import hashlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.service.conftest import BOB, EVE, LONG, bearer

PROBLEM = "application/problem+json"
TYPE_BASE = "tag:chip-quality-db,2025:problem/"


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def make_part(client: httpx.AsyncClient, number: str = "PCB-2025-001") -> dict[str, Any]:
    return await created(
        client,
        "/parts",
        {
            "part_number": number,
            "part_name": "High-Density PCB",
            "part_type": "pcb",
            "specifications": {"layers": 8, "thickness": "1.6mm"},
        },
    )


async def make_lot(
    client: httpx.AsyncClient, part_id: str, number: str = "LOT-2025-001"
) -> dict[str, Any]:
    return await created(
        client,
        "/lots",
        {
            "lot_number": number,
            "part_id": part_id,
            "production_date": "2025-10-29",
            "batch_size": 1000,
            "production_line": "LINE-A",
        },
    )


async def make_inspection(client: httpx.AsyncClient, lot_id: str) -> dict[str, Any]:
    return await created(
        client,
        "/inspections",
        {"lot_id": lot_id, "inspection_type": "visual", "station_id": "ST-1"},
    )


def problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    """The problem details of `response`, checked for the RFC 9457 members."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == (TYPE_BASE + kind if kind != "about:blank" else kind)
    assert body["status"] == status
    assert body["title"]
    assert body["instance"] == response.request.url.path
    return body


# -- health and authentication ----------------------------------------------------


async def test_health_reports_the_database_without_a_token(service: FastAPI) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service), base_url="http://fab.test"
    ) as anonymous:
        response = await anonymous.get("/health")
    assert response.status_code == 200
    health = response.json()
    assert health["ok"] is True
    assert health["server_version"]
    assert health["pool_size"] >= 1
    assert health["error"] is None


async def test_health_is_503_when_the_database_is_gone(
    service: FastAPI, client: httpx.AsyncClient
) -> None:
    await service.state.database.close()  # as if the server went away
    response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["ok"] is False
    assert response.json()["error"] == "the database does not answer"


async def test_requests_without_a_valid_token_are_refused(client: httpx.AsyncClient) -> None:
    missing = await client.get("/parts", headers={"Authorization": ""})
    assert problem(missing, 401, "about:blank")["detail"] == "a valid bearer token is required"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await client.post("/parts", headers=bearer("guessed"), json={})
    problem(wrong, 401, "about:blank")
    # A header naming a user is no identity: only the token decides who writes.
    spoofed = await client.get("/parts", headers={"Authorization": "", "X-User": "alice@fab1"})
    problem(spoofed, 401, "about:blank")
    # Who is calling is decided before the body is read: a body that does not even
    # parse gets 401 without a token, 400 with one.
    unparsable = {"Content-Type": "application/json"}
    anonymous = await client.post(
        "/parts", headers={"Authorization": "", **unparsable}, content="{"
    )
    problem(anonymous, 401, "about:blank")
    signed_in = await client.post("/parts", headers=unparsable, content="{")
    problem(signed_in, 400, "malformed-body")


# -- the happy paths ----------------------------------------------------------------


async def test_part_lot_inspection_and_defects_round_trip(client: httpx.AsyncClient) -> None:
    part = await make_part(client)
    assert part["specifications"] == {"layers": 8, "thickness": "1.6mm"}
    assert (await client.get(f"/parts/{part['id']}")).json() == part

    lot = await make_lot(client, part["id"])
    assert lot["status"] == "active"
    assert (await client.get(f"/lots/{lot['id']}")).json() == lot

    changed = await client.patch(f"/lots/{lot['id']}", json={"status": "quarantined"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "quarantined"
    assert changed.json()["batch_size"] == 1000  # fields left out stay as they were

    inspection = await make_inspection(client, lot["id"])
    assert inspection["status"] == "pending"
    for severity in ("low", "critical"):
        await created(
            client,
            "/defects",
            {
                "inspection_id": inspection["id"],
                "defect_type": "scratch",
                "severity": severity,
                "location": {"x": 1.5, "y": 2.0},
                "confidence": "0.9731",
                "detected_by": "aoi-model-v3",
            },
        )
    with_defects = (await client.get(f"/inspections/{inspection['id']}")).json()
    assert with_defects["id"] == inspection["id"]
    assert [d["severity"] for d in with_defects["defects"]] == ["critical", "low"]
    assert with_defects["defects"][0]["confidence"] == "0.9731"

    listed = (await client.get("/inspections", params={"lot_id": lot["id"]})).json()
    assert [i["id"] for i in listed["items"]] == [inspection["id"]]
    lots = (await client.get("/lots", params={"status": "quarantined"})).json()
    assert [x["id"] for x in lots["items"]] == [lot["id"]]

    deleted = await client.delete(f"/parts/{(await make_part(client, 'PCB-SPARE'))['id']}")
    assert deleted.status_code == 204


async def test_artifact_is_registered_when_its_checksum_is_the_files(
    client: httpx.AsyncClient,
) -> None:
    lot = await make_lot(client, (await make_part(client))["id"])
    inspection = await make_inspection(client, lot["id"])
    content = b"\x89PNG fake image bytes"
    record = {
        "inspection_id": inspection["id"],
        "artifact_type": "image",
        "storage_uri": "s3://fab-images/insp-1.png",
        "content_type": "image/png",
        "size_bytes": len(content),
        "checksum_sha256": hashlib.sha256(content).hexdigest().upper(),  # case does not matter
    }
    upload = {"artifact": record, "content": base64.b64encode(content).decode()}
    artifact = await created(client, "/artifacts", upload)
    assert artifact["checksum_sha256"] == hashlib.sha256(content).hexdigest()
    assert (await client.get(f"/artifacts/{artifact['id']}")).json() == artifact

    tampered = base64.b64encode(content + b"!").decode()
    mismatch = problem(
        await client.post(
            "/artifacts",
            json={"artifact": {**record, "size_bytes": len(content) + 1}, "content": tampered},
        ),
        422,
        "checksum-mismatch",
    )
    assert mismatch["field"] == "checksum_sha256"
    assert "does not match the file" in mismatch["detail"]

    short = problem(
        await client.post("/artifacts", json={"artifact": record, "content": tampered}),
        422,
        "rule-violation",
    )
    assert short["field"] == "size_bytes"

    problem(await client.get(f"/artifacts/{uuid4()}"), 404, "not-found")


async def test_pages_walk_every_part_once_in_order(client: httpx.AsyncClient) -> None:
    made = [(await make_part(client, f"PCB-PAGE-{n:02}"))["id"] for n in range(5)]
    await created(
        client, "/parts", {"part_number": "WAF-1", "part_name": "Wafer", "part_type": "wafer"}
    )
    seen: list[str] = []
    pages = 0
    params: dict[str, Any] = {"page_size": 2, "part_type": "pcb"}
    while True:
        response = await client.get("/parts", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        assert page["page_size"] == 2
        seen.extend(item["id"] for item in page["items"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == made  # creation order, each once, the wafer filtered out
    assert pages == 3


async def test_bad_page_requests_are_422_naming_the_parameter(client: httpx.AsyncClient) -> None:
    cursor = problem(
        await client.get("/parts", params={"cursor": "not-ours"}), 422, "invalid-request"
    )
    assert cursor["field"] == "cursor"
    assert cursor["errors"][0]["in"] == "query"
    size = problem(await client.get("/lots", params={"page_size": 0}), 422, "invalid-request")
    assert size["field"] == "page_size"
    typo = problem(await client.get("/lots", params={"stauts": "active"}), 422, "invalid-request")
    assert typo["field"] == "stauts"


# -- the caller in the audit trail ----------------------------------------------------


async def test_every_write_names_its_caller_in_the_audit_trail(
    client: httpx.AsyncClient, db_url: str
) -> None:
    part = await make_part(client)  # Alice
    lot = await make_lot(client, part["id"])  # Alice
    response = await client.patch(
        f"/lots/{lot['id']}", json={"notes": "re-inspect"}, headers=bearer(BOB)
    )
    assert response.status_code == 200

    history = (await client.get(f"/audit/lots/{lot['id']}")).json()
    assert [(e["action"], e["actor"]) for e in history] == [
        ("insert", "alice@fab1"),
        ("update", "bob@fab1"),
    ]
    assert "notes" in history[1]["changed_fields"]
    assert history[1]["prev_hash"] == history[0]["row_hash"]  # the chain, in hex
    assert len(bytes.fromhex(history[1]["row_hash"])) == 32

    conn = await asyncpg.connect(db_url)
    try:
        actors = await conn.fetch(
            "SELECT table_name, actor FROM audit_log ORDER BY seq",
        )
    finally:
        await conn.close()
    assert [(r["table_name"], r["actor"]) for r in actors] == [
        ("parts", "alice@fab1"),
        ("lots", "alice@fab1"),
        ("lots", "bob@fab1"),
    ]


async def test_a_caller_whose_name_is_no_readable_actor_cannot_write(
    client: httpx.AsyncClient,
) -> None:
    refused = problem(
        await client.post(
            "/parts",
            headers=bearer(EVE),
            json={"part_number": "PCB-EVE", "part_name": "Eve's", "part_type": "pcb"},
        ),
        422,
        "invalid-actor",
    )
    assert "U+200B" in refused["detail"]
    # Nothing was written; reading needs no actor.
    listed = await client.get("/parts", headers=bearer(EVE))
    assert listed.json()["items"] == []
    # A name longer than the audit trail holds: the same, before any SQL runs.
    too_long = problem(
        await client.post(
            "/parts",
            headers=bearer(LONG),
            json={"part_number": "PCB-LONG", "part_name": "Long's", "part_type": "pcb"},
        ),
        422,
        "invalid-actor",
    )
    assert "205 characters" in too_long["detail"]
    assert "audit_log" not in too_long["detail"]


# -- each error as problem details --------------------------------------------------


async def test_what_does_not_exist_is_404(client: httpx.AsyncClient) -> None:
    for path in ("/parts", "/lots", "/inspections", "/artifacts"):
        missing = problem(await client.get(f"{path}/{uuid4()}"), 404, "not-found")
        assert "does not exist" in missing["detail"]
        assert "constraint" not in missing
    problem(await client.delete(f"/parts/{uuid4()}"), 404, "not-found")
    problem(await client.patch(f"/lots/{uuid4()}", json={"notes": "x"}), 404, "not-found")
    problem(await client.get("/nowhere"), 404, "about:blank")


async def test_a_duplicate_is_409_naming_constraint_and_field(client: httpx.AsyncClient) -> None:
    await make_part(client)
    duplicate = problem(
        await client.post(
            "/parts", json={"part_number": "PCB-2025-001", "part_name": "Again", "part_type": "pcb"}
        ),
        409,
        "already-exists",
    )
    assert duplicate["constraint"] == "parts_part_number_key"
    assert duplicate["field"] == "part_number"
    assert duplicate["title"] == "Already exists"


async def test_deleting_a_part_with_lots_is_409_still_referenced(
    client: httpx.AsyncClient,
) -> None:
    part = await make_part(client)
    await make_lot(client, part["id"])
    refused = problem(await client.delete(f"/parts/{part['id']}"), 409, "still-referenced")
    assert refused["constraint"] == "lots_part_id_fkey"
    assert (await client.get(f"/parts/{part['id']}")).status_code == 200  # rolled back


async def test_a_lot_of_a_missing_part_is_422_missing_reference(
    client: httpx.AsyncClient,
) -> None:
    missing = problem(
        await client.post(
            "/lots",
            json={
                "lot_number": "LOT-2025-404",
                "part_id": str(uuid4()),
                "production_date": "2025-10-29",
                "batch_size": 10,
                "production_line": "LINE-A",
            },
        ),
        422,
        "missing-reference",
    )
    assert missing["constraint"] == "lots_part_id_fkey"
    assert missing["field"] == "part_id"


async def test_a_change_breaking_a_table_rule_is_422_naming_the_rule(
    client: httpx.AsyncClient,
) -> None:
    lot = await make_lot(client, (await make_part(client))["id"])
    # Refused before the round trip by the row check LotUpdate carries.
    broken = problem(
        await client.patch(
            f"/lots/{lot['id']}", json={"quantity_inspected": 10, "quantity_rejected": 20}
        ),
        422,
        "invalid-request",
    )
    assert broken["constraint"] == "lots_quantity_rejected_check"
    assert "quantity_rejected" in broken["field"]
    # A row check with a column the request leaves as it is (batch_size here) is the
    # database's to decide: the problem names its rule the same way.
    too_many = problem(
        await client.patch(f"/lots/{lot['id']}", json={"quantity_inspected": 10**6}),
        422,
        "rule-violation",
    )
    assert too_many["constraint"] == "lots_quantity_inspected_check"
    assert "CHECK (" in too_many["detail"] and "violates" not in too_many["detail"]
    assert (await client.get(f"/lots/{lot['id']}")).json()["quantity_inspected"] == 0


@pytest.mark.parametrize(
    "name",
    ["\u200b", "\t", "abc\u202edef", "\u0007bell", "\u3000", "\u2028"],
    ids=["zero-width", "tab", "bidi override", "bell", "ideographic space", "line separator"],
)
async def test_a_name_that_is_not_clean_is_422_naming_the_field(
    client: httpx.AsyncClient, name: str
) -> None:
    """The database's name_is_clean decides (the API schemas do not trim): refused by
    parts_part_name_check, or, once the generated Params model carries that CHECK,
    before the round trip; either way a 422 naming part_name, and nothing stored."""
    response = await client.post(
        "/parts", json={"part_number": "PCB-2025-009", "part_name": name, "part_type": "pcb"}
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == "part_name"
    if body["type"] == TYPE_BASE + "rule-violation":
        assert body["constraint"] == "parts_part_name_check"
    else:
        problem(response, 422, "invalid-request")
    assert (await client.get("/parts")).json()["items"] == []


async def test_a_name_with_plain_spaces_is_stored_as_sent(client: httpx.AsyncClient) -> None:
    part = await created(
        client,
        "/parts",
        {"part_number": "PCB-2025-010", "part_name": " Quad  NAND ", "part_type": "pcb"},
    )
    assert part["part_name"] == " Quad  NAND "


async def test_a_confidence_finer_than_the_column_is_rounded_by_its_scale(
    client: httpx.AsyncClient,
) -> None:
    """confidence is numeric(5,4): PostgreSQL rounds 1.00004 to 1.0000, which the CHECK
    (confidence <= 1) accepts; the Params model must judge the value the column stores."""
    lot = await make_lot(client, (await make_part(client))["id"])
    inspection = await make_inspection(client, lot["id"])
    defect = await created(
        client,
        "/defects",
        {
            "inspection_id": inspection["id"],
            "defect_type": "scratch",
            "severity": "low",
            "confidence": "1.00004",
            "detected_by": "aoi-model-v3",
        },
    )
    assert defect["confidence"] == "1.0000"
    stored = (await client.get(f"/inspections/{inspection['id']}")).json()["defects"]
    # The defects of an inspection come through json_agg: JSON numbers, so 1.0000 reads 1.0.
    assert [Decimal(d["confidence"]) for d in stored] == [Decimal("1.0000")]


async def test_an_invalid_body_is_422_naming_each_field(client: httpx.AsyncClient) -> None:
    part = await make_part(client)
    tomorrow = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    invalid = problem(
        await client.post(
            "/lots",
            json={
                "lot_number": "LOT-2025-002",
                "part_id": part["id"],
                "production_date": tomorrow,
                "batch_size": 10,
                "production_line": "LINE-A",
                "status": "melted",
            },
        ),
        422,
        "invalid-request",
    )
    fields = {error["field"]: error for error in invalid["errors"]}
    assert set(fields) == {"production_date", "status"}
    assert "future" in fields["production_date"]["message"]
    assert all(error["in"] == "body" for error in invalid["errors"])
    assert invalid["field"] in fields
    assert "(and 1 more)" in invalid["detail"]
    assert tomorrow not in invalid["detail"] and "melted" not in str(invalid)  # no input echoed

    not_json = problem(
        await client.post("/parts", content=b"{", headers={"Content-Type": "application/json"}),
        400,
        "malformed-body",
    )
    assert not_json["detail"] == "the request body is not valid JSON"
    problem(await client.get("/lots/not-a-uuid"), 422, "invalid-request")
    assert date.fromisoformat(tomorrow) > datetime.now(UTC).date()


# -- OpenAPI -------------------------------------------------------------------------


async def test_openapi_shows_the_schemas_with_their_examples(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert schemas["PartCreate"]["examples"][0]["part_number"] == "PCB-2025-001"
    assert schemas["LotCreate"]["examples"][0]["lot_number"] == "LOT-2025-001"
    assert "examples" in schemas["ArtifactUpload"]
    create_lot = spec["paths"]["/lots"]["post"]
    conflict = create_lot["responses"]["409"]["content"]["application/problem+json"]["schema"]
    assert conflict == {"$ref": "#/components/schemas/Problem"}
    assert {"type", "title", "status", "detail", "instance", "constraint", "field"} <= set(
        schemas["Problem"]["properties"]
    )
    assert create_lot["security"] == [{"HTTPBearer": []}]
    assert "security" not in spec["paths"]["/health"]["get"]


async def test_a_request_span_holds_a_span_per_query(
    client: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    """Each generated query is a span inside the request's span: FastAPI's own
    (recent releases trace requests themselves) or, without that, the caller's."""
    tracer = trace.get_tracer("fab-service-test")
    with tracer.start_as_current_span("POST /parts"):
        part = await make_part(client)
    finished = {s.context.span_id: s for s in spans.get_finished_spans()}
    queries = [s for s in finished.values() if s.kind is SpanKind.CLIENT]
    assert [s.name for s in queries] == ["CreatePart"]
    ancestors = []
    span = queries[0]
    while span.parent is not None and span.parent.span_id in finished:
        span = finished[span.parent.span_id]
        ancestors.append(span.name)
    assert "POST /parts" in ancestors, ancestors
    attributes = dict(queries[0].attributes or {})
    assert attributes["db.response.returned_rows"] == 1
    assert part["part_number"] not in repr(attributes)
