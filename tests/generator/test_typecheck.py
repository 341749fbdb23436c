"""The generated code passes the type checkers as people run them (issue 30).

Every golden case's expected output and the committed generated/ pass mypy --strict
on a fresh cache, mypy --strict again on a cache that another package filled first
(mypy then reads pydantic from its cache, where types such as `TypeForm[T]` come back
differently), and pyright in strict mode: `chip_quality_dev.typecheck`, which
`make typecheck-generated` runs too. And `make typecheck`, which keeps mypy's
incremental cache, answers after a change of the queries and `make generate` what a
fresh run answers.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chip_quality_dev.typecheck import Outcome, check_all

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    return check_all(tmp_path_factory.mktemp("typecheck"), ROOT)


def _assert_clean(outcomes: list[Outcome], check: str) -> None:
    ran = [outcome for outcome in outcomes if outcome.check == check]
    assert ran, check
    failed = [outcome for outcome in ran if not outcome.clean]
    assert not failed, "\n\n".join(f"{o.summary()}\n{o.output}" for o in failed)


def test_mypy_strict_on_a_fresh_cache(outcomes: list[Outcome]) -> None:
    _assert_clean(outcomes, "mypy --strict, fresh")


def test_mypy_strict_on_a_cache_another_package_filled(outcomes: list[Outcome]) -> None:
    _assert_clean(outcomes, "mypy --strict, warm cache")


def test_pyright_strict(outcomes: list[Outcome]) -> None:
    _assert_clean(outcomes, "pyright strict")


# What `make typecheck` needs of the checkout (generated/ it makes itself).
_PROJECT = (
    "Makefile",
    "pyproject.toml",
    "sqlc.yaml",
    "schema",
    "queries",
    "src",
    "tools",
    "examples",
)

# Queries a developer adds: a result that may be NULL, a function returning void, a
# keyword argument that a CHECK constrains (each a module-level TypeAdapter of a union,
# None or Annotated in the code generated before issue 30).
_NEW_QUERIES = """
-- name: SupplierOfLotNumber :one
SELECT supplier FROM lots WHERE lot_number = $1;

-- name: HoldLotNumber :one
SELECT pg_advisory_xact_lock(hashtext($1)::bigint);

-- name: SetLotSupplier :exec
UPDATE lots SET supplier = $1 WHERE id = $2;
"""


def test_make_typecheck_keeps_its_cache_and_agrees_with_a_fresh_run(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in _PROJECT:
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
            shutil.copytree(source, project / name, ignore=ignore)
        else:
            shutil.copy2(source, project / name)
    # The checkout's own virtualenv, never installed again from the copy (-o).
    venv = Path(sys.executable).parent.parent
    make = ["make", "--no-print-directory", f"VENV={venv}", "-o", f"{venv}/.installed"]

    def run(*targets: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*make, *targets], cwd=project, capture_output=True, text=True, check=False
        )

    first = run("generate", "typecheck")
    assert first.returncode == 0, first.stdout + first.stderr
    assert (project / ".mypy_cache").is_dir(), "make typecheck keeps no cache"

    with (project / "queries" / "lots.sql").open("a") as queries:
        queries.write(_NEW_QUERIES)
    warm = run("generate", "typecheck")
    shutil.rmtree(project / ".mypy_cache")
    fresh = run("typecheck")
    assert (warm.returncode, _mypy_lines(warm)) == (fresh.returncode, _mypy_lines(fresh))
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    # The new queries' adapters are of the forms that broke a warm run.
    assert "adapter_of" in (project / "generated/chip_quality_queries/lots.py").read_text()


def _mypy_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """mypy's verdict: its error lines and summary (not make's or sqlc's lines)."""
    return [
        line
        for line in result.stdout.splitlines()
        if ": error:" in line or ": note:" in line or line.startswith(("Success:", "Found "))
    ]
