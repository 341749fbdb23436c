"""What building one query module reads and collects, passed explicitly.

The functions that turn a query into a `Function` (functions.py, params.py,
results.py) read the inputs and the catalog, and add to what this module's file
will hold: its problems, its TypeAdapters, the table models and CHECK constants
it uses. All of that lives here, in one object made per module, instead of in
attributes of a builder set here and there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import names
from .catalog import Catalog
from .constraints import Rule
from .inputs import Inputs
from .ir import Adapter, Problem
from .pgtypes import PyType
from .request import Query

# Modules of the types a result may have that pydantic validates without
# arbitrary_types_allowed (the generated package's own models and enums among them).
_PYDANTIC_KNOWS = frozenset(
    {"uuid", "decimal", "datetime", "ipaddress", "pydantic", "._runtime", ".models"}
)

# Modules whose names a result's type may use that are all classes: the standard
# library's, asyncpg's and the package's own models and enums. pydantic's names
# (JsonValue, AwareDatetime) are aliases, and an override's module may hold anything.
_CLASSES_FROM = frozenset({"uuid", "decimal", "datetime", "ipaddress", "asyncpg", ".models"})
_BUILTIN_CLASSES = frozenset({"bool", "bytes", "float", "int", "list", "object", "str"})


@dataclass
class Scope:
    inputs: Inputs
    catalog: Catalog
    problems: list[Problem]  # the whole request's, in order
    checks_used: dict[str, Rule]  # the package's CHECK constants, by name
    adapters: dict[str, Adapter] = field(default_factory=dict)  # this module's, by type
    table_models_used: set[str] = field(default_factory=set)

    def problem(self, query: Query, message: str) -> None:
        self.problems.append(Problem(query.filename, query.name, message))

    def adapter(
        self,
        py_type: PyType,
        base: str | None = None,
        plain: bool = False,
        declared: str | None = None,
    ) -> str:
        """The name of this module's TypeAdapter of `py_type`, made on first use."""
        annotation = py_type.annotation
        if annotation in self.adapters:
            return self.adapters[annotation].name
        base = base or names.adapter_name(annotation)
        taken = {adapter.name for adapter in self.adapters.values()}
        name, suffix = base, 2
        while name in taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        modules = {module for module, _ in py_type.imports}
        # A bare class may be a model, which refuses a config: only types of the
        # user's own that sit in a union or a list get it.
        arbitrary = not plain and (
            "asyncpg" in modules
            or (bool(modules - _PYDANTIC_KNOWS) and not annotation.isidentifier())
        )
        annotated = declared is not None or not is_class(py_type)
        self.adapters[annotation] = Adapter(name, py_type, annotated, arbitrary, declared)
        return name


def is_class(py_type: PyType) -> bool:
    """Whether `py_type` is a class, or a class given type arguments (`list[str | None]`,
    `Range[int]`): what every type checker takes as a `type[T]` and infers T from, so
    `TypeAdapter(...)` of it needs no annotation. A union, None, Annotated or an alias
    is not (runtime.adapter_of says why that matters)."""
    annotation = py_type.annotation
    head, bracket, _ = annotation.partition("[")
    if bracket and _closing_bracket(annotation, len(head)) != len(annotation) - 1:
        return False  # `list[int] | None`: the brackets end before the annotation does
    if not head.isidentifier() or head == "None":
        return False
    if head in _BUILTIN_CLASSES:
        return True
    return any(name == head and module in _CLASSES_FROM for module, name in py_type.imports)


def _closing_bracket(text: str, opening: int) -> int:
    """The index of the `]` that closes the `[` at `opening`."""
    depth = 0
    for index in range(opening, len(text)):
        if text[index] == "[":
            depth += 1
        elif text[index] == "]":
            depth -= 1
            if depth == 0:
                return index
    return -1
