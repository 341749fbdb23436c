"""Results the cache hands to every caller of a query: one object, nobody can change it.

A row model is frozen (`RowModel`): assigning a field raises. What it holds may not
be: a jsonb value is a dict or a list, an array column a list. `read_only` replaces
those, in place and all the way down, with `ReadOnlyDict` and `ReadOnlyList`: still
a `dict` and a `list` to every reader (isinstance, equality, JSON, FastAPI), but
each method that would change one raises a TypeError saying how to get a copy that
can change (`copy.deepcopy`, `row.model_copy(deep=True)`). So a hit costs a
lookup, not a copy: a copy of a Pydantic row costs some 18 us right after a round
trip on this machine (docs/caching.md), more than the lookup itself.

A miss calls `read_only` before it returns (its caller gets the row every hit will
get) and `size_of` after, when the row is stored: about how many bytes it holds,
which the cache bounds (`DB_CACHE_MAX_BYTES`). They are two walks so that a miss
waits only for the first.
"""

from __future__ import annotations

import copy
import datetime as dt
import sys
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from types import UnionType
from typing import Annotated, Any, NoReturn, TypeVar, Union, get_args, get_origin
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, JsonValue, NaiveDatetime

T = TypeVar("T")

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


# Empty ones: nobody can change them, so every row may hold the same.
EMPTY_DICT = ReadOnlyDict()
EMPTY_LIST = ReadOnlyList()


class NotShareableError(Exception):
    """A result holding something `read_only` cannot make read-only (it is not stored)."""


def read_only(value: T) -> T:
    """`value` made safe to hand to every caller: in place where it can be (a row's
    JSON values, a list's items), else a read-only equal. A list result stays a
    list: the cache hands each caller a new one of the same shared items. Raises
    NotShareableError for a value of a kind it cannot make read-only."""
    kept: Any = value
    plan = _PLANS.get(type(kept))
    if plan is None:  # not a row of a model met before (that common case follows)
        if type(kept) is list:
            kept[:] = [read_only(item) for item in kept]  # the caller's own list
            return value
        shared: T = _read_only(kept)
        return shared
    fields = kept.__dict__  # a frozen model refuses setattr; its values are ours to swap
    for name in plan.json:
        item = fields[name]
        kind = type(item)
        if kind is dict:
            fields[name] = _read_only_dict(item) if item else EMPTY_DICT
        elif kind is list:
            fields[name] = _read_only_json(item)
    for name in plan.walked:
        item = fields[name]
        shared_item = _read_only(item)
        if shared_item is not item:
            fields[name] = shared_item
    return value


def _read_only(value: Any) -> Any:
    kind = type(value)
    if kind in _SIZES or kind is str or kind is bytes:
        return value
    # dict and list before BaseModel: pydantic's metaclass is an ABCMeta, whose
    # isinstance costs ten times a plain class's.
    if kind is ReadOnlyDict or kind is ReadOnlyList:
        return value  # shared already (a row that is in two results)
    if isinstance(value, dict):
        return _read_only_dict(value)  # pyright: ignore[reportUnknownArgumentType]
    if isinstance(value, list):
        return ReadOnlyList([_read_only(item) for item in value])  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, BaseModel):
        _read_only_model(value)
        return value
    if isinstance(value, Enum):
        _SIZES[kind] = 0  # an enum member is shared by every row
        return value
    if isinstance(value, IMMUTABLE):
        if not isinstance(value, str | bytes):  # their size varies with their length
            _SIZES[kind] = sys.getsizeof(value)
        return value
    raise NotShareableError(f"{type(value).__qualname__} cannot be made read-only")


def _read_only_dict(value: dict[str, Any]) -> ReadOnlyDict:
    leaves = _SIZES
    for item in value.values():  # the common case: a flat object of plain values
        kind = type(item)
        if kind not in leaves and kind is not str:
            return ReadOnlyDict({key: _read_only(item) for key, item in value.items()})
    return ReadOnlyDict(value)


