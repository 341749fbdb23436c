"""Concurrency control over HTTP: Location on every 201, an ETag on every row read
(the row's version: its updated_at), and If-Match on PATCH and DELETE, checked by
the write statement itself, so that of two clients that read the same version only
the first writes and the second gets 412."""

import asyncio
import base64
import hashlib
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from tests.service.conftest import BOB, bearer
from tests.service.test_fab_service import make_inspection, make_lot, make_part, problem


async def test_every_201_has_a_location_that_reads_the_row(client: httpx.AsyncClient) -> None:
    part = await client.post(
        "/parts",
        json={"part_number": "PCB-LOC-1", "part_name": "Board", "part_type": "pcb"},
    )
    lot = await client.post(
        "/lots",
        json={
            "lot_number": "LOT-LOC-1",
            "part_id": part.json()["id"],
            "production_date": "2025-10-29",
            "batch_size": 10,
            "production_line": "LINE-A",
        },
    )
    inspection = await client.post(
        "/inspections", json={"lot_id": lot.json()["id"], "inspection_type": "visual"}
    )
    defect = await client.post(
        "/defects",
        json={
            "inspection_id": inspection.json()["id"],
            "defect_type": "scratch",
            "severity": "low",
            "detected_by": "aoi",
        },
    )
    content = b"hello"
    artifact = await client.post(
        "/artifacts",
        json={
            "artifact": {
                "inspection_id": inspection.json()["id"],
                "artifact_type": "image",
                "storage_uri": "s3://fab/loc.png",
                "content_type": "image/png",
                "size_bytes": len(content),
                "checksum_sha256": hashlib.sha256(content).hexdigest(),
            },
            "content": base64.b64encode(content).decode(),
        },
    )
    for created, path in [
        (part, "/parts/"),
        (lot, "/lots/"),
        (inspection, "/inspections/"),
        (defect, "/defects/"),
        (artifact, "/artifacts/"),
    ]:
        assert created.status_code == 201, created.text
        body = created.json()
        assert created.headers["location"] == path + body["id"]
        read = await client.get(created.headers["location"])
        assert read.status_code == 200
        assert read.json()["id"] == body["id"]
        assert read.headers["etag"].startswith('"')


async def test_the_etag_is_the_rows_version_and_changes_with_it(
    client: httpx.AsyncClient,
) -> None:
    part = await make_part(client)
    lot = await make_lot(client, part["id"])
    first = await client.get(f"/lots/{lot['id']}")
    again = await client.get(f"/lots/{lot['id']}")
    assert first.headers["etag"] == again.headers["etag"]
    changed = await client.patch(f"/lots/{lot['id']}", json={"notes": "re-checked"})
    assert changed.status_code == 200
    assert changed.headers["etag"] != first.headers["etag"]
    assert (await client.get(f"/lots/{lot['id']}")).headers["etag"] == changed.headers["etag"]
    # A change that changes nothing keeps the version, and so the tag.
    same = await client.patch(f"/lots/{lot['id']}", json={"notes": "re-checked"})
    assert same.headers["etag"] == changed.headers["etag"]


async def test_an_inspections_etag_follows_its_defects(client: httpx.AsyncClient) -> None:
    part = await make_part(client)
    lot = await make_lot(client, part["id"])
    inspection = await make_inspection(client, lot["id"])
    before = (await client.get(f"/inspections/{inspection['id']}")).headers["etag"]
    defect = {
        "inspection_id": inspection["id"],
        "defect_type": "scratch",
        "severity": "low",
        "detected_by": "aoi",
    }
    assert (await client.post("/defects", json=defect)).status_code == 201
    after = (await client.get(f"/inspections/{inspection['id']}")).headers["etag"]
    assert after != before


