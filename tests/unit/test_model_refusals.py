"""Requests sqlc itself would not send, refused by the plugin with one line naming
the query and the problem.

sqlc checks much before it starts a plugin (commands it knows, :copyfrom's INSERT
form, queries that return columns for :one), but the plugin does not rely on it: a
newer sqlc, another front end or a hand-written request reaches the same checks,
and each must end in a problem, never a traceback or a package built from a wrong
guess. These run `generate` in-process on a golden case's stored request with one
query changed, the only way to reach them without sqlc in between.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sqlc_gen_asyncpg.__main__ import generate
from tests.generator.golden import CASES, stored_request

Change = Callable[[dict[str, Any]], None]


def _query(request: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(q for q in request["queries"] if q["name"] == name)
    return found


def _problems(case: str, change: Change, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    folder = next(c for c in CASES if c.name == case)
    request = stored_request(folder)
    change(request)
    monkeypatch.chdir(folder)  # the query files are read from where sqlc runs the plugin
    files, problems = generate(json.dumps(request).encode())
    assert (files is None) == bool(problems)
    return [str(problem) for problem in problems]


def _set(query: str, **values: Any) -> Change:
    def change(request: dict[str, Any]) -> None:
        _query(request, query).update(values)

    return change


def _extra_param(request: dict[str, Any]) -> None:
    """CopyUsers with a $3 that none of the VALUES is."""
    query = _query(request, "CopyUsers")
    extra = copy.deepcopy(query["params"][1])
    extra["number"] = 3
    query["params"].append(extra)


def _returning(request: dict[str, Any]) -> None:
    _query(request, "CopyUsers")["columns"] = _query(request, "ListUsers")["columns"]


COPY_REFUSALS: list[tuple[str, Change, str]] = [
    (
        "an unknown command",
        _set("CopyUsers", cmd=":bogus"),
        "CopyUsers: command ':bogus' is not supported",
    ),
    (
        ":execlastid on a query sqlc accepts",
        _set("ListUsers", cmd=":execlastid"),
        "ListUsers: :execlastid is not supported: PostgreSQL has no last insert id; "
        "use INSERT ... RETURNING id with :one",
    ),
    (
        "a name that gives no identifier",
        _set("CopyUsers", name="1Copy"),
        "1Copy: the query name gives function '1_copy', which is not a Python identifier: "
        "rename the query",
    ),
    (
        ":one without columns",
        _set("ListUsers", cmd=":one", columns=[]),
        "ListUsers: :one needs a query that returns columns",
    ),
    (
        ":copyfrom without a table",
        _set("CopyUsers", insert_into_table=None),
        "CopyUsers: :copyfrom needs an INSERT INTO table (...) VALUES ...",
    ),
    (
        ":copyfrom returning rows",
        _returning,
        "CopyUsers: :copyfrom cannot return rows: remove RETURNING",
    ),
    (
        ":copyfrom without parameters",
        _set("CopyUsers", params=[]),
        "CopyUsers: :copyfrom needs parameters: one row of them per item",
    ),
    (
        ":copyfrom from a SELECT",
        _set("CopyUsers", text='INSERT INTO user_data (id, "user") SELECT $1, $2'),
        "CopyUsers: :copyfrom needs an INSERT INTO table (...) VALUES (...)",
    ),
    (
        ":copyfrom without a column list",
        _set("CopyUsers", text="INSERT INTO user_data VALUES ($1, $2)"),
        "CopyUsers: :copyfrom needs the INSERT's column list",
    ),
    (
        ":copyfrom with fewer values than columns",
        _set("CopyUsers", text='INSERT INTO user_data (id, "user", joined) VALUES ($1, $2)'),
        "CopyUsers: :copyfrom: the INSERT fills 3 columns with 2 values",
    ),
    (
        ":copyfrom computing a value",
        _set("CopyUsers", text='INSERT INTO user_data (id, "user", joined) VALUES ($1, $2, now())'),
        "CopyUsers: :copyfrom: VALUES item 3 is not a parameter: COPY sends values, it cannot "
        "compute them (use :batchexec for expressions and defaults)",
    ),
    (
        ":copyfrom with one parameter twice",
        _set("CopyUsers", text='INSERT INTO user_data (id, "user") VALUES ($1, $1)'),
        "CopyUsers: :copyfrom: a parameter fills two columns: COPY sends one per column",
    ),
    (
        ":copyfrom with a parameter outside the VALUES",
        _extra_param,
        "CopyUsers: :copyfrom: every parameter must be one of the VALUES, and nothing else",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"),
    [(change, message) for _, change, message in COPY_REFUSALS],
    ids=[what for what, _, _ in COPY_REFUSALS],
)
def test_a_query_sqlc_would_have_refused_is_refused_by_name(
    change: Change, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _problems("copyfrom", change, monkeypatch) == [f"query.sql: {message}"]


def test_a_query_with_returning_may_run_as_exec(monkeypatch: pytest.MonkeyPatch) -> None:
    """:exec, :execrows and :execresult run a query and ignore its rows: not a problem."""
    for command in (":exec", ":execrows", ":execresult"):
        assert _problems("copyfrom", _set("ListUsers", cmd=command), monkeypatch) == []


def test_another_engine_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def mysql(request: dict[str, Any]) -> None:
        request["settings"]["engine"] = "mysql"

    assert _problems("copyfrom", mysql, monkeypatch) == [
        "sqlc.yaml: -: engine 'mysql' is not supported: sqlc-gen-asyncpg targets PostgreSQL"
    ]


def test_a_malformed_request_is_one_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_list(request: dict[str, Any]) -> None:
        request["queries"] = "ListUsers"

    [problem] = _problems("copyfrom", no_list, monkeypatch)
    assert problem.startswith("request: -: malformed GenerateRequest: ")


def _without_point3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The composites case's request, run where the schema file no longer defines
    point3 (its attributes come from the schema files, never from sqlc's catalog)."""
    case = next(c for c in CASES if c.name == "composites")
    schema = (case / "schema.sql").read_text()
    for line in ("CREATE TYPE point3 AS (", "COMMENT ON TYPE point3 "):
        schema = "\n".join(s for s in schema.splitlines() if not s.startswith(line))
    (tmp_path / "schema.sql").write_text(schema)
    (tmp_path / "query.sql").write_text((case / "query.sql").read_text())
    monkeypatch.chdir(tmp_path)
    return stored_request(case)


