"""Everything the generator reads, read in one step before anything is decided.

sqlc's request carries the catalog and the queries, but not what the model also
needs from the files sqlc was given: domains' base types, composite types'
attributes, CHECK constraints, the schema's own functions and their volatility,
and which parameters are `sqlc.narg`. They are read here, once; the model is then
built from these facts alone.

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

import pglast

from .analysis import user_functions
from .constraints import Checks, read_checks, up_sections
from .options import Options
from .request import GenerateRequest
from .row_checks import with_row_rules
from .schema_files import Composite, Domain, read_composites, read_domains, read_nullable_args


class InputError(Exception):
    """A file the generator needs is missing or unreadable; the message names it."""


@dataclass(frozen=True)
class Inputs:
    request: GenerateRequest
    options: Options
    schema_files: tuple[Path, ...]
    domains: dict[tuple[str, str], Domain]
    # (schema or '', name) -> attributes; None when a schema file has SQL the parser refuses
    composites: dict[tuple[str, str], Composite] | None
    checks: Checks
    functions: dict[str, str]  # the schema's own functions -> their volatility
    nullable_args: dict[str, set[str]]  # query name -> its sqlc.narg names


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
        functions: dict[str, str] = {}
        for path in schema_files:
            functions.update(user_functions(up_sections(path.read_text(encoding="utf-8"))))
        return Inputs(
            request=request,
            options=options,
            schema_files=tuple(schema_files),
            domains=read_domains(schema_files),
            composites=read_composites(schema_files),
            checks=with_row_rules(read_checks(schema_files)),
            functions=functions,
            nullable_args=read_nullable_args(query_files),
        )
    except pglast.parser.ParseError as error:
        raise InputError(f"a schema file is not SQL PostgreSQL's parser reads: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read a schema or query file: {error}") from None
