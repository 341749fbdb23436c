"""Plugin options (sqlc.yaml `codegen[].options`), checked once with messages that name the option.

options:
  package: chip_quality_queries      # required: import name of the generated package
  max_params: 8                      # more keyword parameters than this: a <Query>Params model
  iterators: [ListDefects]           # :many queries that also get an iter_<name> cursor form
  params_models: [CreateReport]      # queries that take a <Query>Params model however few params
  rename: {audit_log: AuditEntry}    # model/enum class names for tables and enums
  nullable: [LotYield.yield_ratio]   # result columns sqlc wrongly infers as NOT NULL
  overrides:                         # Python types for database types, columns, results
    - db_type: macaddr
      py_type: str
    - column: parts.specifications
      py_type: myapp.specs.PartSpecifications
    - result: GetInspectionWithDefects.defects   # a computed result column
      py_type: list[chip_quality_queries.models.Defect]
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from typing import Any

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

DEFAULT_MAX_PARAMS = 8


class OptionsError(ValueError):
    """A plugin option is missing, unknown or malformed."""


@dataclass(frozen=True)
class PyTypeRef:
    """A Python type named by an override: `module.Name` or a builtin name like `str`,
    optionally as `list[...]` of one."""

    module: str | None
    name: str
    is_list: bool = False

    @classmethod
    def parse(cls, spec: str, where: str, package: str) -> PyTypeRef:
        spec = spec.strip()
        inner = spec[5:-1].strip() if spec.startswith("list[") and spec.endswith("]") else spec
        if not _DOTTED.match(inner):
            raise OptionsError(
                f"{where}: py_type {spec!r} is not `module.Name`, a builtin name, "
                f"or `list[...]` of one"
            )
        module, _, name = inner.rpartition(".")
        if module == f"{package}.models":
            module = ".models"  # the generated package's own models, imported as its modules do
        return cls(module or None, name, is_list=inner is not spec)


@dataclass(frozen=True)
class Options:
    package: str
    max_params: int = DEFAULT_MAX_PARAMS
    iterators: frozenset[str] = frozenset()
    params_models: frozenset[str] = frozenset()
    rename: dict[str, str] = field(default_factory=dict)
    nullable: frozenset[str] = frozenset()
    type_overrides: dict[str, PyTypeRef] = field(default_factory=dict)
    column_overrides: dict[str, PyTypeRef] = field(default_factory=dict)
    result_overrides: dict[str, PyTypeRef] = field(default_factory=dict)


_KNOWN = (
    "package",
    "max_params",
    "iterators",
    "params_models",
    "rename",
    "nullable",
    "overrides",
)


def parse_options(raw: bytes) -> Options:
    if not raw:
        raise OptionsError("the option `package` is required (the generated package's import name)")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise OptionsError(f"options are not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise OptionsError("options must be a mapping")
    unknown = sorted(set(data) - set(_KNOWN))
    if unknown:
        raise OptionsError(f"unknown option {unknown[0]!r} (known: {', '.join(_KNOWN)})")
    package = _package(data.get("package"))
    return Options(
        package=package,
        max_params=_max_params(data.get("max_params", DEFAULT_MAX_PARAMS)),
        iterators=frozenset(_string_list(data.get("iterators", []), "iterators")),
        params_models=frozenset(_string_list(data.get("params_models", []), "params_models")),
        rename=_rename(data.get("rename", {})),
        nullable=frozenset(_nullable(data.get("nullable", []))),
        **_overrides(data.get("overrides", []), package),
    )


def _package(value: Any) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value) or keyword.iskeyword(value):
        raise OptionsError(f"option `package` must be a Python identifier, got {value!r}")
    return value


def _max_params(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise OptionsError(f"option `max_params` must be a whole number >= 0, got {value!r}")
    return int(value)


def _string_list(value: Any, option: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise OptionsError(f"option `{option}` must be a list of names, got {value!r}")
    return value


def _nullable(value: Any) -> list[str]:
    entries = _string_list(value, "nullable")
    for entry in entries:
        if entry.count(".") != 1:
            raise OptionsError(f"option `nullable`: {entry!r} is not `QueryName.column`")
    return entries


def _rename(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise OptionsError(
            f"option `rename` must be a mapping of name to class name, got {value!r}"
        )
    for source, target in value.items():
        if not isinstance(target, str) or not _IDENTIFIER.match(target):
            raise OptionsError(f"option `rename`: {source!r} -> {target!r} is not a class name")
    return dict(value)


def _overrides(value: Any, package: str) -> dict[str, dict[str, PyTypeRef]]:
    if not isinstance(value, list):
        raise OptionsError("option `overrides` must be a list of {db_type|column|result, py_type}")
    found: dict[str, dict[str, PyTypeRef]] = {"db_type": {}, "column": {}, "result": {}}
    for index, entry in enumerate(value):
        where = f"overrides[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("py_type"), str):
            raise OptionsError(f"{where}: needs `py_type` and one of `db_type`, `column`, `result`")
        extra = sorted(set(entry) - {*found, "py_type"})
        if extra:
            raise OptionsError(f"{where}: unknown key {extra[0]!r}")
        ref = PyTypeRef.parse(entry["py_type"], where, package)
        kinds = [kind for kind in found if kind in entry]
        if len(kinds) != 1:
            raise OptionsError(f"{where}: give exactly one of `db_type`, `column` or `result`")
        kind, target = kinds[0], str(entry[kinds[0]])
        if kind == "db_type":
            found[kind][target.lower()] = ref
        elif kind == "column":
            if target.count(".") not in (1, 2):
                raise OptionsError(f"{where}: column {target!r} is not `table.column`")
            found[kind][target.lower()] = ref
        else:
            if target.count(".") != 1:
                raise OptionsError(f"{where}: result {target!r} is not `QueryName.column`")
            found[kind][target] = ref
    return {
        "type_overrides": found["db_type"],
        "column_overrides": found["column"],
        "result_overrides": found["result"],
    }
