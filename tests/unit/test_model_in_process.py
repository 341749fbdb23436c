"""The model and the renderer, in-process, on each golden case's stored request.

No sqlc run and no subprocess: `generate` gets exactly the request sqlc sends for
the case (request.json, kept equal to sqlc's own by test_golden) and must produce
the case's expected files. Every decision the golden cases pin down (read-only
classification, guaranteed rows, never-NULL columns, CHECK translation, names,
composites, commands) is checked here in well under a second per case.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sqlc_gen_asyncpg.__main__ import generate
from sqlc_gen_asyncpg.render import runtime_source
from tests.generator.golden import CASES, RUNTIME_FILE, read_tree, stored_request


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_stored_request_gives_the_expected_files(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(case)  # where sqlc runs the plugin: the config's folder
    files, problems = generate(json.dumps(stored_request(case)).encode())
    assert problems == []
    assert files is not None
    runtimes = [path for path in files if path.endswith(RUNTIME_FILE)]
    assert runtimes
    for path in runtimes:
        assert files.pop(path).partition("\n")[2] == runtime_source()
    assert files == read_tree(case / "expected")


def test_a_query_file_that_is_not_there_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The request's queries came from query.sql; read from a folder where the config
    names another file, the plugin refuses instead of guessing."""
    case = next(c for c in CASES if c.name == "params")
    request = stored_request(case)
    settings = request["settings"]
    assert isinstance(settings, dict)
    request["settings"] = {**settings, "queries": ["other.sql"]}
    (tmp_path / "schema.sql").write_text((case / "schema.sql").read_text())
    (tmp_path / "other.sql").write_text("-- name: Other :exec\nSELECT 1;\n")
    monkeypatch.chdir(tmp_path)
    files, problems = generate(json.dumps(request).encode())
    assert files is None
    assert len(problems) == 1
    assert str(problems[0]).startswith("sqlc.yaml: -: query file 'query.sql' (of query ")
    assert f"is not among the files of `queries` read from {tmp_path}" in str(problems[0])


def test_a_query_the_parser_refuses_is_refused_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """sqlc parses with a parser of its own version: a query text pglast refuses is
    that query's problem, named, and every other query is still read."""
    case = next(c for c in CASES if c.name == "params")
    request = stored_request(case)
    queries = request["queries"]
    assert isinstance(queries, list) and len(queries) > 1
    queries[0] = {**queries[0], "text": "SELEC 1"}
    monkeypatch.chdir(case)
    files, problems = generate(json.dumps(request).encode())
    assert files is None
    assert [str(problem) for problem in problems] == [
        f"query.sql: {queries[0]['name']}: PostgreSQL's parser refused the query: "
        'syntax error at or near "SELEC", at index 0'
    ]


def test_a_schema_file_the_parser_refuses_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    case = next(c for c in CASES if c.name == "params")
    (tmp_path / "schema.sql").write_text("CREATE TABLE broken (")
    (tmp_path / "query.sql").write_text((case / "query.sql").read_text())
    monkeypatch.chdir(tmp_path)
    files, problems = generate(json.dumps(stored_request(case)).encode())
    assert files is None
    assert len(problems) == 1
    assert str(problems[0]).startswith(
        f"sqlc.yaml: -: schema file {tmp_path / 'schema.sql'} is not SQL PostgreSQL's parser reads"
    )
