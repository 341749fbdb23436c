"""What each PostgreSQL major gets from the plan tooling: 16 and later explain generic
plans; 15, which has no EXPLAIN (GENERIC_PLAN), is refused by its version number with
a sentence saying so, not with the server's syntax error. `make test-matrix` runs this
on every supported major."""

from __future__ import annotations

import asyncpg
import pytest

from chip_quality_dev import plans
from chip_quality_dev.localdb import PINNED_MAJOR

QUERY = plans.NamedQuery("lots.sql", "GetLot", ":one", "SELECT * FROM lots WHERE id = $1", ())


async def test_generic_plans_on_16_and_later_a_refusal_by_version_before(
    conn: asyncpg.Connection,
) -> None:
    version = int(await conn.fetchval("SHOW server_version_num"))
    if version >= 160000:
        await plans.prepare_session(conn)
        explained = await plans.explain(conn, QUERY)
        assert "lots_pkey" in explained.text
        assert explained.plan is not None and explained.plan["Node Type"] == "Index Scan"
    else:
        with pytest.raises(
            plans.PlanError, match=r"needs PostgreSQL 16 or later; this server is 15"
        ):
            await plans.prepare_session(conn)


async def test_plan_files_are_made_on_the_pinned_major_only(conn: asyncpg.Connection) -> None:
    """queries/plans/ are one major's plans: `make plans` and `plan-check` refuse another."""
    major = int(await conn.fetchval("SHOW server_version_num")) // 10000
    if major == PINNED_MAJOR:
        await plans.require_pinned_major(conn)  # accepted
    else:
        with pytest.raises(plans.PlanError, match=f"this server is PostgreSQL {major}: run"):
            await plans.require_pinned_major(conn)
