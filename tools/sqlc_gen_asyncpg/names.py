"""Python names from SQL names: snake_case, PascalCase, singular class names, escaping."""

from __future__ import annotations

import ast
import builtins
import keyword
import re
import unicodedata
from collections.abc import Iterable
from functools import cache

import inflect

# Words of a name: an acronym's plural is one word (`BookISBNs`: Book, ISBNs).
_WORD = re.compile(r"[A-Z]{2,}s(?![a-z])|[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z0-9]+|[A-Z]+|[0-9]+")

# Attributes of pydantic.BaseModel (v2, with v1's deprecated ones) that a field
# must not shadow: pydantic refuses such a model when it is defined.
_BASEMODEL_ATTRIBUTES = frozenset(
    {
        "construct",
        "copy",
        "dict",
        "fields",
        "from_orm",
        "json",
        "parse_file",
        "parse_obj",
        "parse_raw",
        "schema",
        "schema_json",
        "update_forward_refs",
        "validate",
        "model_computed_fields",
        "model_config",
        "model_construct",
        "model_copy",
        "model_dump",
        "model_dump_json",
        "model_extra",
        "model_fields",
        "model_fields_set",
        "model_json_schema",
        "model_parametrized_name",
        "model_post_init",
        "model_rebuild",
        "model_validate",
        "model_validate_json",
        "model_validate_strings",
    }
)
_BUILTINS = frozenset(dir(builtins))

# Names a generated function uses itself, which a keyword argument of the same
# name would break: its first argument (`db`, `conn`), the iterator's `prefetch`,
# its locals (mypy refuses a parameter rebound to another type), and the runtime
# helpers its body calls. The local for a command status is `command_status`,
# not `status`, so that the common column `status` keeps its name.
_USED_BY_GENERATED_FUNCTIONS = frozenset(
    {
        "db",
        "conn",
        "prefetch",
        "value",
        "record",
        "records",
        "command_status",
        "error",
        "query_failed",
        "build_row",
        "validate_rows",
        "affected_rows",
        "transaction_on",
        "db_value",
    }
)

# The lower-case names a query module imports (from the runtime, and `annotations`).
_IMPORTED_BY_QUERY_MODULES = frozenset(
    {
        "annotations",
        "query_failed",
        "build_row",
        "validate_rows",
        "affected_rows",
        "transaction_on",
        "missing_row",
        "db_value",
    }
)


def words(name: str) -> list[str]:
    return _WORD.findall(name)


def snake_case(name: str) -> str:
    return "_".join(word.lower() for word in words(name))


def pascal_case(name: str) -> str:
    return "".join(word[:1].upper() + word[1:].lower() for word in words(name))


def constant_case(name: str) -> str:
    return snake_case(name).upper()


