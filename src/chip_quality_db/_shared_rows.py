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
from decimal import Decimal
from enum import Enum
from typing import Any, NoReturn
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
        size = sys.getsizeof(items)
        for index, item in enumerate(items):
            kept, item_size = _shared(item)
            if kept is not item:
                items[index] = kept
            size += item_size
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
        size = sys.getsizeof(value)
        entries: dict[str, Any] = {}
        for key, item in value.items():  # pyright: ignore[reportUnknownVariableType]
            entries[key], item_size = _shared(item)
            size += item_size + _STR_SIZE + len(key)
        return ReadOnlyDict(entries), size
    if isinstance(value, list):
        size = sys.getsizeof(value)
        shared: list[object] = []
        for item in value:  # pyright: ignore[reportUnknownVariableType]
            kept, item_size = _shared(item)
            shared.append(kept)
            size += item_size
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


def _share_model(model: BaseModel) -> int:
    if not model.model_config.get("frozen"):
        raise NotShareableError(f"{type(model).__qualname__} is not frozen")
    fields = model.__dict__
    size = sys.getsizeof(model) + sys.getsizeof(fields)
    sizes = _SIZES
    for name, item in fields.items():
        known = sizes.get(type(item))  # most columns: what _shared would do, without its call
        if known is not None:
            size += known
            continue
        kept, item_size = _shared(item)
        if kept is not item:
            fields[name] = kept  # a frozen model refuses setattr; its values are ours to swap
        size += item_size
    return size