def _read_only_json(value: Any) -> Any:
    """A value the JSON codec parsed: a dict, a list, or an immutable scalar."""
    kind = type(value)
    if kind is dict:
        return _read_only_dict(value)
    if kind is list:
        return ReadOnlyList([_read_only_json(item) for item in value]) if value else EMPTY_LIST
    return value


def _read_only_model(model: BaseModel) -> None:
    if type(model) not in _PLANS:
        _plan(model)  # read_only walks a row by its model's plan
    read_only(model)


def size_of(value: object) -> int:
    """About how many bytes `value` holds (a result `read_only` returned): what the
    cache counts against DB_CACHE_MAX_BYTES."""
    kind = type(value)
    size = _SIZES.get(kind)
    if size is not None:
        return size
    if kind is str or kind is bytes:
        return _STR_SIZE + len(value)  # type: ignore[arg-type]
    if isinstance(value, dict):
        entries: dict[str, Any] = value  # pyright: ignore[reportUnknownVariableType]
        size = sys.getsizeof(entries)
        for key, item in entries.items():
            size += size_of(item) + _STR_SIZE + len(key)
        return size
    if isinstance(value, list):
        items: list[object] = value  # pyright: ignore[reportUnknownVariableType]
        return sys.getsizeof(items) + sum([size_of(item) for item in items])
    if isinstance(value, BaseModel):
        plan = _PLANS.get(type(value)) or _plan(value)
        fields = value.__dict__
        size = plan.fixed
        for name in plan.texts:
            text = fields[name]
            if text is not None:
                size += len(text)
        for name in plan.json:
            size += size_of(fields[name])
        for name in plan.walked:
            size += size_of(fields[name])
        return size
    return sys.getsizeof(value)  # an immutable kind `read_only` met first (an enum: 0)


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to share the rows of one model, read once from its fields' types."""

    fixed: int  # bytes of a row, its __dict__, and its fields of fixed size
    texts: tuple[str, ...]  # str or bytes fields: their length adds to `fixed`
    json: tuple[str, ...]  # JSON fields (DbJson): the codec's dicts, lists and scalars
    walked: tuple[str, ...]  # other fields that may hold a dict, a list or a model


_PLANS: dict[type[BaseModel], _Plan] = {}


def _plan(model: BaseModel) -> _Plan:
    kind = type(model)
    if not model.model_config.get("frozen"):
        raise NotShareableError(f"{kind.__qualname__} is not frozen")
    fixed = sys.getsizeof(model) + sys.getsizeof(model.__dict__)
    texts: list[str] = []
    json: list[str] = []
    walked: list[str] = []
    for name, field in kind.model_fields.items():
        classes = [
            _VALUES_OF.get(c, c) for c in _alternatives(field.annotation) if c is not type(None)
        ]
        if classes == [JsonValue]:
            json.append(name)
        elif not all(isinstance(c, type) for c in classes):
            walked.append(name)  # JsonValue, list[...]: walked, whatever they hold
        elif all(issubclass(c, Enum) for c in classes):
            pass  # an enum member is shared by every row
        elif all(issubclass(c, str | bytes) for c in classes):
            texts.append(name)
            fixed += _STR_SIZE
        elif all(c in _SIZES for c in classes):
            fixed += max(_SIZES[c] for c in classes)
        else:
            walked.append(name)  # a model, or a type _read_only decides on
    found = _PLANS[kind] = _Plan(fixed, tuple(texts), tuple(json), tuple(walked))
    return found


def _alternatives(annotation: Any) -> tuple[Any, ...]:
    """`A | B | None` as (A, B, None), `Annotated[A, ...]` as A; any other as itself."""
    if get_origin(annotation) in (Union, UnionType):
        return tuple(
            item for alternative in get_args(annotation) for item in _alternatives(alternative)
        )
    if get_origin(annotation) is Annotated:
        return _alternatives(get_args(annotation)[0])
    return (annotation,)


# Annotations whose values are of another class: pydantic's checked datetimes.
_VALUES_OF: dict[Any, type] = {AwareDatetime: dt.datetime, NaiveDatetime: dt.datetime}
