"""The two releases of the rename by expand/contract, compiled like the project's own.

tests/rollout/releases/<release>/reports.sql holds the queries of one release; each is
compiled by sqlc with the project's plugin (sqlc-gen-asyncpg) against the migrations
of its day into a package of its own, `rollout_<release>`: `before_rename` against
the project's migrations (it reads and writes output_location), `after_rename` also
against the expand step (it reads and writes output_uri).
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from tests.conftest import ROOT

HERE = Path(__file__).parent
EXPAND = HERE / "migrations/29990101000900_rename_expand.sql"
SCHEMAS = {
    "before_rename": [ROOT / "schema/migrations"],
    "after_rename": [ROOT / "schema/migrations", EXPAND],
}


def compile_release(release: str, folder: Path) -> ModuleType:
    """The `reports` module of the release's package, compiled into `folder`."""
    package = f"rollout_{release}"
    work = folder / release
    # sqlc reads paths relative to its config, absolute or not: copies beside it.
    (work / "schema").mkdir(parents=True)
    for source in SCHEMAS[release]:
        for path in sorted(source.glob("*.sql")) if source.is_dir() else [source]:
            shutil.copy(path, work / "schema" / path.name)
    shutil.copytree(HERE / "releases" / release, work / "queries")
    config = {  # JSON is YAML: sqlc reads it as its sqlc.yaml
        "version": "2",
        "plugins": [{"name": "asyncpg", "process": {"cmd": "sqlc-gen-asyncpg", "format": "json"}}],
        "sql": [
            {
                "engine": "postgresql",
                "schema": "schema",
                "queries": "queries",
                "codegen": [{"plugin": "asyncpg", "out": "out", "options": {"package": package}}],
            }
        ],
    }
    (work / "sqlc.yaml").write_text(json.dumps(config, indent=2))
    result = subprocess.run(
        ["sqlc", "generate"], cwd=work, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(work / "out"))
    return importlib.import_module(f"{package}.reports")
