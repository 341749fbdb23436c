"""One named query becomes one `Function`: its command, SQL, parameters, result
and what the query does. Every refusal is a problem naming the query; only that
query is left out."""

from __future__ import annotations

from dataclasses import replace

from pglast.stream import maybe_double_quote_name

from . import names
from .analysis import PRIMARY_MARKER, analyse
from .commands import Command
from .ir import Function, Model
from .params import copy_columns, param_fields, params_of, row_checks_of
from .pgtypes import PyType, normalize
from .request import Query
from .results import Result, result_of
from .scope import Scope
from .statements import StatementError, cast_params, slices_to_arrays, statement_of
from .tables import CACHE_MARKER, CacheMarkerError, cache_refusal, cache_seconds, tables_of


def command_of(scope: Scope, query: Query) -> Command | None:
    if query.cmd == ":execlastid":
        scope.problem(
            query,
            ":execlastid is not supported: PostgreSQL has no last insert id; "
            "use INSERT ... RETURNING id with :one",
        )
        return None
    try:
        return Command(query.cmd)
    except ValueError:
        scope.problem(query, f"command {query.cmd!r} is not supported")
        return None


def build_function(
    scope: Scope, query: Query, models: list[Model], row_tuples: list[Model]
) -> Function | None:
    """The function of `query`; the Params and Row models it needs are added to
    `models` (or `row_tuples`, for bulk commands). None when the query is refused."""
    problems_before = len(scope.problems)
    options = scope.inputs.options
    command = command_of(scope, query)
    if command is None:
        return None
    name = names.function_name(query.name)
    if not name.isidentifier():
        scope.problem(
            query,
            f"the query name gives function {name!r}, which is not a Python identifier: "
            "rename the query",
        )
        return None
    iterator = query.name in options.iterators
    if iterator and command is not Command.MANY:
        scope.problem(query, "only :many queries can be listed in option `iterators`")
    bulk = command.takes_rows
    if query.name in options.params_models and (bulk or not query.params):
        scope.problem(
            query,
            "option `params_models` lists it, but it takes "
            + ("rows of parameters already" if bulk else "no parameters"),
        )
    in_model = (
        bulk
        or query.name in options.params_models
        or bool(options.max_params and len(query.params) > options.max_params)
    )
    sql = sql_of(scope, query)
    params = params_of(scope, query, keyword_arguments=not in_model, bulk=bulk)
    if sql is None or params is None:
        return None
    if bulk and any(p.composite for p in params):
        composite = next(p.name for p in params if p.composite)
        scope.problem(
            query,
            f"{query.cmd} cannot take a composite-type parameter ({composite}): its "
            "rows go to the driver as they are, and a model is no value it can send; "
            "run an :exec per row instead",
        )
        return None

    params_model = None
    pascal = names.query_class_name(query.name)
    if bulk:
        if not params:
            scope.problem(query, f"{query.cmd} needs parameters: one row of them per item")
            return None
        # NamedTuples are positional: every field is given, None included.
        fields = tuple(replace(f, optional=False) for f in param_fields(params, aliases=False))
        row_tuples.append(Model(f"{pascal}Params", "", fields))
        params_model = f"{pascal}Params"
    elif in_model:
        params_model = f"{pascal}Params"
        fields = param_fields(params, aliases=True)
        row_checks = row_checks_of(scope, query, params)
        models.append(
            Model(params_model, f"Parameters of {name}.", fields, row_checks, params=True)
        )

    copy_table = None
    columns: tuple[str, ...] = ()
    if command is Command.COPYFROM:
        copy_table = query.insert_into_table
        if copy_table is None:
            scope.problem(query, ":copyfrom needs an INSERT INTO table (...) VALUES ...")
            return None
        if query.columns:
            scope.problem(query, ":copyfrom cannot return rows: remove RETURNING")
            return None
        found = copy_columns(scope, query)
        if found is None:
            return None
        columns = found

    if command.returns_rows and not query.columns:
        scope.problem(query, f"{query.cmd} needs a query that returns columns")
        return None
    parsed = scope.inputs.parsed[query.name]
    try:
        statement = statement_of(parsed)
    except StatementError as error:
        scope.problem(query, str(error))
        return None
    behaviour = analyse(parsed, scope.inputs.functions, query.comments)
    tables = tables_of(parsed, scope.inputs.views)
    try:
        cache = cache_seconds(query.comments)
    except CacheMarkerError as error:
        scope.problem(query, str(error))
        return None
    if cache is not None:
        refusal = cache_refusal(parsed, scope.inputs.functions)
        if not behaviour.read_only:
            refusal = f"it writes ({behaviour.why})"
        if refusal is not None:
            scope.problem(
                query,
                f"{CACHE_MARKER}: a query whose results may change unseen "
                f"cannot be cached: {refusal}",
            )
            return None
    result = Result()
    if command.returns_rows:
        found_result = result_of(scope, query, models)
        if found_result is None:
            return None
        result = found_result
    scalar = result.scalar
    if scalar is not None and 0 in behaviour.never_null:
        # count(*), exists(...), coalesce(..., constant): never NULL, whatever sqlc says.
        scalar = PyType(scalar.annotation.removesuffix(" | None"), scalar.imports)
    always_row = command is Command.ONE and behaviour.always_row
    adapter = item_adapter = None
    if scalar is not None:
        returned = command.returns(scalar.annotation, always_row)
        if returned != "None":  # a :one of a function returning void has nothing to check
            adapter = scope.adapter(PyType(returned, scalar.imports))
        if iterator:
            item_adapter = scope.adapter(scalar)
    elif result.row_model is not None and not result.embeds and command.lists_rows:
        adapter = scope.adapter(PyType(f"list[{result.row_model}]"))
    if len(scope.problems) > problems_before:
        return None
    return Function(
        name=name,
        query=query.name,
        command=command,
        constant=names.constant_case(query.name),
        sql=sql,
        doc=tuple(
            line[1:] if line.startswith(" ") else line
            for line in query.comments
            if line.strip() != PRIMARY_MARKER and line.split()[:1] != [CACHE_MARKER]
        ),
        params=params,
        params_model=params_model,
        row_model=result.row_model,
        scalar=scalar,
        embeds=result.embeds,
        adapter=adapter,
        item_adapter=item_adapter,
        copy_table=copy_table,
        copy_columns=columns,
        iterator=iterator,
        statement=statement,
        behaviour=behaviour,
        tables=tables,
        cache_seconds=cache,
    )


