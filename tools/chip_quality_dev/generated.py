"""Fail when generated/ differs from what `make generate` would write.

    python -m chip_quality_dev.generated

Copies sqlc.yaml, schema/ and queries/ to a scratch folder, runs sqlc there and
compares the whole output tree with generated/, so a stale module left behind
by a deleted query file counts as drift too (`sqlc diff` misses those).
"""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

INPUTS = ("sqlc.yaml", "schema", "queries")
OUTPUT = Path("generated")


def _tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for name in INPUTS:
            source = Path(name)
            if source.is_dir():
                shutil.copytree(source, scratch / name)
            else:
                shutil.copy(source, scratch / name)
        result = subprocess.run(
            ["sqlc", "generate"], cwd=scratch, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            print(f"generated: sqlc failed:\n{result.stderr}", file=sys.stderr)
            return 1
        expected, actual = _tree(scratch / OUTPUT), _tree(OUTPUT)
    if expected == actual:
        print("generated: generated/ matches the queries")
        return 0
    for name in sorted(set(expected) | set(actual)):
        if expected.get(name) != actual.get(name):
            sys.stdout.writelines(
                difflib.unified_diff(
                    actual.get(name, "").splitlines(keepends=True),
                    expected.get(name, "").splitlines(keepends=True),
                    fromfile=f"generated/{name} (committed)",
                    tofile=f"generated/{name} (sqlc)",
                )
            )
    print(
        "generated: generated/ is out of date: run `make generate` and commit it", file=sys.stderr
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
