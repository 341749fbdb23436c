"""The process plugin: GenerateRequest (JSON) on stdin, GenerateResponse (JSON) on stdout.

Exit 0 with the files, or exit 1 with one line per problem on stderr in the
form `file: QueryName: message`. Bad input never ends in a traceback.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

from .inputs import InputError, read_inputs
from .ir import Problem
from .model import build
from .options import OptionsError, parse_options
from .render import render_package
from .request import RequestError, parse_request


def generate(raw: bytes) -> tuple[dict[str, str] | None, list[Problem]]:
    """Files (path -> text) for a raw request, or the problems that prevent them."""
    try:
        request = parse_request(raw)
    except RequestError as exc:
        return None, [Problem("request", "-", str(exc))]
    if request.settings.engine and request.settings.engine != "postgresql":
        return None, [
            Problem(
                "sqlc.yaml",
                "-",
                f"engine {request.settings.engine!r} is not "
                "supported: sqlc-gen-asyncpg targets PostgreSQL",
            )
        ]
    try:
        options = parse_options(request.plugin_options)
    except OptionsError as exc:
        return None, [Problem("sqlc.yaml", "options", str(exc))]
    try:
        inputs = read_inputs(request, options, Path.cwd())
    except InputError as exc:
        return None, [Problem("sqlc.yaml", "-", str(exc))]
    package, problems = build(inputs)
    if package is None:
        return None, problems
    return render_package(package), []


def response_json(files: dict[str, str]) -> str:
    entries = [
        {"name": name, "contents": base64.b64encode(text.encode()).decode("ascii")}
        for name, text in sorted(files.items())
    ]
    return json.dumps({"files": entries})


def main() -> int:
    files, problems = generate(sys.stdin.buffer.read())
    if files is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    sys.stdout.write(response_json(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
