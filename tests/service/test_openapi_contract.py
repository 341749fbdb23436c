"""The example service's OpenAPI document as a contract: every schema shows an
example that its own schema accepts, every field is described (a column's field
by the column's COMMENT, read from the database), every operation has a summary
and a description, and every route documents exactly the problem responses it
can give, as application/problem+json."""

from typing import Any

import asyncpg
import httpx
import pytest
from jsonschema import Draft202012Validator

PROBLEM = "application/problem+json"

# The table behind each schema whose fields are columns (FastAPI adds -Input/-Output
# to a model used both ways).
TABLE_OF = {
    "Part": "parts",
    "Lot": "lots",
    "Inspection": "inspections",
    "Defect": "defects",
    "Artifact": "artifacts",
    "AuditEntry": "audit_log",
}

# What each operation can answer besides its success, and so must document:
# 401 and 503 on every authenticated route (no route refuses an authenticated
# caller: no 403), 422 wherever a parameter or body is validated, 400 where a
# JSON body is parsed, 404 for a row by id, 409 for a unique key or a row still
# referenced, 412 where If-Match is honoured.
PROBLEMS = {
    ("post", "/parts"): {400, 401, 409, 422, 503},
    ("get", "/parts"): {401, 422, 503},
    ("get", "/parts/{part_id}"): {401, 404, 422, 503},
    ("delete", "/parts/{part_id}"): {401, 404, 409, 412, 422, 503},
    ("post", "/lots"): {400, 401, 409, 422, 503},
    ("get", "/lots"): {401, 422, 503},
    ("get", "/lots/{lot_id}"): {401, 404, 422, 503},
    ("patch", "/lots/{lot_id}"): {400, 401, 404, 412, 422, 503},
    ("post", "/inspections"): {400, 401, 422, 503},
    ("get", "/inspections"): {401, 422, 503},
    ("get", "/inspections/{inspection_id}"): {401, 404, 422, 503},
    ("post", "/defects"): {400, 401, 422, 503},
    ("get", "/defects/{defect_id}"): {401, 404, 422, 503},
    ("post", "/artifacts"): {400, 401, 422, 503},
    ("get", "/artifacts/{artifact_id}"): {401, 404, 422, 503},
    ("get", "/audit/{table_name}/{record_id}"): {401, 422, 503},
    ("get", "/health"): set(),
}


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def validator(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of `schema` whose `#/components/...` references resolve in `spec`."""
    rooted = {**schema, "components": spec["components"]}
    return Draft202012Validator(rooted, format_checker=Draft202012Validator.FORMAT_CHECKER)


def resolved(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def bodies(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every request and response body's media type object, named for messages."""
    found = []
    for method, path, operation in operations(spec):
        request = operation.get("requestBody", {}).get("content", {})
        found += [(f"{method} {path} request {kind}", media) for kind, media in request.items()]
        for status, response in operation["responses"].items():
            for kind, media in response.get("content", {}).items():
                found.append((f"{method} {path} {status} {kind}", media))
    return found


async def test_every_schema_has_an_example_its_schema_accepts(spec: dict[str, Any]) -> None:
    checked = 0
    for name, schema in spec["components"]["schemas"].items():
        if "properties" not in schema:
            continue  # an enum's values are its examples; JsonValue is any JSON
        assert schema.get("examples"), f"schema {name} has no example"
        for example in schema["examples"]:
            errors = [e.message for e in validator(spec, schema).iter_errors(example)]
            assert not errors, f"an example of {name} breaks its schema: {errors}"
            checked += 1
    for where, media in bodies(spec):
        schema = media.get("schema", {})
        examples = [media["example"]] if "example" in media else []
        examples += resolved(spec, schema).get("examples", []) if schema else []
        if media.get("schema", {}).get("type") == "array":
            examples += [[item] for item in resolved(spec, schema["items"]).get("examples", [])]
        assert examples, f"{where}: no example"
        for example in examples:
            errors = [e.message for e in validator(spec, schema).iter_errors(example)]
            assert not errors, f"{where}: an example breaks the schema: {errors}"
            checked += 1
    assert checked > 40


async def test_every_field_is_described_and_a_columns_by_its_comment(
    spec: dict[str, Any], db_url: str
) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch(
            "SELECT c.relname, a.attname, col_description(c.oid, a.attnum) AS comment"
            " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " WHERE c.relname = any($1::text[]) AND a.attnum > 0 AND NOT a.attisdropped",
            list(TABLE_OF.values()),
        )
    finally:
        await conn.close()
    comments = {(row["relname"], row["attname"]): row["comment"] for row in rows}
    compared = 0
    for name, schema in spec["components"]["schemas"].items():
        entity = next((e for e in TABLE_OF if name.startswith(e)), None)
        for field, prop in schema.get("properties", {}).items():
            assert prop.get("description"), f"{name}.{field} has no description"
            table = TABLE_OF.get(entity or "")
            if table and (table, field) in comments:
                assert prop["description"] == comments[(table, field)], f"{name}.{field}"
                compared += 1
    for method, path, operation in operations(spec):
        entity = path.split("/")[1].rstrip("s").capitalize()
        for parameter in operation.get("parameters", []):
            where = f"{method} {path} {parameter['in']} {parameter['name']}"
            assert parameter.get("description"), f"{where} has no description"
            table = TABLE_OF.get(entity)
            if parameter["in"] == "query" and (table, parameter["name"]) in comments:
                assert parameter["description"] == comments[(table, parameter["name"])], where
                compared += 1
    # Every Create, Update and Response field of the five entities, and the list filters.
    assert compared > 60, compared


async def test_every_operation_has_a_summary_and_a_description(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        assert operation.get("summary"), f"{method} {path}: no summary"
        assert operation.get("description"), f"{method} {path}: no description"


async def test_every_route_documents_exactly_its_problem_responses(spec: dict[str, Any]) -> None:
    documented = {(method, path) for method, path, _ in operations(spec)}
    assert documented == set(PROBLEMS)
    for method, path, operation in operations(spec):
        problems = set()
        for status, response in operation["responses"].items():
            kinds = set(response.get("content", {}))
            if int(status) >= 400 and path != "/health":
                assert kinds == {PROBLEM}, f"{method} {path} {status}: {kinds}"
                problems.add(int(status))
            elif int(status) >= 400:
                assert kinds == {"application/json"}
        assert problems == PROBLEMS[(method, path)], f"{method} {path}"
    assert "HTTPValidationError" not in spec["components"]["schemas"]


async def test_creates_link_to_what_reads_their_row(spec: dict[str, Any]) -> None:
    ids = {operation["operationId"] for _, _, operation in operations(spec)}
    for method, path, operation in operations(spec):
        if method != "post":
            continue
        created = operation["responses"]["201"]
        assert {"Location", "ETag"} <= set(created["headers"]), path
        assert created["links"], path
        assert all(link["operationId"] in ids for link in created["links"].values())


async def test_an_unparsable_body_is_400_as_documented(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/lots", content=b'{"lot_number": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "tag:chip-quality-db,2025:problem/malformed-body"
