"""The text of one query's function: signature, the guarded driver call, and the
rows built from what it returns; its iterator and embedded-row builder."""

from __future__ import annotations

from collections.abc import Iterable

from .commands import Command
from .ir import Adapter, Function, Param
from .layout import (
    LINE_LENGTH,
    Call,
    Expr,
    IfElse,
    Imports,
    ListComp,
    bracketed,
    docstring,
    quoted,
    wrapped,
)

RUNTIME = "_runtime"
CATALOG = "_catalog"


def adapter_lines(adapter: Adapter) -> list[str]:
    """`_NAME = TypeAdapter(T)` for a class, `_NAME: TypeAdapter[T] = adapter_of(T)`
    otherwise, split where ruff format splits it."""
    annotation = adapter.type.annotation
    arguments = annotation + (", config=ARBITRARY_TYPES" if adapter.arbitrary else "")
    declared = adapter.declared or annotation
    make = "adapter_of" if adapter.annotated else "TypeAdapter"
    target = f"{adapter.name}: TypeAdapter[{declared}]" if adapter.annotated else adapter.name
    line = f"{target} = {make}({arguments})"
    if len(line) <= LINE_LENGTH:
        return [line]
    if len(f"{target} = {make}(") <= LINE_LENGTH:
        return [f"{target} = {make}(", f"    {arguments}", ")"]
    if len(f"{target} = (") <= LINE_LENGTH and len(f"    {make}({arguments})") <= LINE_LENGTH:
        return [f"{target} = (", f"    {make}({arguments})", ")"]
    return [f"{adapter.name}: TypeAdapter[", f"    {declared}", f"] = {make}({arguments})"]


def function_imports(imports: Imports, function: Function) -> None:
    command = function.command
    imports.add(f".{RUNTIME}", "query_failed")
    imports.add(f".{RUNTIME}", "ReadExecutor" if function.takes_read_only else "Executor")
    if any(param.composite for param in function.params):
        imports.add(f".{RUNTIME}", "db_value")
    if function.always_row and function.scalar is None:
        imports.add(f".{RUNTIME}", "missing_row")
    if command is Command.COPYFROM or (
        command.takes_rows and any(p.adapter for p in function.params)
    ):
        imports.add(f".{RUNTIME}", "CopyRows")
    if function.row_model and not function.embeds:
        if command.lists_rows:
            imports.add(f".{RUNTIME}", "validate_rows")
        if command in (Command.ONE, Command.BATCHONE) or function.iterator:
            imports.add(f".{RUNTIME}", "build_row")
    if command in (Command.EXECROWS, Command.COPYFROM):
        imports.add(f".{RUNTIME}", "affected_rows")
    if command in (Command.BATCHONE, Command.BATCHMANY):
        imports.add(f".{RUNTIME}", "transaction_on")
    if function.cache_seconds is not None:
        imports.add(f".{RUNTIME}", "result_cache")
    if function.embeds:
        imports.add("asyncpg", "Record")
    if function.iterator:
        imports.add("collections.abc", "AsyncIterator")
        imports.add(f".{RUNTIME}", "Connection")


def constant_lines(function: Function) -> list[str]:
    sql = function.sql.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').rstrip()
    return [f'{function.constant} = """{sql}', '"""']


def _param_decl(param: Param) -> str:
    annotation = param.type.annotation
    if param.optional:
        return f"{param.name}: {annotation} = None"
    return f"{param.name}: {annotation}"


def _signature(
    name: str, first: str, params: list[str], returns: str, prefix: str = "async "
) -> list[str]:
    items = [first]
    if params:
        items.append("*")
        items.extend(params)
    return bracketed(f"{prefix}def {name}(", items, f" -> {returns}:", "")


def _args(function: Function) -> list[str]:
    return _values(function.params, "params." if function.params_model else "")


def _values(params: Iterable[Param], prefix: str = "") -> list[str]:
    """The values sent for $1, $2, ...: a composite's model as the mapping of its attributes."""
    return [f"db_value({prefix}{p.name})" if p.composite else f"{prefix}{p.name}" for p in params]


