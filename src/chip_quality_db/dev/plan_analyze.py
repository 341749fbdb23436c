"""Placeholder: the measured report (make plans ANALYZE=1) comes next."""

from __future__ import annotations


async def run(url: str) -> int:
    raise NotImplementedError(url)
