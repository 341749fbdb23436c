"""The figures `make coverage` ends with: statements and branches covered per part of
the project, from coverage.py's JSON report, and whether the runtime and the
generator reach the bar the original description of the module sets (95%).

    python -m chip_quality_dev.coverage_summary .localdb/coverage/coverage.json

Exit status 1 when a part with a bar is under it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

# (folder, the least share of statements covered, or None when only reported).
PARTS: tuple[tuple[str, float | None], ...] = (
    ("src/chip_quality_db", 95.0),
    ("tools/sqlc_gen_asyncpg", 95.0),
    ("generated/chip_quality_queries", None),
    ("tools/chip_quality_dev", None),
)


@dataclass
class Tally:
    statements: int = 0
    covered_statements: int = 0
    branches: int = 0
    covered_branches: int = 0

    def add(self, summary: dict[str, int]) -> None:
        self.statements += summary["num_statements"]
        self.covered_statements += summary["covered_lines"]
        self.branches += summary.get("num_branches", 0)
        self.covered_branches += summary.get("covered_branches", 0)

    @staticmethod
    def share(part: int, whole: int) -> float:
        return 100.0 * part / whole if whole else 100.0


def tallies(report: dict[str, dict[str, dict[str, dict[str, int]]]]) -> dict[str, Tally]:
    found = {folder: Tally() for folder, _ in PARTS}
    for name, data in report["files"].items():
        for folder in found:
            if name.startswith(folder + "/"):
                found[folder].add(data["summary"])
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m chip_quality_dev.coverage_summary COVERAGE_JSON", file=sys.stderr)
        return 2
    found = tallies(json.loads(Path(argv[0]).read_text()))
    print(f"{'part':34} {'statements':>22} {'branches':>20}   bar")
    short = []
    for folder, bar in PARTS:
        tally = found[folder]
        statements = Tally.share(tally.covered_statements, tally.statements)
        branches = Tally.share(tally.covered_branches, tally.branches)
        verdict = "" if bar is None else ("met" if statements >= bar else "UNDER")
        if verdict == "UNDER":
            short.append(folder)
        print(
            f"{folder:34} {tally.covered_statements:>6,}/{tally.statements:<6,} {statements:5.1f}%"
            f" {tally.covered_branches:>5,}/{tally.branches:<5,} {branches:5.1f}%"
            f"   {'' if bar is None else f'{bar:g}% {verdict}'}"
        )
    if short:
        print(f"under the bar: {', '.join(short)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
