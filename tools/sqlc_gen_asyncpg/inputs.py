"""Everything the generator reads, read in one step before anything is decided.

sqlc's request carries the catalog and the queries, but not what the model also
needs from the files sqlc was given: domains' base types, composite types'
attributes, CHECK constraints, the schema's own functions and their volatility,
and which parameters are `sqlc.narg`. They are read here, once; the model is then
built from these facts alone. Each schema file's up section, each statement of the
query files and each query's text (as sqlc sends it) is parsed once, here, with
PostgreSQL's own parser; everything after reads these trees.

sqlc hands a process plugin its config's paths as written (`schema/migrations`)
and starts it in the directory sqlc itself was started from; the request does not
say where the config file is. So the paths are resolved against that directory,
and a path that is not there stops generation with a message saying so, never a
package built from no schema (measured: `sqlc -f ../sqlc.yaml` from elsewhere
silently lost every `sqlc.narg` default before this check).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pglast

from .analysis import user_functions
from .constraints import Checks, SchemaReplayError, read_checks
from .options import Options
from .request import GenerateRequest
from .row_checks import with_row_rules
from .schema_files import Composite, Domain, read_composites, read_domains, read_nullable_args
from .tables import View, read_views
from .tree import Parsed, parse


class InputError(Exception):
    """A file the generator needs is missing or unreadable; the message names it."""


@dataclass(frozen=True)
class Inputs:
    request: GenerateRequest
    options: Options
    schema_files: tuple[Path, ...]
    domains: dict[tuple[str, str], Domain]
    composites: dict[tuple[str, str], Composite]  # (schema or '', name) -> attributes
    checks: Checks
    functions: dict[str, str]  # the schema's own functions -> their volatility
    nullable_args: dict[str, set[str]]  # query name -> its sqlc.narg names
    # query name -> sqlc's text of the query, parsed (a text the parser refuses is a
    # Parsed with its error: that query alone is refused)
    parsed: dict[str, Parsed]
    views: dict[str, View]  # the schema's views and materialized views


def sql_files(paths: tuple[str, ...], base: Path, setting: str) -> list[Path]:
    """The .sql files of `paths` (files, or folders of them), resolved against `base`."""
    files: list[Path] = []
    for entry in paths:
        path = base / entry
        if path.is_dir():
            files.extend(sorted(path.glob("*.sql")))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(
                f"{setting} path {entry!r} is not there from {base}: sqlc hands its plugins "
                "the config's paths as written and runs them where sqlc was started, so run "
                "sqlc from the folder of sqlc.yaml"
            )
    return files


def up_sections(text: str) -> str:
    """A dbmate migration's up section (a plain schema file is all up)."""
    up, _, _ = text.partition("-- migrate:down")
    return up


def parse_schema(files: list[Path]) -> tuple[Any, ...]:
    """The statements of the schema files' up sections, in order, each file parsed once.
    A file PostgreSQL's parser refuses stops generation with a message naming it."""
    statements: list[Any] = []
    for path in files:
        try:
            parsed = pglast.parse_sql(up_sections(path.read_text(encoding="utf-8")))
        except pglast.parser.ParseError as error:
            raise InputError(
                f"schema file {path} is not SQL PostgreSQL's parser reads: {error}"
            ) from None
        statements.extend(raw.stmt for raw in parsed)
    return tuple(statements)


def parse_query_files(files: list[Path]) -> dict[str, Parsed]:
    """Each named query of the query files, as the file has it (`sqlc.narg` and all):
    each file split into statements by PostgreSQL's scanner, each statement named by
    its `-- name: Query :command` comment and parsed once."""
    found: dict[str, Parsed] = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        for statement in pglast.parser.split(text, with_parser=False):
            name = _query_name(statement)
            if name is not None:
                found[name] = parse(statement)
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


def read_inputs(request: GenerateRequest, options: Options, base: Path) -> Inputs:
    """Read the schema and query files sqlc was given (relative to `base`)."""
    schema_files = sql_files(request.settings.schema, base, "schema")
    query_files = sql_files(request.settings.queries, base, "queries")
    found = {path.name for path in query_files}
    for query in request.queries:
        if query.filename not in found:
            raise InputError(
                f"query file {query.filename!r} (of query {query.name}) is not among the "
                f"files of `queries` read from {base}"
            )
    try:
        schema = parse_schema(schema_files)
        query_statements = parse_query_files(query_files)
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read a schema or query file: {error}") from None
    try:
        checks = with_row_rules(read_checks(schema))
    except SchemaReplayError as error:  # a problem line, as sqlc's own, not a traceback
        raise InputError(f"cannot follow the CHECK constraints of {error}") from None
    return Inputs(
        request=request,
        options=options,
        schema_files=tuple(schema_files),
        domains=read_domains(schema),
        composites=read_composites(schema),
        checks=checks,
        functions=user_functions(schema),
        nullable_args=read_nullable_args(query_statements),
        parsed={query.name: parse(query.text) for query in request.queries},
        views=read_views(schema),
    )
