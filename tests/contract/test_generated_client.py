"""A client generated from the running service's /openapi.json by
openapi-python-client (a team that never imports this project's packages): it
registers a part and a lot, records inspections with defects, and reads them back,
typed by the generated models."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.contract.conftest import Service

PACKAGE = "fab_client"


def generate(service: Service, folder: Path) -> None:
    spec = httpx.get(f"{service.url}/openapi.json").json()
    (folder / "openapi.json").write_text(json.dumps(spec))
    generator = Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run(
        [
            str(generator), "generate",
            "--path", str(folder / "openapi.json"),
            "--output-path", str(folder / PACKAGE),
            "--meta", "none",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # The generator warns about what it could not turn into code: none may be left out.
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr


def module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_a_generated_client_creates_and_reads_a_lot_with_its_inspections(
    service: Service, tmp_path: Path
) -> None:
    generate(service, tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        client_module = importlib.import_module(PACKAGE)
        models = module("models")
        create_part = module("api.parts.create_part")
        create_lot = module("api.lots.create_lot")
        get_lot = module("api.lots.get_lot")
        update_lot = module("api.lots.update_lot")
        create_inspection = module("api.inspections.create_inspection")
        create_defect = module("api.inspections.create_defect")
        get_inspection = module("api.inspections.get_inspection")
        list_inspections = module("api.inspections.list_inspections")

        client = client_module.AuthenticatedClient(base_url=service.url, token=service.token)
        with client as c:
            part = create_part.sync_detailed(
                client=c,
                body=models.PartCreate(
                    part_number="PCB-CLIENT-1",
                    part_name="Board of the generated client",
                    part_type=models.PartType.PCB,
                ),
            )
            assert part.status_code == 201, part.content
            assert isinstance(part.parsed, models.PartResponse)
            lot = create_lot.sync_detailed(
                client=c,
                body=models.LotCreate.from_dict(
                    {
                        "lot_number": "LOT-CLIENT-1",
                        "part_id": str(part.parsed.id),
                        "production_date": "2025-10-29",
                        "batch_size": 100,
                        "production_line": "LINE-A",
                    }
                ),
            )
            assert lot.status_code == 201, lot.content
            assert lot.headers["location"] == f"/lots/{lot.parsed.id}"
            read = get_lot.sync_detailed(lot.parsed.id, client=c)
            assert read.parsed.lot_number == "LOT-CLIENT-1"
            assert read.parsed.part_id == part.parsed.id

            inspections = []
            for station in ("ST-1", "ST-2"):
                made = create_inspection.sync_detailed(
                    client=c,
                    body=models.InspectionCreate(
                        lot_id=lot.parsed.id,
                        inspection_type=models.InspectionType.VISUAL,
                        station_id=station,
                    ),
                )
                assert made.status_code == 201, made.content
                inspections.append(made.parsed)
            defect = create_defect.sync_detailed(
                client=c,
                body=models.DefectCreate.from_dict(
                    {
                        "inspection_id": str(inspections[0].id),
                        "defect_type": "scratch",
                        "severity": "high",
                        "detected_by": "aoi-model-v3",
                    }
                ),
            )
            assert defect.status_code == 201, defect.content

            page = list_inspections.sync_detailed(client=c, lot_id=lot.parsed.id)
            assert page.status_code == 200
            assert sorted(i.station_id for i in page.parsed.items) == ["ST-1", "ST-2"]
            full = get_inspection.sync_detailed(inspections[0].id, client=c)
            assert [d.defect_type for d in full.parsed.defects] == [models.DefectType.SCRATCH]

            # The contract's errors reach the client typed too: a stale If-Match is 412.
            stale = update_lot.sync_detailed(
                lot.parsed.id,
                client=c,
                body=models.LotUpdate(notes="first"),
                if_match=read.headers["etag"],
            )
            assert stale.status_code == 200, stale.content
            refused = update_lot.sync_detailed(
                lot.parsed.id,
                client=c,
                body=models.LotUpdate(notes="second"),
                if_match=read.headers["etag"],
            )
            assert refused.status_code == 412
            assert refused.parsed.status == 412
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]