def query_class_name(query: str) -> str:
    """The stem of a query's classes (`<stem>Row`, `<stem>Params`), in the query's own
    casing: `UpdateBookISBN` -> `UpdateBookISBN` (PEP 8: acronyms stay capitals),
    `list_lots` -> `ListLots`."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", query))


@cache
def _inflect() -> inflect.engine:
    return inflect.engine()


def singular(word: str) -> str:
    """English singular of a table name's last word, as the `inflect` library gives it:
    parts -> part, warehouses -> warehouse, people -> person, series -> series.

    inflect takes a final s off a word that is singular already (analysis -> analysi,
    bus -> bu). Such a word is kept when inflect also reads it as a singular: its
    plural is another word whose singular is the word again (analysis -> analyses ->
    analysis), which a real plural's is not (parts -> partss).
    """
    lower = word.lower()
    engine = _inflect()
    candidate = engine.singular_noun(lower) if lower else False
    if not candidate or candidate == lower:
        return word
    if candidate == lower[:-1]:
        plural = engine.plural_noun(lower)
        if plural != lower and engine.singular_noun(plural) == lower:
            return word
    return candidate


def plural(word: str) -> str:
    """English plural of a word, as the `inflect` library gives it: title -> titles."""
    return _inflect().plural_noun(word) if word else word


def class_name_for_table(table: str) -> str:
    parts = words(table)
    if parts:
        parts[-1] = singular(parts[-1])
    return pascal_case("_".join(parts))


def function_name(query: str) -> str:
    """A query's function: its name in snake_case, with a trailing underscore where it
    would shadow a keyword, a builtin or a helper the module imports: `List` ->
    `list_`, `In` -> `in_`, `GetLot` -> `get_lot`."""
    name = snake_case(query)
    if (
        keyword.iskeyword(name)
        or keyword.issoftkeyword(name)
        or name in _BUILTINS
        or name in _IMPORTED_BY_QUERY_MODULES
    ):
        return name + "_"
    return name


def field_name(column: str) -> str:
    """A model field for a column; keywords and BaseModel attributes get a trailing underscore."""
    name = snake_case(column) if not column.isidentifier() else column
    if keyword.iskeyword(name) or name in _BASEMODEL_ATTRIBUTES:
        return name + "_"
    return name


def parameter_name(column: str, *, keyword_argument: bool) -> str:
    """A query parameter's name; keywords, builtins (`id`, `type`) and BaseModel
    attributes (a Params model's fields) get a trailing underscore, and so do the
    names a generated function uses itself (`db`, `value`) when the parameter
    is one of its keyword arguments."""
    name = snake_case(column)
    if (
        keyword.iskeyword(name)
        or keyword.issoftkeyword(name)
        or name in _BUILTINS
        or name in _BASEMODEL_ATTRIBUTES
        or (keyword_argument and name in _USED_BY_GENERATED_FUNCTIONS)
    ):
        return name + "_"
    return name


def enum_members(values: Iterable[str]) -> list[str]:
    """Member names for an enum's values, in their order, all different.

    A value's name is the value in CONSTANT_CASE (`in progress` -> IN_PROGRESS). A
    value without an ASCII letter or digit is named by its characters' Unicode
    names (`#` -> NUMBER_SIGN, `<=` -> LESS_THAN_SIGN_EQUALS_SIGN; the empty string
    is EMPTY). A value whose name an earlier value took is spelled out, every
    character other than a letter or digit by its Unicode name (`in-progress` after
    `in_progress` -> IN_HYPHEN_MINUS_PROGRESS); values that differ in case only
    (`Low`, `low`) leave the later one VALUE_<position>, as sqlc's Go output does.
    A name that would start with a digit gets V_ in front.
    """
    members: list[str] = []
    for position, value in enumerate(values, start=1):
        member = constant_case(value) or _spelled(value) or "EMPTY"
        if member in members:
            member = _spelled(value)
        if member[:1].isdigit() or keyword.iskeyword(member):
            member = f"V_{member}"
        if member in members:
            member = f"VALUE_{position}"
        members.append(member)
    return members


def _spelled(value: str) -> str:
    """`a-b` -> A_HYPHEN_MINUS_B: runs of ASCII letters and digits in capitals, any other
    character by its Unicode name (`U+0009` style for one without a name)."""
    parts: list[str] = []
    run = ""
    for char in value:
        if char.isascii() and char.isalnum():
            run += char.upper()
            continue
        if run:
            parts.append(run)
            run = ""
        name = unicodedata.name(char, "") or f"U{ord(char):04X}"
        parts.append("_".join(_NOT_ALNUM.split(name)))
    if run:
        parts.append(run)
    return "_".join(parts)


_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")


def is_placeholder(name: str) -> bool:
    """Whether sqlc gave a parameter no name of a column: none, or its Go output's
    stand-ins `dollar_1` and `column_1`."""
    return not name or _PLACEHOLDER.fullmatch(name) is not None


_PLACEHOLDER = re.compile(r"(?:dollar|column)_[0-9]+")


def adapter_name(annotation: str) -> str:
    """The constant naming a TypeAdapter of a Python annotation, read as a type:
    `list[Widget]` -> `_WIDGET_LIST`, `int | None` -> `_INT_OR_NONE`,
    `list[Range[int]]` -> `_INT_RANGE_LIST`."""
    return "_" + _type_words(ast.parse(annotation, mode="eval").body)


def _type_words(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return _CLASS_WORD.sub("_", node.id).upper()
    if isinstance(node, ast.Attribute):
        return _type_words(ast.Name(node.attr))
    if isinstance(node, ast.Constant) and node.value is None:
        return "NONE"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return f"{_type_words(node.left)}_OR_{_type_words(node.right)}"
    if isinstance(node, ast.Subscript):
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        arguments = "_AND_".join(_type_words(item) for item in items)
        return f"{arguments}_{_type_words(node.value)}"
    raise ValueError(f"not a type annotation: {ast.unparse(node)}")


# Between a lower-case letter or digit and an upper-case one: NaiveDatetime, IPv4Address.
_CLASS_WORD = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
