"""What to emit: sqlc's request and the files it names become a `Package`.

    inputs.read_inputs   every file the generator needs, read and parsed once (fails loudly)
    catalog              the schema's types and models
    functions            one named query -> one Function (params, results beside it)
    model.build          the package: modules of functions, and what they share

`render` then prints the package without deciding anything. Problems are
collected as values and returned together; the caller reports them and exits 1.
"""

from __future__ import annotations

import keyword
from pathlib import PurePosixPath

from . import names
from .catalog import build_catalog, field_names
from .constraints import Rule
from .functions import build_function
from .inputs import Inputs
from .ir import Function, Model, Module, Package, Problem
from .request import Query
from .scope import Scope

RESERVED_MODULES = frozenset({"models", "_runtime", "_catalog", "__init__"})


def build(inputs: Inputs) -> tuple[Package | None, list[Problem]]:
    problems: list[Problem] = []
    catalog = build_catalog(inputs)
    request = inputs.request
    _check_unique(
        problems,
        [m.name for m in (*catalog.table_models, *catalog.composite_models)]
        + [e.name for e in catalog.enum_models],
        "models.py",
    )
    _check_options(inputs, problems)
    by_file: dict[str, list[Query]] = {}
    for query in request.queries:
        by_file.setdefault(query.filename, []).append(query)
    checks_used: dict[str, Rule] = {}
    modules = [
        _module(Scope(inputs, catalog, problems, checks_used), filename, queries)
        for filename, queries in sorted(by_file.items())
    ]
    _check_unique(problems, [m.name for m in modules], "sqlc.yaml")
    package = Package(
        name=inputs.options.package,
        sqlc_version=request.sqlc_version,
        enums=catalog.enum_models,
        table_models=catalog.table_models,
        modules=tuple(modules),
        checks=tuple(checks_used[name] for name in sorted(checks_used)),
        untranslated=inputs.checks.untranslated,
        row_rules=inputs.checks.row_rules,
        composites=catalog.composite_models,
    )
    return (None if problems else package), problems


def _check_options(inputs: Inputs, problems: list[Problem]) -> None:
    """Options that name a query or a result column must name one that exists."""
    options, queries = inputs.options, inputs.request.queries
    for option in ("iterators", "params_models"):
        for name in sorted(getattr(options, option) - {q.name for q in queries}):
            problems.append(
                Problem(
                    "sqlc.yaml", name, f"listed in option `{option}`, but no query has this name"
                )
            )
    result_columns = {
        f"{query.name}.{name}"
        for query in queries
        for column, (field, _) in zip(query.columns, field_names(query.columns), strict=True)
        for name in (column.name, field)
    }
    for entry in sorted(set(options.result_overrides) - result_columns):
        message = f"option `overrides` names result {entry!r}, but that query has no such column"
        problems.append(Problem("sqlc.yaml", entry.partition(".")[0], message))
    for entry in sorted(options.nullable - result_columns):
        message = f"option `nullable` lists {entry!r}, but that query has no such column"
        problems.append(Problem("sqlc.yaml", entry.partition(".")[0], message))


def _check_unique(problems: list[Problem], values: list[str], file: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            problems.append(
                Problem(
                    file, value, f"two definitions are both named {value!r}: use option `rename`"
                )
            )
        seen.add(value)


def _module(scope: Scope, filename: str, queries: list[Query]) -> Module:
    module_name = names.snake_case(PurePosixPath(filename).stem)
    if not module_name or module_name in RESERVED_MODULES or keyword.iskeyword(module_name):
        scope.problems.append(
            Problem(
                filename,
                "-",
                f"the file name gives module {module_name!r}, which is "
                "reserved or not an identifier: rename the file",
            )
        )
    models: list[Model] = []
    row_tuples: list[Model] = []
    functions: list[Function] = []
    for query in queries:
        function = build_function(scope, query, models, row_tuples)
        if function is not None:
            functions.append(function)
    table_models = {m.name for m in scope.catalog.table_models}
    _check_unique(scope.problems, [f.name for f in functions], filename)
    _check_unique(
        scope.problems, [m.name for m in models + row_tuples] + sorted(table_models), filename
    )
    return Module(
        name=module_name,
        source=filename,
        models=tuple(models),
        row_tuples=tuple(row_tuples),
        adapters=tuple(sorted(scope.adapters.values(), key=lambda a: a.name)),
        functions=tuple(functions),
        table_models_used=tuple(sorted(scope.table_models_used)),
    )
