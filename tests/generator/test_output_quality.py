"""Every golden case's expected output is clean under ruff and mypy --strict, exactly as emitted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .golden import CASES, installed

pytestmark = pytest.mark.golden

RUFF_RULES = "E,F,W,I,B,UP,SIM,RUF,N"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, check=False, env=env
    )


def test_expected_output_passes_ruff_check_and_format() -> None:
    folders = [str(installed(case.name)) for case in CASES]
    # Long SQL lines are the query author's formatting, kept verbatim: E501 is off.
    # Override types are the user's own code: first-party to isort, as in a real project.
    check = _run(
        "ruff",
        "check",
        "--isolated",
        "--line-length",
        "100",
        "--select",
        RUFF_RULES,
        "--ignore",
        "E501",
        "--config",
        "lint.isort.known-first-party = ['overrides_support']",
        *folders,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = _run("ruff", "format", "--isolated", "--line-length", "100", "--check", *folders)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_expected_output_passes_mypy_strict(case: Path, tmp_path: Path) -> None:
    expected = installed(case.name)
    package = next(p.name for p in expected.iterdir() if p.is_dir())
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\nplugins = pydantic.mypy\n")
    env = {**os.environ, "MYPYPATH": f"{expected}{os.pathsep}{case}"}
    # A cache of its own: written to the checkout's .mypy_cache, this run's entries
    # for the generated package made `make check` report errors a fresh run does not.
    cache = str(tmp_path / "mypy-cache")
    result = _run(
        "mypy", "--config-file", str(config), "--cache-dir", cache, "-p", package, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
