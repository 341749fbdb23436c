"""What sqlc's request leaves out, read from the schema and query files it was given.

A domain arrives by its own name with no base type: domains are resolved here
from `CREATE DOMAIN` statements. A composite type arrives without its fields:
they are read here from `CREATE TYPE ... AS (...)` (and `ALTER TYPE`, `DROP TYPE`)
with PostgreSQL's own parser.
A parameter arrives nullable both from `sqlc.narg(x)` and from `sqlc.arg(x)`
aimed at a nullable column; only the first is optional, so the query files are
read for their `sqlc.narg` names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pglast
from pglast import ast
from pglast.enums import AlterTableType, ObjectType

from .constraints import up_sections

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


@dataclass(frozen=True)
class Attribute:
    name: str
    type_schema: str  # as written ('' when unqualified; pg_catalog for some built-ins)
    type_name: str
    array_dims: int


@dataclass(frozen=True)
class Composite:
    schema: str  # as written, '' when unqualified
    name: str
    attributes: tuple[Attribute, ...]


def read_composites(files: list[Path]) -> dict[tuple[str, str], Composite] | None:
    """Composite types the schema files leave in place, keyed by (schema or '', name),
    their attributes in order; None when a file is not SQL PostgreSQL's parser reads."""
    found: dict[tuple[str, str], list[Attribute]] = {}
    for path in files:
        try:
            statements = pglast.parse_sql(up_sections(path.read_text(encoding="utf-8")))
        except pglast.parser.ParseError:
            return None
        for raw in statements:
            _apply_type_statement(raw.stmt, found)
    return {key: Composite(key[0], key[1], tuple(attrs)) for key, attrs in found.items()}


def _apply_type_statement(stmt: Any, found: dict[tuple[str, str], list[Attribute]]) -> None:
    if isinstance(stmt, ast.CompositeTypeStmt) and stmt.typevar is not None:
        key = _range_key(stmt.typevar)
        found[key] = [_attribute(d) for d in stmt.coldeflist or () if d.colname]
    elif isinstance(stmt, ast.DropStmt) and stmt.removeType == ObjectType.OBJECT_TYPE:
        for obj in stmt.objects or ():
            if isinstance(obj, ast.TypeName):
                found.pop(_names_key(obj.names), None)
    elif isinstance(stmt, ast.RenameStmt) and stmt.renameType == ObjectType.OBJECT_TYPE:
        renamed = _names_key(stmt.object) if isinstance(stmt.object, tuple) else None
        if renamed is not None and renamed in found and stmt.newname:
            found[(renamed[0], str(stmt.newname))] = found.pop(renamed)
    elif isinstance(stmt, ast.RenameStmt) and stmt.renameType == ObjectType.OBJECT_ATTRIBUTE:
        attrs = found.get(_range_key(stmt.relation)) if stmt.relation is not None else None
        if attrs is not None and stmt.newname:
            attrs[:] = [
                replace(attr, name=str(stmt.newname)) if attr.name == stmt.subname else attr
                for attr in attrs
            ]
    elif (
        isinstance(stmt, ast.AlterTableStmt)
        and stmt.objtype == ObjectType.OBJECT_TYPE
        and stmt.relation is not None
    ):
        attrs = found.get(_range_key(stmt.relation))
        if attrs is not None:
            for cmd in stmt.cmds or ():
                _alter_attribute(cmd, attrs)


def _alter_attribute(cmd: Any, attrs: list[Attribute]) -> None:
    definition = getattr(cmd, "def_", None)
    if cmd.subtype == AlterTableType.AT_AddColumn and definition is not None:
        attrs.append(_attribute(definition))
    elif cmd.subtype == AlterTableType.AT_DropColumn:
        attrs[:] = [attr for attr in attrs if attr.name != cmd.name]
    elif cmd.subtype == AlterTableType.AT_AlterColumnType and definition is not None:
        attrs[:] = [
            _attribute(definition, name=attr.name) if attr.name == cmd.name else attr
            for attr in attrs
        ]


def _attribute(definition: Any, name: str | None = None) -> Attribute:
    type_name = definition.typeName
    type_schema, type_base = _names_key(type_name.names)
    dims = len(type_name.arrayBounds or ())
    return Attribute(name or str(definition.colname), type_schema, type_base, dims)


def _range_key(relation: Any) -> tuple[str, str]:
    return (str(relation.schemaname or ""), str(relation.relname))


def _names_key(names: Any) -> tuple[str, str]:
    parts = [str(part.sval) for part in names or () if isinstance(part, ast.String)]
    return (parts[-2] if len(parts) > 1 else "", parts[-1] if parts else "")


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
