"""Refresh the materialized analytics views (migration 20261201000300).

    refreshed = await refresh(conn)            # all three, one after another

Each view is refreshed CONCURRENTLY by analytics_refresh(): readers keep
reading the previous contents until the new ones commit, and the view's row in
analytics_refreshes records when (the read queries return it as refreshed_at).
Each refresh commits on its own, so one view that fails leaves the others
refreshed and its own last contents in place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from chip_quality_queries import Executor
from chip_quality_queries import analytics as queries

VIEWS = ("analytics_lot_yield", "analytics_defect_pareto", "analytics_inference_latency")


@dataclass(frozen=True)
class Refresh:
    view_name: str
    refreshed_at: dt.datetime
    duration_ms: float

    def __str__(self) -> str:
        at = f"{self.refreshed_at:%Y-%m-%d %H:%M:%S%z}"
        return f"{self.view_name}: refreshed in {self.duration_ms:.0f} ms at {at}"


async def refresh(conn: Executor, views: tuple[str, ...] = VIEWS) -> list[Refresh]:
    unknown = [view for view in views if view not in VIEWS]
    if unknown:
        raise ValueError(f"not an analytics view: {', '.join(unknown)} (one of {', '.join(VIEWS)})")
    done = []
    for view in views:
        row = await queries.refresh_analytics_view(conn, view_name=view)
        assert row is not None  # the function returns its row
        done.append(Refresh(row.view_name, row.refreshed_at, row.duration_ms))
    return done
