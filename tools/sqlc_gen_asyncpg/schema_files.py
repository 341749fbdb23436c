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

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pglast
from pglast import ast
from pglast.enums import AlterTableType, ObjectType

from .constraints import up_sections


@dataclass(frozen=True)
class Domain:
    schema: str
    name: str
    base_schema: str
    base_name: str
    array_dims: int


def read_domains(files: list[Path]) -> dict[tuple[str, str], Domain]:
    """Domains declared in the schema files, keyed by (schema or '', name)."""
    domains: dict[tuple[str, str], Domain] = {}
    for path in files:
        for raw in _statements(path):
            stmt = raw.stmt
            if isinstance(stmt, ast.CreateDomainStmt) and stmt.typeName is not None:
                schema, name = _names_key(stmt.domainname)
                base_schema, base_name = _names_key(stmt.typeName.names)
                dims = len(stmt.typeName.arrayBounds or ())
                domains[(schema, name)] = Domain(schema, name, base_schema, base_name, dims)
    return domains


def _statements(path: Path) -> tuple[Any, ...]:
    """The statements of a schema file's up section (PostgreSQL's parser refusing one
    is the caller's to report: sqlc would have refused the file first)."""
    return tuple(pglast.parse_sql(up_sections(path.read_text(encoding="utf-8"))))


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


def read_nullable_args(files: list[Path]) -> dict[str, set[str]]:
    """The names given to `sqlc.narg(...)` in each named query of the query files.

    Each statement (as PostgreSQL's scanner splits the file) is named by its
    `-- name: Query :command` comment and parsed; its sqlc.narg calls are found in
    the parse tree, where a comment or a string that merely mentions one is not.
    """
    found: dict[str, set[str]] = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        for statement in pglast.parser.split(text, with_parser=False):
            name = _query_name(statement)
            if name is not None:
                found[name] = _narg_names(statement)
    return found


def _query_name(statement: str) -> str | None:
    """The query's name from its leading `-- name: Name :command` comment."""
    for token in pglast.parser.scan(statement):
        if token.name != "SQL_COMMENT":
            return None
        words = statement[token.start : token.end + 1].removeprefix("--").split()
        if len(words) >= 2 and words[0] == "name:":
            return words[1]
    return None


def _narg_names(statement: str) -> set[str]:
    try:
        parsed = pglast.parse_sql(statement)
    except pglast.parser.ParseError:
        return set()  # sqlc refused it first; nothing here to add
    names: set[str] = set()
    pending: list[Any] = [raw.stmt for raw in parsed]
    while pending:
        node = pending.pop()
        if isinstance(node, tuple):
            pending.extend(node)
            continue
        if not isinstance(node, ast.Node):
            continue
        if isinstance(node, ast.FuncCall) and _names_key(node.funcname) == ("sqlc", "narg"):
            argument = (node.args or (None,))[0]
            if isinstance(argument, ast.ColumnRef):
                names.add(_names_key(argument.fields)[1])
            elif isinstance(argument, ast.A_Const) and isinstance(argument.val, ast.String):
                names.add(str(argument.val.sval))
        pending.extend(getattr(node, attribute) for attribute in node)
    return names
