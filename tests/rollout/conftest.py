"""The rollout test's figures: `make test-rollout` prints them at the end of the run."""

from __future__ import annotations

from typing import Any

REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if REPORT:
        terminalreporter.section("rollout figures")
        for line in REPORT:
            terminalreporter.write_line(line)
