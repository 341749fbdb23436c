"""Every golden case's expected output is clean under ruff, exactly as emitted (the type
checkers: test_typecheck.py)."""

from __future__ import annotations

import subprocess
import sys

from .golden import CASES, installed

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
