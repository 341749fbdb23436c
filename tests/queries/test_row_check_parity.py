"""The CHECKs over several columns that the generator translates into RowChecks
(models.py) decide exactly as PostgreSQL does.

Every translated row CHECK of the schema is judged on every combination of a few
values per column (NULL, the boundaries its expression compares with, each enum
label), by the server (the CHECK expression over a one-row relation with the
columns' real types) and by the RowCheck. With every column given they must agree
on every row. With one column UNKNOWN (a partial update keeps what the column
holds) the RowCheck may refuse only when the server refuses whatever that column
holds.
"""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from pydantic import ValidationError

from chip_quality_queries import models
from chip_quality_queries._runtime import UNKNOWN, RowCheck
from sqlc_gen_asyncpg.constraints import RowRule, read_checks
from sqlc_gen_asyncpg.inputs import parse_schema
from sqlc_gen_asyncpg.row_checks import with_row_rules

ROOT = Path(__file__).resolve().parents[2]
ROW_RULES = with_row_rules(
    read_checks(parse_schema(sorted((ROOT / "schema/migrations").glob("*.sql"))))
).row_rules
MOMENT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

# A few values per type: NULL, both sides of what the CHECKs compare with.
VALUES: dict[str, list[Any]] = {
    "integer": [None, -1, 0, 1, 5],
    "bigint": [None, -1, 0, 1, 5],
    "smallint": [None, -1, 0, 1],
    "numeric": [None, Decimal(-1), Decimal(0), Decimal("0.5"), Decimal("NaN")],
    "double precision": [None, -1.0, 0.0, 1.5, math.nan],
    "timestamp with time zone": [
        None,
        MOMENT,
        MOMENT + timedelta(seconds=1),
        MOMENT - timedelta(days=1),
    ],
    "date": [None, date(2026, 1, 1), date(2026, 1, 2)],
    "text": [None, "", " ", "a", " a "],
    "jsonb": [None, {}, [], "s", 1],
    "text[]": [None, [], ["a"]],
    "uuid": [None, UUID(int=1)],
    "boolean": [None, True, False],
}


async def column_domains(conn: asyncpg.Connection, rule: RowRule) -> list[tuple[str, list[Any]]]:
    """(the column's real type, the values tried) for each column of the rule."""
    domains = []
    for column in rule.columns:
        row = await conn.fetchrow(
            """
            SELECT format_type(a.atttypid, a.atttypmod) AS type_name,
                   array(SELECT enumlabel::text FROM pg_enum e
                         WHERE e.enumtypid = a.atttypid ORDER BY enumsortorder) AS labels
            FROM pg_attribute a
            WHERE a.attrelid = $1::regclass AND a.attname = $2
            """,
            rule.table,
            column,
        )
        assert row is not None, (rule.table, column)
        type_name = row["type_name"]
        values = [None, *row["labels"]] if row["labels"] else VALUES[type_name]
        domains.append((type_name, values))
    return domains


def server_sql(rule: RowRule, types: list[str]) -> str:
    columns = ", ".join(
        f'$%d::text::jsonb AS "{c}"' % (i + 1) if t == "jsonb" else f'$%d::{t} AS "{c}"' % (i + 1)
        for i, (c, t) in enumerate(zip(rule.columns, types, strict=True))
    )
    return f"SELECT ({rule.check_sql}) IS NOT FALSE FROM (SELECT {columns}) AS candidate"


def sent(value: Any, type_name: str) -> Any:
    return json.dumps(value) if type_name == "jsonb" and value is not None else value


def client_accepts(check: RowCheck, row: dict[str, Any]) -> bool:
    try:
        check.check(**row)
    except ValidationError as error:
        assert {e["type"] for e in error.errors()} == {"check_violation"}
        return False
    return True


@pytest.mark.parametrize("rule", ROW_RULES, ids=[r.constraint for r in ROW_RULES])
async def test_row_checks_decide_as_postgresql(
    shared_conn: asyncpg.Connection, rule: RowRule
) -> None:
    check = getattr(models, rule.constraint.upper())
    assert isinstance(check, RowCheck)
    domains = await column_domains(shared_conn, rule)
    types = [t for t, _ in domains]
    statement = await shared_conn.prepare(server_sql(rule, types))
    server: dict[tuple[Any, ...], bool] = {}
    for values in itertools.product(*(v for _, v in domains)):
        key = tuple(json.dumps(v, default=str) for v in values)
        server[key] = bool(
            await statement.fetchval(*(sent(v, t) for v, t in zip(values, types, strict=True)))
        )
        row = dict(zip(rule.columns, values, strict=True))
        assert client_accepts(check, row) == server[key], (rule.check_sql, row, server[key])
    assert True in server.values() and False in server.values(), f"one side only: {rule.constraint}"

    # One column UNKNOWN: a refusal must hold whatever that column holds.
    refusals = 0
    for position, column in enumerate(rule.columns):
        others = [v for i, (_, v) in enumerate(domains) if i != position]
        for values in itertools.product(*others):
            row = dict(zip([c for c in rule.columns if c != column], values, strict=True))
            if client_accepts(check, {**row, column: UNKNOWN}):
                continue
            refusals += 1
            for value in domains[position][1]:
                full = [*values[:position], value, *values[position:]]
                key = tuple(json.dumps(v, default=str) for v in full)
                assert not server[key], (rule.check_sql, row, column, value)
    print(f"{rule.constraint}: {len(server)} rows agree, {refusals} refusals with a column unknown")


async def test_a_params_model_refuses_a_row_its_check_refuses() -> None:
    from chip_quality_queries.lots import UpdateLotParams

    lot = UUID(int=7)
    UpdateLotParams(lot_id=lot, quantity_inspected=5, quantity_rejected=5)
    UpdateLotParams(lot_id=lot, quantity_rejected=9)  # quantity_inspected kept: unknown
    with pytest.raises(ValidationError, match="lots_quantity_rejected_check"):
        UpdateLotParams(lot_id=lot, quantity_inspected=5, quantity_rejected=6)
    with pytest.raises(ValidationError, match="lots_quantity_inspected_check"):
        UpdateLotParams(lot_id=lot, quantity_inspected=-1)  # false whatever batch_size is
