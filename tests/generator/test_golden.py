"""Generated output matches the committed expectations byte for byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .golden import CASES, ERROR_CASES, UPDATE, read_tree, run_sqlc

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case_generates_expected_output(case: Path, tmp_path: Path) -> None:
    result = run_sqlc(case, tmp_path)
    assert result.returncode == 0, result.stderr
    actual = read_tree(tmp_path / "out")
    if UPDATE:
        shutil.rmtree(case / "expected", ignore_errors=True)
        shutil.copytree(tmp_path / "out", case / "expected")
    assert actual == read_tree(case / "expected")


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_output_is_deterministic(case: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    run_sqlc(case, first)
    run_sqlc(case, second)
    assert read_tree(first / "out") == read_tree(second / "out")


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda p: p.name)
def test_bad_input_is_refused_with_one_line_per_problem(case: Path, tmp_path: Path) -> None:
    result = run_sqlc(case, tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    expected_file = case / "expected_stderr"
    # sqlc wraps the plugin's stderr in its own message; the plugin's lines are inside it.
    if UPDATE:
        lines = [
            line.rpartition("error running command ")[2] for line in result.stderr.splitlines()
        ]
        plugin_lines = [line for line in lines if line.startswith(("query.sql", "sqlc.yaml"))]
        expected_file.write_text("\n".join(plugin_lines) + "\n")
    expected = expected_file.read_text().splitlines()
    assert expected, f"{expected_file} lists no expected problem"
    for line in expected:
        assert line in result.stderr
    assert not (tmp_path / "out").exists(), "nothing is written when generation fails"
