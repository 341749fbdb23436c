"""The plan files' inputs and outputs without a database: queries and markers found in
queries/*.sql, deterministic rendering, drift, and the keyset test on the parse tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from chip_quality_dev import plans
from chip_quality_dev.plan_rules import Catalog, is_keyset_paginated, query_violations
from chip_quality_queries import audit_log, lots

ROOT = Path(__file__).resolve().parents[2]


def test_every_named_query_of_the_repository_is_found_with_its_generated_sql() -> None:
    found = plans.named_queries(ROOT / "queries")
    names = {(query.source, query.name) for query in found}
    assert ("lots.sql", "ListLots") in names
    assert ("defects.sql", "IngestDefects") in names
    by_name = {query.name: query for query in found}
    assert by_name["GetLotByNumber"].sql == lots.GET_LOT_BY_NUMBER
    assert len(names) == len(found), "a query name appears twice"


def test_the_full_scan_marker_is_read_from_the_comments_of_its_query(tmp_path: Path) -> None:
    (tmp_path / "things.sql").write_text(
        "-- name: CountThings :one\n"
        "-- How many things.\n"
        "-- plan: full-scan Counting every row reads the table.\n"
        "SELECT count(*) FROM things;\n\n"
        "-- name: GetThing :one\n"
        "SELECT * FROM things WHERE id = $1; -- plan: the word but no marker kind\n"
    )
    sources = plans.read_sources(tmp_path)
    assert sources == {
        "things.sql": [
            ("CountThings", ":one", ["full-scan Counting every row reads the table."]),
            ("GetThing", ":one", ["the word but no marker kind"]),
        ]
    }
    count = plans.NamedQuery("things.sql", "CountThings", ":one", "", ("full-scan why",))
    get = plans.NamedQuery("things.sql", "GetThing", ":one", "", ("the word",))
    assert count.full_scan
    assert not get.full_scan


def test_a_marker_before_any_query_is_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "stray.sql").write_text("-- plan: full-scan\nSELECT 1;\n")
    with pytest.raises(plans.PlanError, match=r"stray\.sql"):
        plans.read_sources(tmp_path)


def test_a_marked_query_is_a_string_in_a_sql_literal_not_a_marker(tmp_path: Path) -> None:
    # The scanner tells comments from literals: '-- plan: full-scan' in a string is data.
    (tmp_path / "q.sql").write_text("-- name: Odd :one\nSELECT '-- plan: full-scan' AS text;\n")
    assert plans.read_sources(tmp_path) == {"q.sql": [("Odd", ":one", [])]}


def _explained(name: str, text: str) -> plans.Explained:
    return plans.Explained(plans.NamedQuery("lots.sql", name, ":one", "SELECT 1"), text)


def test_rendering_is_deterministic_and_follows_the_file_order() -> None:
    items = [_explained("GetLot", "Index Scan"), _explained("CountLots", "Aggregate")]
    first, second = plans.rendered_files(items), plans.rendered_files(list(items))
    assert first == second
    text = first[plans.PLANS_DIR / "lots.md"]
    assert text.index("## GetLot") < text.index("## CountLots")
    assert "```\nIndex Scan\n```" in text
    marked = plans.Explained(
        plans.NamedQuery("lots.sql", "CountLots", ":one", "", ("full-scan counts all",)), "Seq"
    )
    assert "Marked: `-- plan: full-scan counts all`" in plans.render("lots.sql", [marked])


def test_drift_is_reported_for_a_changed_missing_or_extra_plan_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = plans.rendered_files([_explained("GetLot", "Index Scan using lots_pkey on lots")])
    (tmp_path / "lots.md").write_text(next(iter(files.values())))
    assert not plans.drift(files, tmp_path)

    changed = plans.rendered_files([_explained("GetLot", "Seq Scan on lots")])
    assert plans.drift(changed, tmp_path)
    assert "+Seq Scan on lots" in capsys.readouterr().out

    (tmp_path / "gone.md").write_text("plans of a deleted query file\n")
    assert plans.drift(files, tmp_path)


def test_keyset_paginated_lists_are_recognised_from_the_parse_tree() -> None:
    assert is_keyset_paginated(lots.LIST_LOTS)
    assert is_keyset_paginated(audit_log.LIST_AUDIT_ENTRIES)
    assert not is_keyset_paginated(lots.LOTS_OF_PART_BY_STATUS)  # ordered, no LIMIT
    assert not is_keyset_paginated(lots.COUNT_LOTS)
    assert not is_keyset_paginated(lots.UPDATE_LOT)


async def test_a_utility_statement_has_no_plan_and_says_so_without_a_server() -> None:
    ddl = "-- name: CreateScratch :exec\nCREATE TEMP TABLE scratch (LIKE lots) ON COMMIT DROP\n"
    assert plans.utility_statement(ddl) == "CREATE TABLE"
    local_setting = "SELECT set_config('lock_timeout', $1::text, true)"
    for planned in (lots.GET_LOT, lots.UPDATE_LOT, local_setting):
        assert plans.utility_statement(planned) is None
    query = plans.NamedQuery("scratch.sql", "CreateScratch", ":exec", ddl)
    explained = await plans.explain(None, query)  # type: ignore[arg-type]  # never reached
    assert explained.text == "(no plan: CREATE TABLE is a utility statement)"
    assert explained.plan == {}
    large = Catalog(rows={"lots": 1e6}, watched_indexes={}, unindexed_foreign_keys=[])
    assert query_violations(explained, large) == []
