"""The runtime and the generated package read no private name of another package:
not asyncpg's, asyncio's, OpenTelemetry's, pydantic's or any other's (issue 24).

A private name is one with a single leading underscore (`_queue`, `_TRACER_PROVIDER`;
dunders such as `__pydantic_validator__` are protocols, not privates). Checked on the
syntax tree of every module under src/chip_quality_db and generated/chip_quality_queries:

- `from other import _name`, `import other._module`, `from other._module import x`;
- `name._attr` (at any depth: `trace._X`, `asyncpg.pool._y`) where `name` was
  imported from another package;
- `getattr(x, "_attr")`, `hasattr(...)`, `setattr(...)`: reflection cannot tell
  whose `x` is, so a private attribute is never read that way;
- `super()._attr`: a subclass of another package's class calling the private
  method it overrides (`Pool._run`, `Pool._initialize` did).
A name assigned another package's object (`_Driver = asyncpg.Connection`) counts
as imported.

The package's own private modules and names (`from ._pool import ...`,
`from chip_quality_queries._runtime import ...`, `self._idle`) are its own business.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWN = {"chip_quality_db", "chip_quality_queries"}
SCANNED = [ROOT / "src" / "chip_quality_db", ROOT / "generated" / "chip_quality_queries"]
REFLECTION = {"getattr", "hasattr", "setattr", "delattr"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _foreign(module: str | None, level: int) -> bool:
    return level == 0 and module is not None and module.split(".")[0] not in OWN


def _rooted_in(node: ast.expr | None, names: set[str]) -> bool:
    """Whether `node` is `name`, `name.x.y` or `name[...]` for one of `names`."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return isinstance(node, ast.Name) and node.id in names


def private_reads(source: str, filename: str = "<source>") -> list[str]:
    """Each private name of another package that `source` reads, as `line: what`."""
    tree = ast.parse(source, filename)
    foreign: set[str] = set()  # names bound to another package's objects by an import
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _foreign(alias.name, 0):
                    if any(_private(part) for part in alias.name.split(".")):
                        found.append(f"{node.lineno}: import {alias.name}")
                    foreign.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and _foreign(node.module, node.level):
            module = node.module or ""
            if any(_private(part) for part in module.split(".")):
                found.append(f"{node.lineno}: from {module} import ...")
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{node.lineno}: from {module} import {alias.name}")
                foreign.add(alias.asname or alias.name)
    for node in ast.walk(tree):  # aliases: `_Driver = asyncpg.Connection[...]`
        if isinstance(node, ast.Assign | ast.AnnAssign) and _rooted_in(node.value, foreign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            foreign.update(t.id for t in targets if isinstance(t, ast.Name))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "super"
        ):
            found.append(f"{node.lineno}: super().{node.attr}")
        if isinstance(node, ast.Attribute):
            chain, root = [node.attr], node.value
            while isinstance(root, ast.Attribute):
                chain.append(root.attr)
                root = root.value
            if isinstance(root, ast.Name) and root.id in foreign and _private(node.attr):
                found.append(f"{node.lineno}: {root.id}.{'.'.join(reversed(chain))}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in REFLECTION
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
        ):
            found.append(f"{node.lineno}: {node.func.id}(..., {node.args[1].value!r})")
    return found


def test_the_scan_finds_each_kind_of_private_read() -> None:
    source = """
import asyncio
import asyncpg.pool
from asyncpg import pool as apool, _private_thing
from asyncpg._internal import x
from opentelemetry import trace
from ._own import _mine
from chip_quality_queries._runtime import _json_default

def f(queue, pool):
    self_like = pool._queue                  # not an import: whose, the scan cannot say
    trace._TRACER_PROVIDER
    asyncpg.pool._PoolConnectionHolderQueue
    apool.Pool.__init__                      # a dunder: fine
    getattr(pool, "_queue", None)
    asyncio._get_running_loop()
    _mine._x

_Base = asyncpg.pool.Pool

class Pool(_Base):
    async def _run(self):
        return await super()._run()
"""
    assert [line.split(": ", 1)[1] for line in private_reads(source)] == [
        "from asyncpg import _private_thing",
        "from asyncpg._internal import ...",
        "trace._TRACER_PROVIDER",
        "asyncpg.pool._PoolConnectionHolderQueue",
        "getattr(..., '_queue')",
        "asyncio._get_running_loop",
        "super()._run",
    ]


@pytest.mark.parametrize(
    "path",
    sorted(p for folder in SCANNED for p in folder.rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_private_name_of_another_package_is_read(path: Path) -> None:
    assert private_reads(path.read_text(encoding="utf-8"), str(path)) == []
