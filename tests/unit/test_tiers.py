"""The tier is the folder: every folder of tests/ has one, applied by one hook
(tests/conftest.py), and make targets select tests by path, never by marker."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import ROOT, TIERS, pytest_collection_modifyitems

TESTS = ROOT / "tests"


def _item(path: Path) -> SimpleNamespace:
    marks: list[str] = []
    return SimpleNamespace(path=path, marks=marks, add_marker=lambda m: marks.append(m.name))


def test_every_folder_with_tests_has_a_tier() -> None:
    folders = {p.relative_to(TESTS).parts[0] for p in TESTS.glob("*/**/test_*.py")}
    assert folders <= set(TIERS), folders - set(TIERS)
    assert not list(TESTS.glob("test_*.py")), "a test module outside any tier folder"


def test_the_hook_gives_each_test_its_folders_markers() -> None:
    items = [_item(TESTS / "unit" / "test_x.py"), _item(TESTS / "schema" / "test_y.py")]
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [item.marks for item in items] == [["unit"], ["integration", "database"]]


def test_a_folder_without_a_tier_stops_the_collection_naming_it() -> None:
    items = [_item(TESTS / "unit" / "test_x.py"), _item(TESTS / "brand_new" / "test_z.py")]
    with pytest.raises(pytest.UsageError, match=r"tests/brand_new belong to no tier"):
        pytest_collection_modifyitems(items)  # type: ignore[arg-type]


def test_no_test_module_sets_a_tier_marker_by_hand() -> None:
    tier_marker = re.compile(
        rf"pytest\.mark\.({'|'.join(sorted({m for t in TIERS.values() for m in t}))})\b"
    )
    found = [
        str(path.relative_to(ROOT))
        for path in TESTS.rglob("*.py")
        if "cases" not in path.parts
        and path.name != "conftest.py"
        and tier_marker.search(path.read_text())
    ]
    assert found == []


def test_make_targets_select_tests_by_path_not_by_marker() -> None:
    makefile = (ROOT / "Makefile").read_text()
    pytest_lines = [line for line in makefile.splitlines() if re.search(r"\bpytest\b", line)]
    assert pytest_lines, "no target runs pytest"
    assert [line for line in pytest_lines if re.search(r"\s-m\s", line)] == []
