"""The plugin refuses bad input with one clear line each and exit 1, never a traceback."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest

from sqlc_gen_asyncpg import names
from sqlc_gen_asyncpg.options import OptionsError, parse_options

pytestmark = pytest.mark.unit


def run_plugin(stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["sqlc-gen-asyncpg"], input=stdin, capture_output=True, check=False)


def minimal_request(options: dict[str, object] | None) -> bytes:
    encoded = base64.b64encode(json.dumps(options).encode()).decode() if options else ""
    return json.dumps(
        {
            "settings": {"engine": "postgresql", "schema": [], "queries": []},
            "catalog": {"default_schema": "public", "schemas": []},
            "queries": [],
            "sqlc_version": "v1.31.1",
            "plugin_options": encoded,
        }
    ).encode()


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"\x0a\x03abc", "the request is not JSON"),
        (b"[1, 2]", "the request is not a JSON object"),
        (b'{"queries": []}', "malformed GenerateRequest"),
        (minimal_request(None), "the option `package` is required"),
        (minimal_request({"package": "ok", "max_params": -1}), "max_params"),
        (minimal_request({"package": "ok", "bogus": 1}), "unknown option 'bogus'"),
    ],
)
def test_bad_request_gives_one_line_and_exit_1(stdin: bytes, message: str) -> None:
    result = run_plugin(stdin)
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert message in stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert result.stdout == b""


def test_minimal_request_gives_a_package_with_its_support_files() -> None:
    result = run_plugin(minimal_request({"package": "empty_pkg"}))
    assert result.returncode == 0, result.stderr
    files = {f["name"] for f in json.loads(result.stdout)["files"]}
    assert files == {
        "empty_pkg/__init__.py",
        "empty_pkg/_runtime.py",
        "empty_pkg/models.py",
        "empty_pkg/py.typed",
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"package": "p", "overrides": [{"py_type": "x.Y"}]}, "one of `db_type`, `column` or"),
        (
            {"package": "p", "overrides": [{"result": "Q.c", "column": "t.c", "py_type": "x.Y"}]},
            "exactly one of",
        ),
        ({"package": "p", "overrides": [{"result": "nodot", "py_type": "x.Y"}]}, "QueryName"),
        ({"package": "p", "overrides": [{"result": "Q.c", "py_type": "list[x.Y"}]}, "py_type"),
        ({"package": "p", "overrides": [{"column": "nodot", "py_type": "x.Y"}]}, "table.column"),
        ({"package": "p", "overrides": [{"db_type": "jsonb", "py_type": "not a type"}]}, "py_type"),
        ({"package": "p", "rename": {"t": "bad name"}}, "not a class name"),
        ({"package": "p", "iterators": "ListAll"}, "list of names"),
        ({"package": "class"}, "Python identifier"),
    ],
)
def test_bad_options_name_the_option(raw: dict[str, object], message: str) -> None:
    with pytest.raises(OptionsError, match=message.replace("`", ".").replace("(", ".")):
        parse_options(json.dumps(raw).encode())


@pytest.mark.parametrize(
    ("sql", "python"),
    [
        ("inference_jobs", "InferenceJob"),
        ("parts", "Part"),
        ("audit_log", "AuditLog"),
        ("categories", "Category"),
        ("statuses", "Status"),
        ("boxes", "Box"),
        ("class", "Class"),
    ],
)
def test_table_names_become_singular_classes(sql: str, python: str) -> None:
    assert names.class_name_for_table(sql) == python


def test_keywords_and_builtins_are_escaped() -> None:
    assert names.parameter_name("id", keyword_argument=True) == "id_"
    assert names.parameter_name("from", keyword_argument=True) == "from_"
    assert names.parameter_name("lot_id", keyword_argument=True) == "lot_id"
    # The generated function's own names clash only with its keyword arguments.
    assert names.parameter_name("db", keyword_argument=True) == "db_"
    assert names.parameter_name("db", keyword_argument=False) == "db"
    assert names.parameter_name("model_config", keyword_argument=False) == "model_config_"
    assert names.field_name("id") == "id"  # attributes shadow nothing
    assert names.field_name("class") == "class_"
    assert names.field_name("schema") == "schema_"  # a BaseModel attribute
    assert names.field_name("model_dump") == "model_dump_"
    assert names.snake_case("GetLotByNumber") == "get_lot_by_number"
    assert names.pascal_case("list_lots") == "ListLots"
