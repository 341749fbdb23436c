"""Results the cache hands to every caller of a query: one object, nobody can change it.

A row model is frozen (`RowModel`): assigning a field raises. What it holds may not
be: a jsonb value is a dict or a list, an array column a list. `share` replaces
those, in place and all the way down, with `ReadOnlyDict` and `ReadOnlyList`: still
a `dict` and a `list` to every reader (isinstance, equality, JSON, FastAPI), but
each method that would change one raises a TypeError saying how to get a copy that
can change (`copy.deepcopy`, `row.model_copy(deep=True)`). So a hit costs a
lookup, not a copy: a copy of a Pydantic row costs some 18 us right after a round
trip on this machine (docs/caching.md), more than the lookup itself.

`share` also tells about how many bytes the result holds (`sys.getsizeof` of every
object reached), which the cache bounds (`DB_CACHE_MAX_BYTES`).
"""

from __future__ import annotations

import copy
import datetime as dt
import sys
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from types import UnionType
from typing import Any, NoReturn, Union, get_args, get_origin
from uuid import UUID

from pydantic import BaseModel

_CHANGED = (
    "this value belongs to a row the result cache shares with every caller of its "
    "query, so it cannot be changed: change a copy (copy.deepcopy(value), or "
    "row.model_copy(deep=True) for the whole row)"
)

# Values nobody can change, kept as they are (subclasses too: asyncpg's UUID, the
# generated StrEnums).
IMMUTABLE = (int, float, str, bytes, Decimal, dt.date, dt.time, dt.timedelta, UUID, type(None))

# About how many bytes a value of each immutable type holds, by exact type: one dict
# lookup per value, where `sys.getsizeof` costs some 140 ns and an isinstance over
# IMMUTABLE 250 ns for a value that is none of them. Subclasses are added when first
# met (an enum member is shared by every row: 0).
_SIZES: dict[type, int] = {
    kind: sys.getsizeof(sample) + extra
    for kind, sample, extra in (
        (int, 10**9, 0),
        (float, 1.5, 0),
        (Decimal, Decimal("1.2345"), 0),
        (dt.datetime, dt.datetime(2026, 1, 1), 0),
        (dt.date, dt.date(2026, 1, 1), 0),
        (dt.time, dt.time(1), 0),
        (dt.timedelta, dt.timedelta(1), 0),
        (UUID, UUID(int=1), sys.getsizeof(2**127)),  # its int
    )
} | {bool: 0, type(None): 0}
_STR_SIZE = sys.getsizeof("")  # and a byte per character: exact for ASCII, less than others


def _refuse(*args: object, **kwargs: object) -> NoReturn:
    raise TypeError(_CHANGED)


class ReadOnlyDict(dict[str, Any]):
    """A JSON object of a shared row: a dict that refuses every change."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return {key: copy.deepcopy(value, memo) for key, value in self.items()}

    def __reduce__(self) -> tuple[type[dict[str, Any]], tuple[dict[str, Any]]]:
        return dict, (dict(self),)  # a pickled copy belongs to nobody else


class ReadOnlyList(list[Any]):
    """A JSON array or an array column of a shared row: a list that refuses every change."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return [copy.deepcopy(value, memo) for value in self]

    def __reduce__(self) -> tuple[type[list[Any]], tuple[list[Any]]]:
        return list, (list(self),)


class NotShareableError(Exception):
    """A result holding something `share` cannot make read-only (it is then not stored)."""


def share(value: object) -> tuple[object, int]:
    """`value` made safe to hand to every caller (in place where it can be: a row's
    JSON values, a list's items), and about how many bytes it holds. A list result
    stays a list: the cache hands each caller a new one of the same shared items.
    Raises NotShareableError for a value of a kind it cannot make read-only."""
    if isinstance(value, list):
        items: list[object] = value  # pyright: ignore[reportUnknownVariableType]
        shared, size = _shared_items(items)
        items[:] = shared  # the caller's own list, holding what every hit will hold
        return items, size
    return _shared(value)