def _call(target: str, method: str, function: Function, indent: str = "    ") -> list[str]:
    """`target = await db.method(CONSTANT, args...)`."""
    head = f"{target}await db.{method}("
    return bracketed(head, [function.constant, *_args(function)], "", indent)


def _executor(function: Function) -> str:
    """Reads also run on a ReadOnly executor (a replica); writes need a full one."""
    return "db: ReadExecutor" if function.takes_read_only else "db: Executor"


def function_lines(function: Function) -> list[str]:
    db = _executor(function)
    if function.takes_rows:
        first = [db, f"rows: Iterable[{function.params_model}]"]
        lines = bracketed(f"async def {function.name}(", first, f" -> {function.returns}:", "")
    elif function.params_model:
        first = [db, f"params: {function.params_model}"]
        lines = bracketed(f"async def {function.name}(", first, f" -> {function.returns}:", "")
    else:
        params = [_param_decl(p) for p in function.params]
        lines = _signature(function.name, db, params, function.returns)
    lines.extend(docstring(function.doc, "    "))
    for param in function.params:
        if param.adapter and not function.params_model:
            # The column's CHECK, before the round trip (a Params model checks its own).
            checked = f"{param.adapter}.validate_python({param.name})"
            if param.type.annotation.endswith(" | None"):
                checked = f"None if {param.name} is None else {checked}"
            line = f"    {param.name} = {checked}"
            if len(line) > LINE_LENGTH:  # as ruff format wraps it
                inner = [f"        {checked}"]
                if len(inner[0]) > LINE_LENGTH and " else " in checked:
                    test, _, orelse = checked.partition(" else ")
                    value, _, condition = test.partition(" if ")
                    inner = [
                        f"        {value}",
                        f"        if {condition}",
                        f"        else {orelse}",
                    ]
                lines.extend([f"    {param.name} = (", *inner, "    )"])
            else:
                lines.append(line)
    if function.cache_seconds is None:
        lines.extend(_body(function))
        return lines
    lines.extend(_cache_lookup(function))
    lines.extend(_kept(_body(function)))
    return lines


def _cache_lookup(function: Function) -> list[str]:
    """A query marked `@cache`, on a pool or handle with a result cache: the cache
    answers, or says which executor the query runs on and keeps what it returns
    (`_kept`). Without a cache, one attribute lookup."""
    values = _args(function)
    key = "(" + ", ".join(values) + ("," if len(values) == 1 else "") + ")"
    return [
        "    cache = result_cache(db)",
        "    lookup = None",
        "    if cache is not None:",
        *bracketed("lookup = await cache.lookup(", [function.constant, key], "", "        "),
        "        if lookup.hit:",
        f"            from_cache: {function.returns} = lookup.value",
        "            return from_cache",
        "        db = lookup.reader",
    ]


def _kept(body: list[str]) -> list[str]:
    """The body of a cached query (a :one or :many), each result it returns handed to
    the lookup first, which stores it, read-only: the last statement, `return
    <result>` at the top level (over one line or several), and a `return None` for
    no row."""
    last = max(i for i, line in enumerate(body) if line.startswith("    return "))
    kept = [
        line.replace("return None", "return None if lookup is None else lookup.keep(None)")
        if line.strip() == "return None"
        else line
        for line in body[:last]
    ]
    return [
        *kept,
        "    fetched = " + body[last].removeprefix("    return "),
        *body[last + 1 :],
        "    return fetched if lookup is None else lookup.keep(fetched)",
    ]


def _build_row(function: Function, record: str) -> Call:
    """A row built from `record`'s values by position."""
    if function.embeds:
        return Call(f"_{function.name}_row", (record,))
    return Call("build_row", (function.row_model or "", record))


def _validated(adapter: str | None, value: Expr) -> Call:
    return Call(f"{adapter}.validate_python", (value,))


def _rows_validated(function: Function, records: str) -> Call:
    return Call("validate_rows", (function.adapter or "", function.row_model or "", records))


# Each value of a one-column result, by position.
_VALUES = ListComp("value", "for (value,) in records")


