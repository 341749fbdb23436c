"""Checkouts waiting for a connection: first come, first served, under one timer.

Every wait of a pool has the same limit (DB_POOL_TIMEOUT), so waits end in the
order they began: one timer, set for the oldest unserved wait, serves them all
(an `asyncio.timeout` per checkout cost some 8% of the time per operation with
50 tasks on a pool of 10). A connection given back goes to the oldest wait still
open; a wait that timed out or was cancelled is skipped, never handed anything.
A wait cancelled in the instant after it was handed a connection passes it on
(`unclaimed`), so nothing handed over is lost.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# asyncio may run a timer up to its clock resolution early: a wait due within this
# margin counts as due, so the timer does not spin until the deadline is passed.
_EARLY = 0.001


class WaitingLine(Generic[T]):
    def __init__(
        self,
        timeout: float,
        timed_out: Callable[[], BaseException],
        unclaimed: Callable[[T], None],
    ) -> None:
        self.timeout = timeout
        self._timed_out = timed_out
        self._unclaimed = unclaimed
        self._waits: deque[tuple[float, asyncio.Future[T]]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        """How many waits are open (cancelled and served ones are not counted)."""
        return sum(not future.done() for _, future in self._waits)

    async def wait(self) -> T:
        """What `serve` hands this wait; the `timed_out()` error after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        deadline = loop.time() + self.timeout
        self._waits.append((deadline, future))
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire, loop)
        try:
            return await future
        except BaseException:
            # Cancelled after `serve` handed it something but before it ran: pass it on.
            if future.done() and not future.cancelled() and future.exception() is None:
                self._unclaimed(future.result())
            future.cancel()
            raise

    def serve(self, item: T) -> bool:
        """Hand `item` to the oldest open wait; False when none is open."""
        waits = self._waits
        while waits:
            future = waits.popleft()[1]
            if not future.done():
                future.set_result(item)
                return True
        return False

    def fail_oldest(self, error: BaseException) -> bool:
        """End the oldest open wait with `error`; False when none is open."""
        while self._waits:
            future = self._waits.popleft()[1]
            if not future.done():
                future.set_exception(error)
                return True
        return False

    def fail_all(self, error: Callable[[], BaseException]) -> None:
        while self.fail_oldest(error()):
            pass
        self._stop_timer()

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        waits = self._waits
        due = loop.time() + _EARLY
        while waits and (waits[0][1].done() or waits[0][0] <= due):
            future = waits.popleft()[1]
            if not future.done():
                future.set_exception(self._timed_out())
        if waits:
            self._timer = loop.call_at(waits[0][0], self._expire, loop)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