async def test_if_match_with_the_current_tag_writes(client: httpx.AsyncClient) -> None:
    part = await make_part(client)
    lot = await make_lot(client, part["id"])
    tag = (await client.get(f"/lots/{lot['id']}")).headers["etag"]
    changed = await client.patch(
        f"/lots/{lot['id']}", json={"quantity_inspected": 5}, headers={"If-Match": tag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["quantity_inspected"] == 5
    anything = await client.patch(
        f"/lots/{lot['id']}", json={"quantity_inspected": 6}, headers={"If-Match": "*"}
    )
    assert anything.status_code == 200


async def test_if_match_with_an_old_tag_is_412_and_writes_nothing(
    client: httpx.AsyncClient,
) -> None:
    part = await make_part(client)
    lot = await make_lot(client, part["id"])
    old = (await client.get(f"/lots/{lot['id']}")).headers["etag"]
    assert (await client.patch(f"/lots/{lot['id']}", json={"notes": "first"})).status_code == 200
    refused = await client.patch(
        f"/lots/{lot['id']}", json={"notes": "second"}, headers={"If-Match": old}
    )
    body = problem(refused, 412, "about:blank")
    assert "changed since" in body["detail"]
    assert (await client.get(f"/lots/{lot['id']}")).json()["notes"] == "first"
    # A tag this service never gave matches no version: 412 as well; a lot that does
    # not exist is 404 whatever the tag.
    for tag in ['W/"1"', "garbage", '"1", "2"']:
        problem(
            await client.patch(f"/lots/{lot['id']}", json={}, headers={"If-Match": tag}),
            412,
            "about:blank",
        )
    missing = "00000000-0000-4000-8000-000000000000"
    problem(
        await client.patch(f"/lots/{missing}", json={}, headers={"If-Match": old}),
        404,
        "not-found",
    )


async def test_delete_with_an_old_tag_is_412_and_the_part_stays(
    client: httpx.AsyncClient, db_url: str
) -> None:
    part = await make_part(client)
    old = (await client.get(f"/parts/{part['id']}")).headers["etag"]
    # Changed by another service meanwhile (the API has no PATCH /parts).
    other = await asyncpg.connect(db_url)
    try:
        async with other.transaction():
            await other.execute("SELECT set_config('app.actor', 'other@fab1', true)")
            await other.execute("UPDATE parts SET revision = 'B' WHERE id = $1", part["id"])
    finally:
        await other.close()
    refused = await client.delete(f"/parts/{part['id']}", headers={"If-Match": old})
    problem(refused, 412, "about:blank")
    current = await client.get(f"/parts/{part['id']}")
    assert current.json()["revision"] == "B"
    deleted = await client.delete(
        f"/parts/{part['id']}", headers={"If-Match": current.headers["etag"]}
    )
    assert deleted.status_code == 204
    problem(await client.get(f"/parts/{part['id']}"), 404, "not-found")


async def _waiting_on_a_lock(admin: asyncpg.Connection, count: int) -> None:
    """Until `count` sessions of the test database wait for a lock."""
    for _ in range(500):
        waiting = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} writers never waited for the row lock")


async def test_two_clients_racing_with_the_same_tag_the_second_gets_412(
    service: FastAPI, client: httpx.AsyncClient, db_url: str
) -> None:
    """Both read version V, both PATCH with If-Match: V at the same moment. A row
    lock held by a third session makes both UPDATEs wait inside the database, so
    they really race (no read-then-write in Python could tell them apart); when it
    is released one writes, the other's UPDATE finds a newer version and writes
    nothing: 412, and the first one's change stands."""
    part = await make_part(client)
    lot = await make_lot(client, part["id"])
    tag = (await client.get(f"/lots/{lot['id']}")).headers["etag"]
    transport = httpx.ASGITransport(app=service)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://fab.test", headers=bearer(BOB)
    ) as bob:
        admin = await asyncpg.connect(db_url)
        try:
            blocker = admin.transaction()
            await blocker.start()
            await admin.execute("SELECT 1 FROM lots WHERE id = $1 FOR UPDATE", lot["id"])
            watcher = await asyncpg.connect(db_url)
            try:
                writes: list[Any] = [
                    asyncio.create_task(
                        writer.patch(
                            f"/lots/{lot['id']}",
                            json={"notes": f"by {name}"},
                            headers={"If-Match": tag},
                        )
                    )
                    for writer, name in [(client, "alice"), (bob, "bob")]
                ]
                await _waiting_on_a_lock(watcher, 2)
            finally:
                await watcher.close()
            await blocker.rollback()
            alice, bob_response = await asyncio.gather(*writes)
        finally:
            await admin.close()
    statuses = sorted([alice.status_code, bob_response.status_code])
    assert statuses == [200, 412], (alice.text, bob_response.text)
    winner = alice if alice.status_code == 200 else bob_response
    loser = bob_response if winner is alice else alice
    problem(loser, 412, "about:blank")
    stored = (await client.get(f"/lots/{lot['id']}")).json()
    assert stored["notes"] == winner.json()["notes"]  # nothing overwritten
    history = (await client.get(f"/audit/lots/{lot['id']}")).json()
    assert [entry["action"] for entry in history] == ["insert", "update"]