def _body(function: Function) -> list[str]:
    """What the function does after its signature: one case per command and result."""
    method = function.command.method(scalar=function.scalar is not None)
    match function.command:
        case Command.ONE if function.scalar is not None and function.adapter is None:
            # A function that returns void: nothing comes back to validate.
            return _guarded(function, _call("", method, function, TRY))
        case Command.ONE if function.scalar is not None:
            return [
                *_guarded(function, _call("value = ", method, function, TRY)),
                *wrapped(_validated(function.adapter, "value"), "    ", "return "),
            ]
        case Command.ONE:
            absent = f"missing_row({quoted(function.name)})" if function.always_row else None
            return [
                *_guarded(function, _call("record = ", method, function, TRY)),
                "    if record is None:",
                f"        raise {absent}" if absent else "        return None",
                *wrapped(_build_row(function, "record"), "    ", "return "),
            ]
        case Command.MANY:
            rows: Expr
            if function.scalar is not None:
                rows = _validated(function.adapter, _VALUES)
            elif function.embeds:
                rows = ListComp(_build_row(function, "record"), "for record in records")
            else:
                rows = _rows_validated(function, "records")
            return [
                *_guarded(function, _call("records = ", method, function, TRY)),
                *wrapped(rows, "    ", "return "),
            ]
        case Command.EXEC:
            return _guarded(function, _call("", method, function, TRY))
        case Command.EXECROWS:
            return [
                *_guarded(function, _call("command_status = ", method, function, TRY)),
                "    return affected_rows(command_status)",
            ]
        case Command.EXECRESULT:
            return _guarded(function, _call("return ", method, function, TRY))
        case Command.COPYFROM:
            return _copy_body(function)
        case Command.BATCHEXEC:
            rows, checked = _bulk_rows(function)
            call = f"{TRY}await db.{method}({function.constant}, {rows})"
            return [*checked, *_guarded(function, [call], "copy_rows" if checked else None)]
        case Command.BATCHONE | Command.BATCHMANY:
            return _batch_rows_body(function, method)


# Inside the `try:` that hands a failed query to the error handler.
TRY = "        "


def _guarded(
    function: Function, lines: list[str], copy_rows: str | None = None, indent: str = "    "
) -> list[str]:
    """`lines` (already indented for it) in a try whose failure goes to `query_failed`
    with what the function knows: its name, its parameters in $N order, its statement.
    The `try:` is at `indent`."""
    inner = indent + "    "
    names = [quoted(p.name) for p in function.params]
    params = "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"
    statement = function.statement
    details = [
        "error",
        quoted(function.name),
        params,
        quoted(statement.kind),
        quoted(statement.table) if statement.table else "None",
    ]
    if copy_rows:
        details.append(copy_rows)
    handler = bracketed("query_failed(", details, "", inner)
    if len(handler) > 1:
        # ruff format splits the parameter tuple too when it alone is too long.
        at = next(i for i, line in enumerate(handler) if line.strip() == f"{params},")
        if len(handler[at]) > LINE_LENGTH:
            handler[at : at + 1] = bracketed("(", names, ",", inner + "    ")
    return [f"{indent}try:", *lines, f"{indent}except Exception as error:", *handler]


def _copy_body(function: Function) -> list[str]:
    table = function.copy_table
    assert table is not None
    columns = [quoted(column) for column in function.copy_columns]
    columns_arg = "columns=(" + ", ".join(columns) + ("," if len(columns) == 1 else "") + ")"
    arguments = [quoted(table.name), "records=copy_rows", columns_arg]
    if table.schema:
        arguments.append(f"schema_name={quoted(table.schema)}")
    call = bracketed("command_status = await db.copy_records_to_table(", arguments, "", TRY)
    exploded_line = f"{TRY}    {columns_arg},"
    if exploded_line in call and len(exploded_line) > LINE_LENGTH:
        at = call.index(exploded_line)
        call[at : at + 1] = bracketed("columns=(", columns, ",", TRY + "    ")
    _, checked = _bulk_rows(function)
    return [
        *(checked or [f"    copy_rows = CopyRows(rows, {function.constant})"]),
        *_guarded(function, call, "copy_rows"),
        "    return affected_rows(command_status)",
    ]


