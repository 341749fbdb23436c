"""What sqlc's request leaves out, read from the schema files it was given.

A domain arrives by its own name with no base type, and a composite type
without its fields. Domains are resolved here from `CREATE DOMAIN` statements;
composite types are refused by the model (see model.py).
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
