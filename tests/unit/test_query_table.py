"""`chip-quality-db queries`: the generator's decisions, printed for reviewers."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import chip_quality_queries
from chip_quality_db.cli import main
from chip_quality_queries._catalog import QUERIES
from sqlc_gen_asyncpg import names


def _lines(capsys: pytest.CaptureFixture[str]) -> dict[str, list[str]]:
    assert main(["queries"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == [
        "FILE", "QUERY", "COMMAND", "ACCESS", "ROW", "READS", "WRITES", "CACHE", "CHECKS"
    ]  # fmt: skip
    return {line.split()[1]: line.split(None, 3)[3].split("  ") for line in out[1:]}


def test_the_table_says_what_each_query_does(capsys: pytest.CaptureFixture[str]) -> None:
    rows = {
        name: [cell.strip() for cell in cells if cell.strip()]
        for name, cells in _lines(capsys).items()
    }
    assert rows["CreateLot"][:5] == ["write: INSERT", "always", "-", "lots", "-"]
    assert "lots_lot_number_check" in rows["CreateLot"][5]
    assert rows["GetLot"][:5] == ["read", "maybe", "lots", "-", "-"]
    assert rows["GetLotByNumber"][:5] == ["read", "maybe", "lots", "-", "60s"]
    assert rows["CountLots"][:2] == ["read", "always"]
    assert rows["DefectParetoOfPart"][2] == (
        "analytics_defect_pareto, analytics_refreshes, defects, inspections, lots, parts"
    )
    assert rows["ClaimInferenceJobs"][0] == "write: a data-modifying CTE (UPDATE)"
    assert len(rows) == len(QUERIES)


def test_every_entry_names_a_generated_function_and_its_routing() -> None:
    for info in QUERIES:
        module_name, _, function_name = info.function.partition(".")
        module = importlib.import_module(f"chip_quality_queries.{module_name}")
        assert callable(getattr(module, function_name)), info
        # The cluster handle routes by READ_ONLY_QUERIES: the table must say the same.
        sql = getattr(module, names.constant_case(info.name))
        assert (sql in chip_quality_queries.READ_ONLY_QUERIES) == (
            info.read_only and info.command in (":one", ":many")
        ), info.name


def test_json_lists_the_same_queries(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queries", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["name"] for entry in listed] == [info.name for info in QUERIES]
    assert all(isinstance(entry["checks"], list) for entry in listed)
    by_name = {entry["name"]: entry for entry in listed}
    assert by_name["GetPartByNumber"]["reads"] == ["parts"]
    assert by_name["GetPartByNumber"]["cache_seconds"] == 60
    assert by_name["CreatePart"]["writes"] == ["parts"]


def test_the_module_runs_as_the_command_does(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m chip_quality_db.cli` (where no console script is installed) prints
    what `chip-quality-db` prints."""
    assert main(["queries", "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    run = subprocess.run(
        [sys.executable, "-m", "chip_quality_db.cli", "queries", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == expected
