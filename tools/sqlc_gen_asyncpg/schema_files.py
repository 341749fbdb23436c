"""What sqlc's request leaves out, read from the schema and query files it was given
(parsed once, by the inputs stage).

A domain arrives by its own name with no base type: domains are resolved here
from `CREATE DOMAIN` statements. A composite type arrives without its fields:
they are read here from `CREATE TYPE ... AS (...)` (and `ALTER TYPE`, `DROP TYPE`)
with PostgreSQL's own parser.
A parameter arrives nullable both from `sqlc.narg(x)` and from `sqlc.arg(x)`
aimed at a nullable column; only the first is optional, so the query files are
read for their `sqlc.narg` names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from pglast import ast
from pglast.enums import AlterTableType, ObjectType

from .tree import Parsed, names_key, walk


@dataclass(frozen=True)
class Domain:
    schema: str
    name: str
    base_schema: str
    base_name: str
    array_dims: int


def read_domains(statements: Iterable[Any]) -> dict[tuple[str, str], Domain]:
    """Domains the schema's statements declare, keyed by (schema or '', name)."""
    domains: dict[tuple[str, str], Domain] = {}
    for stmt in statements:
        if isinstance(stmt, ast.CreateDomainStmt) and stmt.typeName is not None:
            schema, name = names_key(stmt.domainname)
            base_schema, base_name = names_key(stmt.typeName.names)
            dims = len(stmt.typeName.arrayBounds or ())
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


def read_composites(statements: Iterable[Any]) -> dict[tuple[str, str], Composite]:
    """Composite types the schema's statements leave in place, keyed by (schema or '',
    name), their attributes in order."""
    found: dict[tuple[str, str], list[Attribute]] = {}
    for stmt in statements:
        _apply_type_statement(stmt, found)
    return {key: Composite(key[0], key[1], tuple(attrs)) for key, attrs in found.items()}


def _apply_type_statement(stmt: Any, found: dict[tuple[str, str], list[Attribute]]) -> None:
    if isinstance(stmt, ast.CompositeTypeStmt) and stmt.typevar is not None:
        key = _range_key(stmt.typevar)
        found[key] = [_attribute(d) for d in stmt.coldeflist or () if d.colname]
    elif isinstance(stmt, ast.DropStmt) and stmt.removeType == ObjectType.OBJECT_TYPE:
        for obj in stmt.objects or ():
            if isinstance(obj, ast.TypeName):
                found.pop(names_key(obj.names), None)
    elif isinstance(stmt, ast.RenameStmt) and stmt.renameType == ObjectType.OBJECT_TYPE:
        renamed = names_key(stmt.object) if isinstance(stmt.object, tuple) else None
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
    type_schema, type_base = names_key(type_name.names)
    dims = len(type_name.arrayBounds or ())
    return Attribute(name or str(definition.colname), type_schema, type_base, dims)


def _range_key(relation: Any) -> tuple[str, str]:
    return (str(relation.schemaname or ""), str(relation.relname))


def read_nullable_args(queries: Mapping[str, Parsed]) -> dict[str, set[str]]:
    """The names given to `sqlc.narg(...)` in each named query of the query files
    (query name -> its statement as the file has it, parsed).

    The sqlc.narg calls are found in the parse tree, where a comment or a string that
    merely mentions one is not. A statement the parser refuses has none (sqlc
    refused it first).
    """
    return {name: _narg_names(parsed) for name, parsed in queries.items()}


def _narg_names(parsed: Parsed) -> set[str]:
    names: set[str] = set()
    for node in walk(tuple(raw.stmt for raw in parsed.statements)):
        if isinstance(node, ast.FuncCall) and names_key(node.funcname) == ("sqlc", "narg"):
            argument = (node.args or (None,))[0]
            if isinstance(argument, ast.ColumnRef):
                names.add(names_key(argument.fields)[1])
            elif isinstance(argument, ast.A_Const) and isinstance(argument.val, ast.String):
                names.add(str(argument.val.sval))
    return names
