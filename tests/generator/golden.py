"""Golden cases of the generator, shaped like sqlc's own end-to-end tests.

    cases/<case>/sqlc.yaml, schema.sql, query.sql   what sqlc is given
    cases/<case>/expected/                           what the plugin must write
    errors/<case>/...,  errors/<case>/expected_stderr  input the plugin must refuse

Each case runs the real sqlc binary with the installed plugin. To accept new
output after a deliberate change, run `SQLC_GEN_UPDATE=1 make test` and review
the diff of expected/ like any other change.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from chip_quality_dev.query_types import sqlc_request
from chip_quality_dev.typecheck import install_case
from sqlc_gen_asyncpg.catalog import SYSTEM_SCHEMAS

HERE = Path(__file__).parent
CASES = sorted(p for p in (HERE / "cases").iterdir() if p.is_dir())
ERROR_CASES = sorted(p for p in (HERE / "errors").iterdir() if p.is_dir())
UPDATE = os.environ.get("SQLC_GEN_UPDATE") == "1"
# What coverage.py's `patch = ["subprocess"]` sets for the processes it should measure.
COVERAGE_VARIABLE = "COVERAGE_PROCESS_CONFIG"


def _copy_inputs(case: Path, workdir: Path) -> None:
    config = (case / "sqlc.yaml").read_text()
    if COVERAGE_VARIABLE in os.environ:
        # sqlc hands a process plugin only the variables its config lists (`env`): under
        # `make coverage`, this one lets coverage.py measure the plugin's process too.
        config = config.replace("    process:\n", f"    env: [{COVERAGE_VARIABLE}]\n    process:\n")
    (workdir / "sqlc.yaml").write_text(config)
    for extra in case.glob("*.sql"):
        shutil.copy(extra, workdir / extra.name)


def run_sqlc(case: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Copy the case's inputs to `workdir` and run `sqlc generate` there."""
    _copy_inputs(case, workdir)
    return subprocess.run(
        ["sqlc", "generate"], cwd=workdir, capture_output=True, text=True, check=False
    )


# The GenerateRequest sqlc sends for a case, stored beside it (request.json), so that
# the model and the renderer run in-process on exactly what sqlc sends, without sqlc.
REQUEST_FILE = "request.json"


def capture_request(case: Path) -> dict[str, object]:
    """The request sqlc hands the plugin for `case` (sqlc runs with a stand-in plugin
    that records it: chip_quality_dev.query_types.sqlc_request)."""
    request: dict[str, Any] = json.loads(sqlc_request(case))
    # The one part that names this run's stand-in: put the real plugin back.
    request["settings"]["codegen"]["process"]["cmd"] = "sqlc-gen-asyncpg"
    # The system schemas (1.6 MB of built-in functions per case) are left out: the
    # generator reads none of them, which the in-process tests prove by matching the
    # expected output without them.
    catalog = request["catalog"]
    catalog["schemas"] = [s for s in catalog["schemas"] if s["name"] not in SYSTEM_SCHEMAS]
    return request


def stored_request(case: Path) -> dict[str, object]:
    request: dict[str, object] = json.loads((case / REQUEST_FILE).read_text())
    return request


def store_request(case: Path, request: dict[str, object]) -> None:
    (case / REQUEST_FILE).write_text(json.dumps(request, indent=1, sort_keys=True) + "\n")


# Every generated package carries the plugin's runtime.py as _runtime.py, verbatim:
# the golden cases keep no copy of it (test_golden checks the emitted one).
RUNTIME_FILE = "_runtime.py"
_INSTALLED = Path(tempfile.mkdtemp(prefix="golden-cases-"))
atexit.register(shutil.rmtree, _INSTALLED, ignore_errors=True)


def installed(case: str) -> Path:
    """The case's expected output as the plugin wrote it: expected/ with the
    `_runtime.py` of each package put back (copied once per test session)."""
    target = _INSTALLED / case
    if not target.exists():
        building = _INSTALLED / f"{case}.partial"
        install_case(HERE / "cases" / case, building)
        building.rename(target)
    return target


def load(case: str, module: str) -> ModuleType:
    """Import `<case>_pkg.<module>` from the case's expected output (and the case's own
    folder, for the modules its overrides name)."""
    for path in (installed(case), HERE / "cases" / case):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    return importlib.import_module(f"{case}_pkg.{module}")


def read_tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