def _shared(value: object) -> tuple[object, int]:
    """`value`, or a read-only equal of it, and about how many bytes it holds."""
    kind = type(value)
    size = _SIZES.get(kind)
    if size is not None:
        return value, size
    if kind is str or kind is bytes:
        return value, _STR_SIZE + len(value)  # type: ignore[arg-type]
    # dict and list before BaseModel: pydantic's metaclass is an ABCMeta, whose
    # isinstance costs ten times a plain class's.
    if isinstance(value, dict):
        return _shared_dict(value)  # pyright: ignore[reportUnknownArgumentType]
    if isinstance(value, list):
        shared, size = _shared_items(value)  # pyright: ignore[reportUnknownArgumentType]
        return ReadOnlyList(shared), size
    if isinstance(value, BaseModel):
        return value, _share_model(value)
    if isinstance(value, Enum):
        _SIZES[kind] = 0
        return value, 0
    if isinstance(value, IMMUTABLE):
        if not isinstance(value, str | bytes):  # their size varies with their length
            _SIZES[kind] = sys.getsizeof(value)
        return value, sys.getsizeof(value)
    raise NotShareableError(f"{type(value).__qualname__} cannot be made read-only")


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to share the rows of one model, read once from its fields' types."""

    fixed: int  # bytes of a row, its __dict__, and its fields of fixed size
    texts: tuple[str, ...]  # str or bytes fields: their length adds to `fixed`
    walked: tuple[str, ...]  # fields that may hold a dict, a list or a model


_PLANS: dict[type[BaseModel], _Plan] = {}


def _shared_items(items: list[object]) -> tuple[list[object], int]:
    """A list's items made read-only, and about how many bytes the list holds."""
    size = sys.getsizeof(items)
    shared: list[object] = []
    for item in items:
        kept, item_size = _shared(item)
        shared.append(kept)
        size += item_size
    return shared, size


def _shared_dict(value: dict[str, Any]) -> tuple[ReadOnlyDict, int]:
    size = sys.getsizeof(value)
    sizes = _SIZES
    for key, item in value.items():  # the common case: a flat object of plain values
        known = sizes.get(type(item))
        if known is None:
            if type(item) is not str:
                break
            known = _STR_SIZE + len(item)
        size += known + _STR_SIZE + len(key)
    else:
        return ReadOnlyDict(value), size
    size = sys.getsizeof(value)
    entries: dict[str, Any] = {}
    for key, item in value.items():
        entries[key], item_size = _shared(item)
        size += item_size + _STR_SIZE + len(key)
    return ReadOnlyDict(entries), size


def _share_model(model: BaseModel) -> int:
    plan = _PLANS.get(type(model)) or _plan(model)
    fields = model.__dict__
    size = plan.fixed
    for name in plan.texts:
        text = fields[name]
        if text is not None:
            size += len(text)
    for name in plan.walked:
        item = fields[name]
        kept, item_size = _shared(item)
        if kept is not item:
            fields[name] = kept  # a frozen model refuses setattr; its values are ours to swap
        size += item_size
    return size


def _plan(model: BaseModel) -> _Plan:
    kind = type(model)
    if not model.model_config.get("frozen"):
        raise NotShareableError(f"{kind.__qualname__} is not frozen")
    fixed = sys.getsizeof(model) + sys.getsizeof(model.__dict__)
    texts: list[str] = []
    walked: list[str] = []
    for name, field in kind.model_fields.items():
        classes = [c for c in _alternatives(field.annotation) if c is not type(None)]
        if not all(isinstance(c, type) for c in classes):
            walked.append(name)  # JsonValue, list[...]: walked, whatever they hold
        elif all(issubclass(c, Enum) for c in classes):
            pass  # an enum member is shared by every row
        elif all(issubclass(c, str | bytes) for c in classes):
            texts.append(name)
            fixed += _STR_SIZE
        elif all(c in _SIZES for c in classes):
            fixed += max(_SIZES[c] for c in classes)
        else:
            walked.append(name)  # a model, or a type _shared decides on
    found = _PLANS[kind] = _Plan(fixed, tuple(texts), tuple(walked))
    return found


def _alternatives(annotation: Any) -> tuple[Any, ...]:
    """`A | B | None` as (A, B, None); any other annotation as itself."""
    if get_origin(annotation) in (Union, UnionType):
        return get_args(annotation)
    return (annotation,)
