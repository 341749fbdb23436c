"""Every public query function of the generated package is called by some query test.

Static: the generated modules are imported to list their public async functions,
and the test files of this folder are parsed (not run) to find calls written as
`<module>.<function>(...)`, e.g. `parts.create_part(...)` or
`chip_quality_queries.parts.create_part(...)`. A new query without a test fails here.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import chip_quality_queries

HERE = Path(__file__).resolve().parent
PACKAGE = chip_quality_queries.__name__
NOT_QUERY_MODULES = {"models"}


def query_modules() -> list[ModuleType]:
    """The generated query modules: all of the package but _runtime and models."""
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(chip_quality_queries.__path__)
        if not info.name.startswith("_") and info.name not in NOT_QUERY_MODULES
    )
    return [importlib.import_module(f"{PACKAGE}.{name}") for name in names]


def public_query_functions(module: ModuleType) -> set[str]:
    """Names of the async functions (and async generators) defined in `module`."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.iscoroutinefunction(value) or inspect.isasyncgenfunction(value))
        and getattr(value, "__module__", None) == module.__name__
    }


def called_module_functions(source: str) -> set[tuple[str, str]]:
    """(module, function) of every call `<...>.<module>.<function>(...)` in a source file.

    `from chip_quality_queries import parts as p` makes `p.create_part(...)` count for parts.
    """
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
            for alias in node.names:
                aliases[alias.asname or alias.name] = alias.name
    calls: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if isinstance(owner, ast.Name):
            module = aliases.get(owner.id, owner.id)
        elif isinstance(owner, ast.Attribute):
            module = owner.attr
        else:
            continue
        calls.add((module, node.func.attr))
    return calls


def calls_in_tests() -> set[tuple[str, str]]:
    calls: set[tuple[str, str]] = set()
    for path in sorted(HERE.glob("*.py")):
        calls |= called_module_functions(path.read_text(encoding="utf-8"))
    return calls


def test_every_public_query_function_is_called_in_tests_queries() -> None:
    modules = query_modules()
    expected = {
        (module.__name__.rpartition(".")[2], name)
        for module in modules
        for name in public_query_functions(module)
    }
    missing = sorted(expected - calls_in_tests())
    assert not missing, (
        f"{len(missing)} generated query function(s) are called by no test in "
        f"{HERE.relative_to(HERE.parent.parent)}:\n"
        + "\n".join(f"  {module}.{name}" for module, name in missing)
    )


def test_the_inventory_is_not_empty() -> None:
    """Guard against the check above passing because it found nothing to check."""
    modules = {module.__name__.rpartition(".")[2]: module for module in query_modules()}
    assert set(modules) >= {
        "artifacts",
        "audit_log",
        "defects",
        "inference_jobs",
        "inspections",
        "lots",
        "parts",
        "reports",
    }
    for name, module in modules.items():
        assert public_query_functions(module), f"no query functions found in {name}"
    assert "create_part" in public_query_functions(modules["parts"])
    assert "ingest_defects" in public_query_functions(modules["defects"])
    # Helpers and imported names are not queries.
    assert "validate_rows" not in public_query_functions(modules["parts"])
    assert "init_connection" not in public_query_functions(modules["parts"])


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("await parts.create_part(db, params)", True),
        ("await chip_quality_queries.parts.create_part(db, params)", True),
        ("from chip_quality_queries import parts as p\nawait p.create_part(db, x)", True),
        ("parts.create_part", False),  # named, not called
        ("await lots.create_part(db, params)", False),  # another module's name
        ("await create_part(db, params)", False),  # not through its module
        ("# parts.create_part(db)", False),
    ],
)
def test_call_detection(source: str, found: bool) -> None:
    assert (("parts", "create_part") in called_module_functions(source)) is found