def _bulk_rows(function: Function) -> tuple[str, list[str]]:
    """What a bulk command sends (`rows`, or `copy_rows` when some of their values are
    checked), and the line building `copy_rows` with those checks."""
    checks = [f"({i}, {p.adapter})" for i, p in enumerate(function.params) if p.adapter]
    if not checks:
        return "rows", []
    pairs = Call("checks=", tuple(checks)) if len(checks) > 1 else f"checks=({checks[0]},)"
    built = Call("CopyRows", ("rows", function.constant, pairs))
    return "copy_rows", wrapped(built, "    ", "copy_rows = ")


def _batch_rows_body(function: Function, fetch: str) -> list[str]:
    """Every item's query inside one transaction; the results built after it, outside
    the `try`: only the driver's calls are the error handler's to translate."""
    results = {"fetch": "record_lists", "fetchrow": "records", "fetchval": "values"}[fetch]
    query = Call(f"await conn.{fetch}", (function.constant, "*row"))
    sent, checked = _bulk_rows(function)
    loop = [
        f"{TRY}async with transaction_on(db) as conn:",
        *wrapped(ListComp(query, f"for row in {sent}"), TRY + "    ", f"{results} = "),
    ]
    result: Expr
    if fetch == "fetchval":
        result = _validated(function.adapter, "values")
    elif fetch == "fetchrow":
        row = IfElse("None", "record is None", _build_row(function, "record"))
        result = ListComp(row, "for record in records")
    elif function.scalar is not None:
        result = _validated(function.adapter, ListComp(_VALUES, "for records in record_lists"))
    elif function.embeds:
        rows = ListComp(_build_row(function, "record"), "for record in records")
        result = ListComp(rows, "for records in record_lists")
    else:
        result = ListComp(_rows_validated(function, "records"), "for records in record_lists")
    guarded = _guarded(function, loop, "copy_rows" if checked else None)
    return [*checked, *guarded, *wrapped(result, "    ", "return ")]


def iterator_lines(function: Function) -> list[str]:
    params = [_param_decl(p) for p in function.params] + ["prefetch: int = 100"]
    item = function.result_type
    lines = _signature(
        f"iter_{function.name}", "conn: Connection", params, f"AsyncIterator[{item}]"
    )
    doc = [
        *function.doc,
        "",
        "Streams the rows from a server-side cursor, `prefetch` at a time.",
        "Cursors live inside a transaction: call this in `async with conn.transaction()`.",
    ]
    lines.extend(docstring(doc, "    "))
    args = [function.constant, *_values(function.params), "prefetch=prefetch"]
    lines.extend(wrapped(Call("aiter", (Call("conn.cursor", tuple(args)),)), "    ", "records = "))
    result: Expr
    if function.scalar is not None:
        fetch = "(value,) = await anext(records)"
        result = _validated(function.item_adapter, "value")
    else:
        fetch = "record = await anext(records)"
        result = _build_row(function, "record")
    # Only fetching is guarded: a row that fails validation is no database error.
    guarded = _guarded(function, [f"{TRY}    {fetch}"], indent="        ")
    stop = ["        except StopAsyncIteration:", "            return"]
    lines.append("    while True:")
    lines.extend([*guarded[:2], *stop, *guarded[2:]])
    lines.extend(wrapped(result, "        ", "yield "))
    return lines


def embed_builder(function: Function) -> list[str]:
    row = function.row_model
    lines = [
        f"def _{function.name}_row(record: Record) -> {row}:",
        '    """Nest the columns of each embedded table into its own model."""',
        "    values = tuple(record)",
        f"    return {row}.model_validate(",
        "        {",
    ]
    for part in function.embeds:
        if part.model is None:
            lines.append(f'            "{part.name}": values[{part.start}],')
        else:
            lines.append(
                f'            "{part.name}": dict(zip({part.model}.model_fields, '
                f"values[{part.start}:{part.stop}], strict=True)),"
            )
    lines.extend(["        },", "    )"])
    return lines
