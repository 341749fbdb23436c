"""The plugin as sqlc runs it, a process: bad input gives one line on stderr and
exit 1, never a traceback; a minimal request gives a package."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest


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
        "empty_pkg/_catalog.py",
        "empty_pkg/models.py",
        "empty_pkg/py.typed",
    }