def test_a_composite_without_attributes_refuses_each_use_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = _without_point3(tmp_path, monkeypatch)
    files, problems = generate(json.dumps(request).encode())
    assert files is None
    missing = "composite type 'point3': its attributes are not in the schema files"
    held = f"composite type 'placement': attribute 'at': {missing}"
    assert [str(p) for p in problems] == [
        f"query.sql: CreateThing: parameter $2 (location): {missing}",
        f"query.sql: CreateThing: parameter $3 (placements): {held}",
        f"query.sql: GetThing: column 'location': {missing}",
        f"query.sql: GetThing: column 'placements': {held}",
        f"query.sql: ThingLocation: column 'location': {missing}",
        f"query.sql: ThingsAt: parameter $1 (location): {missing}",
        f"query.sql: MovedThing: column 'moved': {missing}",
        f"query.sql: AllPlacements: column 'placements': {held}",
    ]


def test_an_embedded_table_without_a_model_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sqlc.embed() of a table whose model could not be built (a column of such a
    composite), or of a table the catalog does not hold: each embed is named."""
    request = _without_point3(tmp_path, monkeypatch)
    query = _query(request, "GetThing")
    columns = {column["name"]: column for column in query["columns"]}

    def embedded(table: str) -> dict[str, Any]:
        column = copy.deepcopy(columns["id"])
        column.update(name=table, embed_table={"catalog": "", "name": table, "schema": ""})
        return column

    query["columns"] = [embedded("things"), embedded("nowhere"), columns["location"], columns["id"]]
    request["queries"] = [query]
    files, problems = generate(json.dumps(request).encode())
    assert files is None
    assert [str(p) for p in problems] == [
        "query.sql: GetThing: sqlc.embed(things): its table has a column of an unsupported type",
        "query.sql: GetThing: sqlc.embed(nowhere): unknown table",
        "query.sql: GetThing: column 'location': composite type 'point3': its attributes are "
        "not in the schema files",
    ]


def test_a_request_that_is_no_json_object_says_so() -> None:
    """What sqlc sends with `format: json` missing from the plugin's config (protobuf)."""
    files, problems = generate(b"\x0a\x02v1")
    assert files is None
    [problem] = [str(p) for p in problems]
    assert problem.startswith("request: -: the request is not JSON (")
    assert problem.endswith("); is `format: json` set?")
    assert [str(p) for p in generate(b"[]")[1]] == ["request: -: the request is not a JSON object"]
