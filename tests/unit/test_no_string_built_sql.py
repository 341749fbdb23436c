"""No query text is built by string formatting in src/ or generated/: values travel as
parameters, so hostile input cannot become SQL."""

from __future__ import annotations

import ast
from pathlib import Path

from ..conftest import ROOT

EXECUTING = {
    "execute",
    "executemany",
    "fetch",
    "fetchrow",
    "fetchval",
    "cursor",
    "prepare",
    "copy_records_to_table",
    "copy_from_query",
}


def formatted(node: ast.expr) -> bool:
    """An f-string, `%` formatting, `+` concatenation or `.format()` of a string."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    )


def offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in EXECUTING
            and node.args
            and formatted(node.args[0])
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.func.attr}(<formatted>)")
        if isinstance(node, ast.Assign) and formatted(node.value):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if any(name.isupper() and name.endswith(("SQL", "QUERY")) for name in names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: formatted SQL constant")
    return found


def test_no_query_text_is_built_by_string_formatting() -> None:
    files = [*sorted((ROOT / "src").rglob("*.py")), *sorted((ROOT / "generated").rglob("*.py"))]
    assert len(files) > 20
    problems = [problem for path in files for problem in offences(path)]
    assert problems == []


def test_the_check_catches_formatting() -> None:
    bad = ast.parse(
        'conn.execute(f"SELECT {x}")\nconn.fetch("SELECT %s" % x)\n'
        'conn.fetchrow("SELECT {}".format(x))\n'
    )
    calls = [
        n
        for n in ast.walk(bad)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in EXECUTING
    ]
    assert len(calls) == 3 and all(formatted(c.args[0]) for c in calls)
