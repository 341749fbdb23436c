"""CHECK constraints translated into pydantic limits take exactly what PostgreSQL stores.

Every translated rule of the golden case `checks` (each form the translator knows,
and neighbours it must refuse) and of type_limits.sql (those forms on columns at
their types' limits) becomes the Check the generated code puts on a field, and is
judged value by value against the server (tests/parity.py): the column's real type
and its live CHECK in a temporary table, values at and beyond every limit, drawn
from the catalog. A rule may refuse nothing the server stores, pass nothing it
refuses, and the server must store what the rule passes.

The project's own rules are judged where they live (Params models, keyword
functions, API schemas): tests/queries/test_rule_parity.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

import asyncpg
import pytest
from pydantic import JsonValue

from chip_quality_queries import _runtime as runtime
from chip_quality_queries._runtime import Check
from sqlc_gen_asyncpg.constraints import Rule, read_checks
from sqlc_gen_asyncpg.inputs import parse_schema, up_sections
from sqlc_gen_asyncpg.row_checks import with_row_rules
from tests.generator.golden import HERE as GENERATOR_TESTS
from tests.parity import (
    REPORT,
    Column,
    ServerJudge,
    Tally,
    Verdict,
    adapter_judge,
    column_values,
    compare,
    failures,
    read_columns,
    table,
)

FORMS = GENERATOR_TESTS / "cases" / "checks" / "schema.sql"
LIMITS = GENERATOR_TESTS / "type_limits.sql"
SAMPLES = with_row_rules(read_checks(parse_schema([FORMS])))
PROBES = read_checks(parse_schema([LIMITS]))
RULES = [*SAMPLES.rules, *PROBES.rules]
SCHEMA = "golden_forms"

PYTHON_TYPES: dict[str, type] = {
    "numeric": Decimal,
    "int": int,
    "float": float,
    "text": str,
    "bytes": bytes,
    "json": JsonValue,
}


@dataclass
class Forms:
    conn: asyncpg.Connection
    columns: dict[str, Column]
    judge: ServerJudge
    tallies: list[Tally] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Forms({len(self.columns)} columns)"


@pytest.fixture(scope="module")
async def forms(shared_db_url: str) -> AsyncIterator[Forms]:
    """Both schema files in a schema of their own of a migrated database."""
    conn = await asyncpg.connect(shared_db_url)
    await runtime.init_connection(conn)  # jsonb as Python data, as the generated code sends it
    try:
        await conn.execute(f"CREATE SCHEMA {SCHEMA}; SET search_path = {SCHEMA}, public")
        for path in (FORMS, LIMITS):
            await conn.execute(up_sections(path.read_text(encoding="utf-8")))
        yield Forms(conn, await read_columns(conn, SCHEMA), ServerJudge(conn))
    finally:
        await conn.close()


def rule_annotation(rule: Rule, column: Column) -> Any:
    """The annotation the generated code gives a field of this column: the column
    type's modifier (numeric(p,s), varchar(n), an integer's range), then the CHECK."""
    python = PYTHON_TYPES[column.kind]
    checks = SAMPLES if rule.table in ("forms", "rows_of_forms", "percent") else PROBES
    modifier = checks.modifier(rule.table, rule.column)
    check = Check(rule.constraint, **rule.field_arguments())
    if modifier is None:
        return Annotated[python, check]
    applied = getattr(runtime, modifier.runtime_class)(*modifier.arguments)
    return Annotated[python, applied, check]


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.table}.{r.constraint}" for r in RULES])
async def test_pydantic_and_postgresql_agree(forms: Forms, rule: Rule) -> None:
    column = forms.columns[f"{rule.table}.{rule.column}"]

    async def server(value: Any) -> Verdict:
        return await forms.judge.judge(column, value)

    tally = await compare(
        Tally("rule", rule.constraint, column.sql_type, rule.constraint),
        adapter_judge(rule_annotation(rule, column)),
        server,
        await column_values(forms.judge, column),
    )
    forms.tallies.append(tally)
    REPORT["rule parity: the translator's CHECK forms"] = table(forms.tallies)
    assert tally.refused and tally.accepted, f"only one side was drawn: {tally.tried} values"
    found = [
        f"{kind.replace('_', ' ')}: {line}"
        for kind in ("false_refusals", "passes_refused", "mismatches")
        for line in failures([tally], kind, examples=6)
    ]
    assert not found, "\n".join(found)


def test_the_forms_are_translated_or_refused_as_documented() -> None:
    translated = {r.constraint for r in SAMPLES.rules}
    refused = {u.constraint: u.reason for u in SAMPLES.untranslated}
    assert translated == {
        "forms_small_check",
        "forms_big_check",
        "forms_exact_check",
        "forms_flipped_check",
        "forms_ratio_check",
        "forms_share_check",
        "forms_code_check",
        "forms_loose_check",
        "forms_label_check",
        "forms_word_check",
        "forms_mode_check",
        "forms_kind_check",
        "forms_digest_check",
        "percent_check",
        "rows_tidy_check",
        "rows_sized_check",
        "rows_measure_check",
        "rows_reading_check",
        "rows_doc_check",
    }
    # Over several columns: RowChecks (judged in tests/queries/test_row_check_parity.py
    # for the project's; here, that they are read as such).
    assert {r.constraint for r in SAMPLES.row_rules} == {
        "forms_pair_check",
        "forms_other_check",
        "rows_order_check",
        "rows_closed_check",
    }
    assert "POSIX class" in refused["forms_spaced_check"]
    assert "\\d" in refused["forms_digits_check"]
    assert "lower()" in refused["forms_lowered_check"]
    # Every form at its type's limits is translated, so each is judged above.
    assert {r.constraint for r in PROBES.rules} == {
        "limits_confidence_check",
        "limits_duration_check",
        "limits_level_check",
        "limits_batch_check",
        "limits_tag_check",
    }