def sql_of(scope: Scope, query: Query) -> str | None:
    """The SQL the function sends: sqlc's text with composite-type parameters cast
    and slices sent as arrays, after a `-- name:` line. The casts go first: they are
    placed by the locations of the parse of sqlc's text (the slices' rewrite, by the
    scanner, touches no parameter a cast follows)."""
    text = _cast_composite_params(scope, query)
    slices = {
        param.number: (
            _type_name(param.column.type.schema, param.column.type.name),
            param.column.name,
        )
        for param in query.params
        if param.column.is_sqlc_slice
    }
    if slices:
        try:
            text = slices_to_arrays(text, slices)
        except StatementError as error:
            scope.problem(query, str(error))
            return None
    return f"-- name: {query.name} {query.cmd}\n{text}"


def _type_name(schema: str, name: str) -> str:
    schema, name = normalize(schema, name)
    return f"{schema}.{name}" if schema else name


def _cast_composite_params(scope: Scope, query: Query) -> str:
    """sqlc's text with each composite-type parameter not cast already cast to its type:
    in `location = $1` PostgreSQL takes $1 for an anonymous record, which it cannot
    read from the client (sqlc has typed it point3: `location = $1::point3`)."""
    catalog = scope.catalog
    casts: dict[int, str] = {}
    for param in query.params:
        column = param.column
        schema, name = normalize(column.type.schema, column.type.name)
        composite = (catalog.schema_key(schema), name) in catalog.resolver.composites
        if column.is_sqlc_slice or not composite:
            continue
        dims = column.array_dims or (1 if column.is_array else 0)
        qualified = [maybe_double_quote_name(part) for part in (schema, name) if part]
        casts[param.number] = ".".join(qualified) + "[]" * dims
    if not casts:
        return query.text
    try:
        return cast_params(scope.inputs.parsed[query.name], casts)
    except StatementError:
        return query.text  # statement_of refuses the query with the parser's message
