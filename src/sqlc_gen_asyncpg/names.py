"""Python names from SQL names: snake_case, PascalCase, singular class names, escaping."""

from __future__ import annotations

import builtins
import keyword
import re

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z0-9]+|[A-Z]+|[0-9]+")

# Attributes of pydantic.BaseModel that a field must not shadow.
_BASEMODEL_ATTRIBUTES = frozenset(
    {
        "copy",
        "dict",
        "json",
        "schema",
        "schema_json",
        "validate",
        "construct",
        "parse_obj",
        "parse_raw",
        "parse_file",
        "from_orm",
        "update_forward_refs",
        "fields",
    }
)
_BUILTINS = frozenset(dir(builtins))


def words(name: str) -> list[str]:
    return _WORD.findall(name)


def snake_case(name: str) -> str:
    return "_".join(word.lower() for word in words(name))


def pascal_case(name: str) -> str:
    return "".join(word[:1].upper() + word[1:].lower() for word in words(name))


def constant_case(name: str) -> str:
    return snake_case(name).upper()


def singular(word: str) -> str:
    """English singular of a table name's last word: parts -> part, inference_jobs -> job."""
    lower = word.lower()
    if lower.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if lower.endswith(("sses", "shes", "ches", "xes", "zzes", "uses")):
        return word[:-2]
    if lower.endswith("ss") or lower.endswith("us") or lower.endswith("is"):
        return word
    if lower.endswith("s") and len(word) > 1:
        return word[:-1]
    return word


def class_name_for_table(table: str) -> str:
    parts = words(table)
    if parts:
        parts[-1] = singular(parts[-1])
    return pascal_case("_".join(parts))


def is_builtin(name: str) -> bool:
    return name in _BUILTINS


def field_name(column: str) -> str:
    """A model field for a column; keywords and BaseModel attributes get a trailing underscore."""
    name = snake_case(column) if not column.isidentifier() else column
    if keyword.iskeyword(name) or name in _BASEMODEL_ATTRIBUTES:
        return name + "_"
    return name


def parameter_name(column: str) -> str:
    """A function parameter; keywords and builtins (`id`, `type`) get a trailing underscore."""
    name = snake_case(column)
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in _BUILTINS:
        return name + "_"
    return name
