"""Text layout shared by the renderers: docstrings, string literals, bracketed
lists and expressions wrapped as `ruff format` wraps them, and imports ordered
as ruff's isort orders them (line length 100)."""

from __future__ import annotations

import itertools
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from .pgtypes import PyType

LINE_LENGTH = 100


def docstring(lines: Iterable[str], indent: str) -> list[str]:
    text = [line.rstrip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"') for line in lines]
    while text and not text[-1]:
        text.pop()
    while text and not text[0]:
        text.pop(0)
    if not text:
        return []
    if text[-1].endswith('"'):
        text[-1] += " "
    if len(text) == 1:
        return [f'{indent}"""{text[0]}"""']
    body = [f"{indent}{line}" if line else "" for line in text[1:]]
    return [f'{indent}"""{text[0]}', *body, f'{indent}"""']


def quoted(value: str) -> str:
    """A string literal, quoted as ruff prefers: double quotes unless single need fewer escapes."""
    escaped = value.replace("\\", "\\\\").replace("\n", "\\n")
    if value.count("'") < value.count('"'):
        return "'" + escaped.replace("'", "\\'") + "'"
    return '"' + escaped.replace('"', '\\"') + '"'


def bracketed(head: str, items: list[str], tail: str, indent: str, close: str = ")") -> list[str]:
    """`head(items)tail` on one line when it fits, else one item per line."""
    one_line = f"{indent}{head}{', '.join(items)}{close}{tail}"
    if len(one_line) <= LINE_LENGTH or not items:
        return [one_line]
    inner = indent + "    "
    return [f"{indent}{head}", *(f"{inner}{item}," for item in items), f"{indent}{close}{tail}"]


class Imports:
    def __init__(self) -> None:
        self.modules: set[str] = set()
        self.names: dict[str, set[str]] = defaultdict(set)

    def add(self, module: str, name: str | None = None) -> None:
        if name is None:
            self.modules.add(module)
        else:
            self.names[module].add(name)

    def add_type(self, py_type: PyType) -> None:
        for module, name in py_type.imports:
            self.add(module, name)

    def render(self) -> list[str]:
        sections: dict[int, list[str]] = defaultdict(list)
        for module in sorted(self.modules):
            sections[_section(module)].append(f"import {module}")
        for module in sorted(self.names, key=lambda m: (m.startswith("."), m.lstrip("."), m)):
            names = sorted(self.names[module], key=_isort_key)
            lines = bracketed(f"from {module} import (", names, "", "", ")")
            if len(lines) == 1:
                lines = [f"from {module} import {', '.join(names)}"]
            sections[_section(module)].extend(lines)
        out: list[str] = []
        for key in sorted(sections):
            if out:
                out.append("")
            out.extend(sections[key])
        return out


def _section(module: str) -> int:
    if module == "__future__":
        return 0
    if module.startswith("."):
        return 4
    top = module.split(".")[0]
    if top in sys.stdlib_module_names:
        return 1
    if top in ("asyncpg", "pydantic", "orjson"):
        return 2
    return 3


def _isort_key(name: str) -> tuple[int, str]:
    if name.isupper() and len(name) > 1:
        return (0, name.lower())
    return (1 if name[:1].isupper() else 2, name.lower())


def join_blocks(blocks: list[list[str]]) -> str:
    """Top-level blocks as ruff lays them out: one blank line after the docstring, and
    after the imports when a plain statement follows; two before and after a definition."""
    parts = [block for block in blocks if block]
    text = "\n".join(parts[0])
    for previous, block in itertools.pairwise(parts):
        after_imports = previous[0].startswith(("from ", "import "))
        definition = block[0].startswith(("class ", "def ", "async def ", "@"))
        docstring = previous is parts[0]
        one_blank = docstring or (after_imports and not definition)
        text += ("\n\n" if one_blank else "\n\n\n") + "\n".join(block)
    return text + "\n"


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class ListComp:
    element: Expr
    loop: str  # `for record in records`


@dataclass(frozen=True)
class IfElse:
    body: Expr
    test: str
    orelse: Expr


Expr = str | Call | ListComp | IfElse


def flat(expr: Expr) -> str:
    if isinstance(expr, str):
        return expr
    if isinstance(expr, Call):
        return f"{expr.func}({', '.join(flat(arg) for arg in expr.args)})"
    if isinstance(expr, ListComp):
        return f"[{flat(expr.element)} {expr.loop}]"
    return f"{flat(expr.body)} if {expr.test} else {flat(expr.orelse)}"


def wrapped(expr: Expr, indent: str, prefix: str = "", suffix: str = "") -> list[str]:
    """`prefix expr suffix` on one line when it fits, else split as ruff format splits
    it: a call's arguments one per line (a magic trailing comma keeps them there), a
    comprehension's element and loop inside its brackets, then on lines of their own."""
    line = f"{indent}{prefix}{flat(expr)}{suffix}"
    if len(line) <= LINE_LENGTH or isinstance(expr, str):
        return [line]
    inner = indent + "    "
    if isinstance(expr, Call):
        head = f"{indent}{prefix}{expr.func}("
        if prefix and len(head) > LINE_LENGTH:
            # `return (`, the call split inside the parentheses: even its name is too long.
            return [f"{indent}{prefix}(", *wrapped(expr, inner), f"{indent}){suffix}"]
        args = [part for arg in expr.args for part in wrapped(arg, inner, "", ",")]
        return [head, *args, f"{indent}){suffix}"]
    if isinstance(expr, ListComp):
        hugged = f"{inner}{flat(expr.element)} {expr.loop}"
        if len(hugged) <= LINE_LENGTH:
            return [f"{indent}{prefix}[", hugged, f"{indent}]{suffix}"]
        element = wrapped(expr.element, inner)
        return [f"{indent}{prefix}[", *element, f"{inner}{expr.loop}", f"{indent}]{suffix}"]
    return [
        *wrapped(expr.body, indent, prefix),
        f"{indent}if {expr.test}",
        *wrapped(expr.orelse, indent, "else ", suffix),
    ]
