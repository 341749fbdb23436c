"""The plugin refuses bad input with one clear line each and exit 1, never a traceback."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from sqlc_gen_asyncpg import names
from sqlc_gen_asyncpg.commands import Command
from sqlc_gen_asyncpg.inputs import InputError, parse_query_files, parse_schema
from sqlc_gen_asyncpg.options import OptionsError, parse_options
from sqlc_gen_asyncpg.param_names import readable_names
from sqlc_gen_asyncpg.pgtypes import PyType
from sqlc_gen_asyncpg.schema_files import Attribute, read_composites, read_nullable_args
from sqlc_gen_asyncpg.scope import is_class
from sqlc_gen_asyncpg.statements import (
    CopyTarget,
    StatementError,
    cast_params,
    copy_target,
    slices_to_arrays,
)
from sqlc_gen_asyncpg.tree import parse
from tests.generator.golden import HERE as GENERATOR_TESTS


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"package": "p", "overrides": [{"py_type": "x.Y"}]}, "one of `db_type`, `column` or"),
        (
            {"package": "p", "overrides": [{"result": "Q.c", "column": "t.c", "py_type": "x.Y"}]},
            "exactly one of",
        ),
        ({"package": "p", "overrides": [{"result": "nodot", "py_type": "x.Y"}]}, "QueryName"),
        ({"package": "p", "overrides": [{"result": "Q.c", "py_type": "list[x.Y"}]}, "py_type"),
        ({"package": "p", "overrides": [{"column": "nodot", "py_type": "x.Y"}]}, "table.column"),
        ({"package": "p", "overrides": [{"db_type": "jsonb", "py_type": "not a type"}]}, "py_type"),
        ({"package": "p", "rename": {"t": "bad name"}}, "not a class name"),
        ({"package": "p", "iterators": "ListAll"}, "list of names"),
        ({"package": "class"}, "Python identifier"),
        ({"package": "p", "max_params": -1}, "max_params` must be a whole number"),
        ({"package": "p", "max_params": True}, "max_params` must be a whole number"),
        ({"package": "p", "nullable": ["NoColumn"]}, "is not `QueryName.column`"),
        ({"package": "p", "rename": ["t"]}, "rename` must be a mapping"),
        ({"package": "p", "overrides": {"db_type": "jsonb"}}, "overrides` must be a list"),
        (
            {"package": "p", "overrides": [{"db_type": "jsonb", "py_type": "x.Y", "as": 1}]},
            "unknown key 'as'",
        ),
        ([1, 2], "options must be a mapping"),
    ],
)
def test_bad_options_name_the_option(raw: object, message: str) -> None:
    with pytest.raises(OptionsError, match=message.replace("`", ".").replace("(", ".")):
        parse_options(json.dumps(raw).encode())


def test_options_that_are_no_json_or_missing_say_so() -> None:
    with pytest.raises(OptionsError, match="the option `package` is required"):
        parse_options(b"")
    with pytest.raises(OptionsError, match="options are not valid JSON"):
        parse_options(b"{package:")


@pytest.mark.parametrize(
    ("sql", "python"),
    [
        ("inference_jobs", "InferenceJob"),
        ("parts", "Part"),
        ("audit_log", "AuditLog"),
        ("categories", "Category"),
        ("statuses", "Status"),
        ("boxes", "Box"),
        ("class", "Class"),
        ("warehouses", "Warehouse"),
        ("series", "Series"),
        ("people", "Person"),
        ("children", "Child"),
        ("analyses", "Analysis"),
        ("dies", "Die"),
        ("caches", "Cache"),
        ("beaches", "Beach"),
        ("houses", "House"),
        ("buses", "Bus"),
        ("shelves", "Shelf"),
        ("archives", "Archive"),
        ("indices", "Index"),
        ("user_data", "UserDatum"),
        # Singular already, though it ends in s: kept.
        ("analysis", "Analysis"),
        ("status", "Status"),
        ("bus", "Bus"),
        ("alias", "Alias"),
        ("news", "News"),
    ],
)
def test_table_names_become_singular_classes(sql: str, python: str) -> None:
    assert names.class_name_for_table(sql) == python


@pytest.mark.parametrize(
    ("word", "plural"),
    [
        ("title", "titles"),
        ("id", "ids"),
        ("status", "statuses"),
        ("box", "boxes"),
        ("category", "categories"),
        ("key", "keys"),
        ("analysis", "analyses"),
        ("person", "people"),
        ("series", "series"),
        ("int8", "int8s"),
    ],
)
def test_plurals_of_list_parameters(word: str, plural: str) -> None:
    assert names.plural(word) == plural
    assert names.singular(plural) == word
    assert names.plural(plural) == plural  # a plural already


def test_query_classes_keep_the_query_casing() -> None:
    assert names.query_class_name("UpdateBookISBN") == "UpdateBookISBN"
    assert names.query_class_name("list_lots") == "ListLots"
    assert names.snake_case("UpdateBookISBN") == "update_book_isbn"
    assert names.snake_case("BookISBNs") == "book_isbns"  # an acronym's plural is one word
    assert names.snake_case("HTTPServer") == "http_server"


def test_query_functions_named_like_builtins_are_escaped() -> None:
    assert [names.function_name(q) for q in ("List", "Any", "In", "Abs", "Match")] == [
        "list_",
        "any_",
        "in_",
        "abs_",
        "match_",
    ]
    assert names.function_name("QueryFailed") == "query_failed_"  # a helper it imports
    assert names.function_name("GetLot") == "get_lot"


def test_enum_values_get_distinct_readable_members() -> None:
    values = ["#", "*", "<=", "ok", "in_progress", "in-progress", "Low", "low", "1st", "é"]
    assert names.enum_members(values) == [
        "NUMBER_SIGN",
        "ASTERISK",
        "LESS_THAN_SIGN_EQUALS_SIGN",
        "OK",
        "IN_PROGRESS",
        "IN_HYPHEN_MINUS_PROGRESS",
        "LOW",
        "VALUE_8",
        "V_1ST",
        "LATIN_SMALL_LETTER_E_WITH_ACUTE",
    ]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM t WHERE born < $1::date + 7", {1: "born"}),
        ("SELECT * FROM t WHERE lower(t.title) LIKE lower($1) || '%'", {1: "title"}),
        ("SELECT * FROM t WHERE title = ANY($1::text[])", {1: "titles"}),
        ("SELECT * FROM t WHERE lot_id <> ALL($1::uuid[])", {1: "lot_ids"}),
        ("SELECT * FROM t WHERE x BETWEEN $1::int AND $2::int", {1: "x", 2: "x"}),
        ("UPDATE t SET pages = pages + $1::int WHERE id = $2", {1: "pages", 2: "id"}),
        ("INSERT INTO t (a, b) VALUES (upper($1), $2 * 2)", {1: "a", 2: "b"}),
        ("INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET b = $1 + 1", {1: "b"}),
        ("SELECT $1::text AS label, f(n => $2)", {1: "label", 2: "n"}),
        # Computed from, not the result column: only the cast names it.
        ("SELECT abs(score - $1::int) AS distance FROM t", {1: "int4"}),
        ("SELECT $1::uuid, $2::uuid[], $3", {1: "uuid", 2: "uuids"}),
        ("SELECT FROM", {}),  # not SQL: no names
    ],
)
def test_unnamed_parameters_are_named_from_the_parse_tree(
    sql: str, expected: dict[int, str]
) -> None:
    assert readable_names(parse(sql)) == expected


def test_composite_attributes_are_read_from_the_schema(tmp_path: Path) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(
        "CREATE TYPE point3 AS (x float8, y double precision, z float8);\n"
        "ALTER TYPE point3 ADD ATTRIBUTE w int, DROP ATTRIBUTE z;\n"
        "ALTER TYPE point3 RENAME ATTRIBUTE y TO yy;\n"
        "CREATE TYPE lab.tagged AS (tags text[][], at point3);\n"
        "CREATE TYPE gone AS (a int);\n"
        "DROP TYPE gone;\n"
        "-- migrate:down\n"
        "DROP TYPE point3;\n"
    )
    found = read_composites(parse_schema([schema]))
    assert set(found) == {("", "point3"), ("lab", "tagged")}
    assert found[("", "point3")].attributes == (
        Attribute("x", "", "float8", 0),
        Attribute("yy", "pg_catalog", "float8", 0),
        Attribute("w", "pg_catalog", "int4", 0),
    )
    assert found[("lab", "tagged")].attributes == (
        Attribute("tags", "", "text", 2),
        Attribute("at", "", "point3", 0),
    )
    schema.write_text("CREATE TYPE broken AS (")
    with pytest.raises(InputError, match=r"schema file .*schema\.sql is not SQL"):
        parse_schema([schema])


def test_composite_parameters_are_cast_to_their_type() -> None:
    sql = "SELECT '$1' FROM t WHERE a = $1 AND b = $1::point3 AND c = ANY($2)"
    assert cast_params(parse(sql), {1: "point3", 2: "lab.tagged[]"}) == (
        "SELECT '$1' FROM t WHERE a = $1::point3 AND b = $1::point3 AND c = ANY($2::lab.tagged[])"
    )


def test_keywords_and_builtins_are_escaped() -> None:
    assert names.parameter_name("id", keyword_argument=True) == "id_"
    assert names.parameter_name("from", keyword_argument=True) == "from_"
    assert names.parameter_name("lot_id", keyword_argument=True) == "lot_id"
    # The generated function's own names clash only with its keyword arguments.
    assert names.parameter_name("db", keyword_argument=True) == "db_"
    assert names.parameter_name("db", keyword_argument=False) == "db"
    assert names.parameter_name("model_config", keyword_argument=False) == "model_config_"
    assert names.field_name("id") == "id"  # attributes shadow nothing
    assert names.field_name("class") == "class_"
    assert names.field_name("schema") == "schema_"  # a BaseModel attribute
    assert names.field_name("model_dump") == "model_dump_"
    assert names.snake_case("GetLotByNumber") == "get_lot_by_number"
    assert names.pascal_case("list_lots") == "ListLots"


def test_adapters_are_named_after_their_type() -> None:
    assert names.adapter_name("list[Widget]") == "_WIDGET_LIST"
    assert names.adapter_name("int | None") == "_INT_OR_NONE"
    assert names.adapter_name("list[Range[int]]") == "_INT_RANGE_LIST"
    assert names.adapter_name("list[str | None]") == "_STR_OR_NONE_LIST"
    assert names.adapter_name("IPv4Address | None") == "_IPV4_ADDRESS_OR_NONE"
    assert names.adapter_name("None") == "_NONE"
    inet = "IPv4Address | IPv6Address | IPv4Interface | IPv6Interface"
    assert names.adapter_name(f"{inet} | None") == "_INET_OR_NONE"
    assert names.adapter_name(f"list[{inet}] | None") == "_INET_LIST_OR_NONE"
    assert names.adapter_name("list[IPv4Network | IPv6Network]") == "_CIDR_LIST"


@pytest.mark.parametrize(
    ("annotation", "imports", "a_class"),
    [
        ("int", (), True),
        ("UUID", (("uuid", "UUID"),), True),
        ("list[str | None]", (), True),
        ("list[Range[int]]", (("asyncpg", "Range"),), True),
        ("Widget", ((".models", "Widget"),), True),
        ("int | None", (), False),
        ("list[int] | None", (), False),
        ("None", (), False),
        ("Annotated[str, CHECK]", (("typing", "Annotated"),), False),
        ("JsonValue", (("pydantic", "JsonValue"),), False),  # a union, by its alias
        ("Money", (("overrides_support", "Money"),), False),  # the user's: anything
    ],
)
def test_adapters_of_a_class_leave_its_type_to_the_checker(
    annotation: str, imports: tuple[tuple[str, str], ...], a_class: bool
) -> None:
    """`TypeAdapter(T)` for a class, else `_X: TypeAdapter[T] = adapter_of(T)`: a union, None
    or Annotated is no `type[T]` to mypy reading pydantic from its cache (issue 30)."""
    assert is_class(PyType(annotation, frozenset(imports))) is a_class


def test_copy_columns_come_from_the_insert_whatever_the_parameters_are_called() -> None:
    target = copy_target(parse('INSERT INTO s."T" ("Name", id, at) VALUES ($2, $1::int, $3)'))
    assert target == CopyTarget(columns=("Name", "id", "at"), params=(2, 1, 3))


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("INSERT INTO t (a, b) VALUES ($1, now())", "VALUES item 2 is not a parameter"),
        ("INSERT INTO t (a, b) VALUES ($1, $1)", "a parameter fills two columns"),
        ("INSERT INTO t (a) VALUES ($1), ($2)", "one VALUES row"),
        ("INSERT INTO t (a) SELECT $1", "INSERT INTO table"),
        ("INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING", "ON CONFLICT"),
        ("INSERT INTO t (a[1]) VALUES ($1)", "whole columns"),
        ("UPDATE t SET a = $1", "INSERT INTO table"),
    ],
)
def test_copy_refuses_what_copy_cannot_send(sql: str, message: str) -> None:
    """sqlc refuses most of these itself; the plugin does not rely on it."""
    with pytest.raises(StatementError, match=message.replace("(", ".").replace(")", ".")):
        copy_target(parse(sql))


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM t WHERE id IN ($1)", "SELECT * FROM t WHERE id = ANY($1::int4[])"),
        ("SELECT * FROM t WHERE id NOT  IN ( $1 )", "SELECT * FROM t WHERE id <> ALL($1::int4[])"),
        # $10 is not $1; a string that looks like a slice is no slice.
        (
            "SELECT 'in ($1)' FROM t WHERE a = $10 AND id in ($1)",
            "SELECT 'in ($1)' FROM t WHERE a = $10 AND id = ANY($1::int4[])",
        ),
    ],
)
def test_slices_become_arrays_by_the_scanner(sql: str, expected: str) -> None:
    assert slices_to_arrays(sql, {1: ("int4", "ids")}) == expected


def test_a_slice_outside_in_is_refused_by_name() -> None:
    with pytest.raises(StatementError, match=r"sqlc\.slice\(ids\) is only supported as"):
        slices_to_arrays("SELECT * FROM t WHERE id = ANY($1)", {1: ("int4", "ids")})


def test_nullable_args_come_from_the_parse_tree(tmp_path: Path) -> None:
    queries = tmp_path / "query.sql"
    queries.write_text(
        "-- name: Find :many\n"
        "-- sqlc.narg(not_this) in a comment is no argument\n"
        "SELECT 'sqlc.narg(nor_this)' FROM t\n"
        "WHERE a = coalesce(sqlc.narg(status), a) AND b = sqlc.narg('kind');\n"
        "\n"
        "-- name: Other :exec\n"
        "DELETE FROM t WHERE id = sqlc.arg(id);\n"
    )
    found = read_nullable_args(parse_query_files([queries]))
    assert found == {"Find": {"status", "kind"}, "Other": set()}


@pytest.mark.parametrize(
    ("command", "method", "scalar_method", "returns"),
    [
        (Command.ONE, "fetchrow", "fetchval", "X | None"),
        (Command.MANY, "fetch", "fetch", "list[X]"),
        (Command.EXECROWS, "execute", "execute", "int"),
        (Command.COPYFROM, "copy_records_to_table", "copy_records_to_table", "int"),
        (Command.BATCHONE, "fetchrow", "fetchval", "list[X | None]"),
        (Command.BATCHMANY, "fetch", "fetch", "list[list[X]]"),
    ],
)
def test_a_command_knows_its_driver_method_and_result(
    command: Command, method: str, scalar_method: str, returns: str
) -> None:
    assert command.method() == method
    assert command.method(scalar=True) == scalar_method
    assert command.returns("X") == returns
    assert Command.ONE.returns("X", always_row=True) == "X"


def test_every_local_of_a_function_with_keyword_arguments_is_reserved() -> None:
    """A keyword argument named like a local the body assigns would be rebound: the
    names a generated body uses must be the ones names.py escapes (read from every
    golden case's output, so a new local in the renderer fails here)."""
    reserved = names._USED_BY_GENERATED_FUNCTIONS
    checked = 0
    for module in GENERATOR_TESTS.glob("cases/*/expected/*/*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if not isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
                continue
            if not node.args.kwonlyargs:
                continue
            checked += 1
            assigned = {
                target.id
                for child in ast.walk(node)
                for target in (
                    child.targets
                    if isinstance(child, ast.Assign)
                    else [child.target]
                    if isinstance(child, ast.AnnAssign | ast.For)
                    else []
                )
                if isinstance(target, ast.Name)
            }
            assigned |= {
                child.name
                for child in ast.walk(node)
                if isinstance(child, ast.ExceptHandler) and child.name
            }
            parameters = {arg.arg for arg in node.args.kwonlyargs}
            assert assigned - parameters <= reserved, (module, node.name)
    assert checked > 50
