"""Read-your-writes: what a read in this asyncio context must see (its read floor).

After a write commits through the cluster handle, the context's floor rises to the
primary's WAL position, read after the commit (at or past its commit record): a
replica serves the context's reads only once it has replayed that far. When the
position cannot be read (the connection broke right after COMMIT), the write still
committed and its caller still gets its result; the context's reads go to the
primary instead until every replica in rotation must have it: DB_REPLICA_MAX_LAG
plus one check interval later (a replica further behind leaves the rotation).

`consistency_token()` and `reading_after(token)` carry the floor to another context
(a client can send it back with its next request): the position, and the wall-clock
time until which reads must go to the primary when there is one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReadFloor:
    position: int = 0  # the WAL position reads must see (0: none)
    primary_until: float = 0.0  # time.time() before which reads go to the primary

    def allows(self, replayed: int) -> bool:
        """Whether a replica that has replayed up to `replayed` may serve a read."""
        return replayed >= self.position and (
            self.primary_until == 0.0 or time.time() >= self.primary_until
        )


_NONE = ReadFloor()
_floor: ContextVar[ReadFloor] = ContextVar("chip_quality_db_read_floor", default=_NONE)


def current() -> ReadFloor:
    return _floor.get()


def lsn(text: str | None) -> int:
    """A WAL position such as `0/3000148` as a number (0 for None)."""
    if not text:
        return 0
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def note_write(position: int) -> None:
    """Later reads in this context must see `position` (a write's commit)."""
    floor = _floor.get()
    if position > floor.position:
        _floor.set(ReadFloor(position, floor.primary_until))


def note_unknown_write(primary_for: float) -> None:
    """A write committed at a position nobody could read: later reads in this
    context go to the primary for the next `primary_for` seconds."""
    floor = _floor.get()
    until = time.time() + primary_for
    if until > floor.primary_until:
        _floor.set(ReadFloor(floor.position, until))


def consistency_token() -> str:
    """The floor of this context, to hand to another context: `position`, or
    `position@until` while reads must go to the primary."""
    floor = _floor.get()
    if floor.primary_until > time.time():
        return f"{floor.position}@{floor.primary_until:.3f}"
    return str(floor.position)


@contextlib.contextmanager
def reading_after(token: str | None) -> Iterator[None]:
    """Reads inside see at least what `token` (from `consistency_token()`) saw."""
    try:
        position_text, _, until_text = (token or "0").partition("@")
        position = int(position_text)
        until = float(until_text) if until_text else 0.0
    except ValueError:
        raise ValueError(f"not a consistency token: {token!r}") from None
    floor = _floor.get()
    reset = _floor.set(ReadFloor(max(floor.position, position), max(floor.primary_until, until)))
    try:
        yield
    finally:
        _floor.reset(reset)
