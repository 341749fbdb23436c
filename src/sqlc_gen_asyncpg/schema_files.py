"""What sqlc's request leaves out, read from the schema and query files it was given.

A domain arrives by its own name with no base type: domains are resolved here
from `CREATE DOMAIN` statements (composite types are refused by the model).
A parameter arrives nullable both from `sqlc.narg(x)` and from `sqlc.arg(x)`
aimed at a nullable column; only the first is optional, so the query files are
read for their `sqlc.narg` names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_DOMAIN = re.compile(
    r"CREATE\s+DOMAIN\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>[\w.\"]+)\s+(?:AS\s+)?"
    r"(?P<base>[\w.\"]+(?:\s+(?:varying|precision|with\s+time\s+zone|without\s+time\s+zone))?)"
    r"(?:\s*\([^)]*\))?(?P<array>(?:\s*\[\s*\d*\s*\])*)",
    re.IGNORECASE,
)
_LINE_COMMENT = re.compile(r"--[^\n]*")


@dataclass(frozen=True)
class Domain:
    schema: str
    name: str
    base_schema: str
    base_name: str
    array_dims: int


def _split(qualified: str) -> tuple[str, str]:
    qualified = qualified.replace('"', "").lower()
    schema, _, name = qualified.rpartition(".")
    return schema, name


def schema_sql_files(paths: tuple[str, ...], base: Path) -> list[Path]:
    files: list[Path] = []
    for entry in paths:
        path = base / entry
        if path.is_dir():
            files.extend(sorted(path.glob("*.sql")))
        elif path.is_file():
            files.append(path)
    return files


def read_domains(paths: tuple[str, ...], base: Path) -> dict[tuple[str, str], Domain]:
    """Domains declared in the schema files, keyed by (schema or '', name)."""
    domains: dict[tuple[str, str], Domain] = {}
    for path in schema_sql_files(paths, base):
        text = _LINE_COMMENT.sub("", path.read_text(encoding="utf-8", errors="replace"))
        for match in _DOMAIN.finditer(text):
            schema, name = _split(match.group("name"))
            base_schema, base_name = _split(match.group("base"))
            dims = match.group("array").count("[")
            domains[(schema, name)] = Domain(schema, name, base_schema, base_name, dims)
    return domains


_QUERY_NAME = re.compile(r"^--\s*name:\s*(\w+)", re.MULTILINE)
_NARG = re.compile(r"sqlc\.narg\(\s*['\"]?(\w+)['\"]?\s*\)", re.IGNORECASE)


def read_nullable_args(paths: tuple[str, ...], base: Path) -> dict[str, set[str]]:
    """The names given to `sqlc.narg(...)` in each named query of the query files."""
    found: dict[str, set[str]] = {}
    for path in schema_sql_files(paths, base):
        text = path.read_text(encoding="utf-8", errors="replace")
        starts = list(_QUERY_NAME.finditer(text))
        for index, start in enumerate(starts):
            end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
            found[start.group(1)] = set(_NARG.findall(text[start.end() : end]))
    return found
