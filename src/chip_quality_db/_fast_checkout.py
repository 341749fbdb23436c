"""Checkout and release without asyncpg's per-call machinery, where it has nothing to do.

asyncpg's `Pool.acquire()` takes a slot through a context object and three
coroutines, and `Pool.release()` runs the slot's release in a task of its own
(`asyncio.shield`): two more trips through the event loop, for a reset step that
under the transaction-local policy (_pool.py) does nothing unless a transaction
was left open. With 50 tasks on a pool of 10, the two took about a third of the
time per get by primary key (docs/benchmarks.md, pool throughput).

`take` and `release_now` do what asyncpg's own paths do in the one case they
cover, and leave every other case to asyncpg (they return None / False):

- take: the pool is open. It waits in the pool's queue of free slots as asyncpg
  does, and the slot's own `acquire()` still runs, so a closed or expired
  connection is replaced as asyncpg would.
- release_now: the connection is open, out of any transaction, not being
  cancelled, under `max_queries` and of the pool's current generation: asyncpg's
  release would roll nothing back, close nothing and send nothing.

A release that does not yield to the event loop needs `HandoffQueue` as the
pool's queue (`install`): in asyncio's queue a slot given back stays in the queue
until the waiter it woke runs, so the releasing task took it straight back, again
and again, and the waiters timed out (the restart test in tests/faults saw
checkouts fail for 50 s). `release_now` refuses a pool without it.

Both read asyncpg internals; `SUPPORTED` says whether the installed asyncpg has
them (checked once, at import). Without them every checkout takes asyncpg's
public path, only slower; tests/runtime/test_pool_and_transactions.py fails
instead, so an upgrade cannot lose the fast path unnoticed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import Any

import asyncpg
from asyncpg import pool as _asyncpg_pool
from asyncpg.pool import PoolConnectionHolder, PoolConnectionProxy

_POOL_METHODS = ("_check_init", "_initialize", "_schedule_min_size_maintenance")
_HOLDER_METHODS = ("acquire", "_release", "_setup_inactive_callback")
_CONNECTION_METHODS = ("_on_release", "is_closed", "is_in_transaction")
_QUEUE = getattr(_asyncpg_pool, "_PoolConnectionHolderQueue", None)

SUPPORTED = (
    isinstance(_QUEUE, type)
    and issubclass(_QUEUE, asyncio.Queue)
    and all(hasattr(asyncpg.Pool, name) for name in _POOL_METHODS)
    and all(hasattr(PoolConnectionHolder, name) for name in _HOLDER_METHODS)
    and all(hasattr(asyncpg.Connection, name) for name in _CONNECTION_METHODS)
    and {"_con", "_holder"} <= set(getattr(PoolConnectionProxy, "__slots__", ()))
)

_BaseQueue: Any = _QUEUE if SUPPORTED else asyncio.LifoQueue


class HandoffQueue(_BaseQueue):  # type: ignore[misc]
    """asyncpg's queue of free slots (last in, first out; live connections first),
    except that a slot given back while checkouts wait goes straight to the one that
    has waited longest: first come, first served, whoever gives back next.

    A wait can have a time limit without a timer of its own: waits with the same
    limit end in the order they began, so one timer, set for the oldest unserved
    wait, serves them all (`asyncio.timeout` per checkout cost some 8% of the time
    per operation with 50 tasks on a pool of 10).
    """

    # Set on first use: a pool's queue becomes a HandoffQueue after it was made.
    _deadlines: collections.deque[tuple[float, asyncio.Future[Any]]] | None = None
    _timer: asyncio.TimerHandle | None = None

    def put_nowait(self, item: Any) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(item)
                return
        super().put_nowait(item)

    async def get(self, timeout: float | None = None) -> Any:
        """A slot; with `timeout`, TimeoutError if none came within that many seconds."""
        if not self.empty():  # a slot waits in the queue only while no checkout does
            return self.get_nowait()
        loop = asyncio.get_running_loop()
        getter = loop.create_future()
        self._getters.append(getter)
        if timeout is not None:
            self._end_at(loop, loop.time() + timeout, getter)
        try:
            return await getter
        except BaseException:
            # Cancelled or timed out: leave the line; a slot handed over meanwhile
            # goes to the next in line.
            with contextlib.suppress(ValueError):
                self._getters.remove(getter)
            if getter.done() and not getter.cancelled() and getter.exception() is None:
                self.put_nowait(getter.result())
            getter.cancel()
            raise

    def _end_at(self, loop: asyncio.AbstractEventLoop, deadline: float, getter: Any) -> None:
        deadlines = self._deadlines
        if deadlines is None:
            deadlines = self._deadlines = collections.deque()
        while deadlines and deadlines[0][1].done():  # served (or ended) already
            deadlines.popleft()
        if deadlines and deadline < deadlines[-1][0]:
            # A shorter limit than a wait before it (another timeout): a timer of its own.
            loop.call_at(deadline, _time_out, getter)
            return
        deadlines.append((deadline, getter))
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._time_out_due, loop)

    def _time_out_due(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        deadlines = self._deadlines
        now = loop.time()
        while deadlines and (deadlines[0][1].done() or deadlines[0][0] <= now):
            _time_out(deadlines.popleft()[1])
        if deadlines:
            self._timer = loop.call_at(deadlines[0][0], self._time_out_due, loop)


def _time_out(getter: asyncio.Future[Any]) -> None:
    if not getter.done():
        getter.set_exception(TimeoutError("no connection was free within DB_POOL_TIMEOUT"))


def install(pool: asyncpg.Pool) -> None:
    """Make `pool`'s queue a HandoffQueue: the same object, holding the same slots
    (asyncpg creates its queue while the pool opens, before anyone can wait)."""
    queue = getattr(pool, "_queue", None)
    if SUPPORTED and type(queue) is _QUEUE:
        queue.__class__ = HandoffQueue


async def take(pool: asyncpg.Pool, timeout: float) -> PoolConnectionProxy | None:
    """A slot's connection: a free one at once, else the first one given back within
    `timeout` seconds (TimeoutError after). None when the pool is not open or has no
    HandoffQueue: then asyncpg's `acquire()` must serve, or say why not."""
    internals: Any = pool  # asyncpg's stubs leave out what is read here
    if not _fast(internals):
        return None
    queue = internals._queue
    if queue.qsize():
        # Nothing to wait for, so no timer: opening the slot's connection, if it has
        # none, is bounded by the connect timeout (DB_POOL_TIMEOUT too).
        holder = queue.get_nowait()
    else:
        holder = await queue.get(timeout)
    try:
        proxy: PoolConnectionProxy = await holder.acquire()
    except BaseException:
        # As asyncpg's _acquire_impl: the slot goes back, and the pool tops itself up.
        queue.put_nowait(holder)
        internals._schedule_min_size_maintenance()
        raise
    holder._timeout = None  # no release timeout: asyncpg's, for acquire(timeout=None)
    return proxy


def release_now(pool: asyncpg.Pool, proxy: Any) -> bool:
    """Give `proxy`'s connection back at once if its release has nothing to do;
    False (and nothing changed) when asyncpg's `release()` must run instead."""
    if type(proxy) is not PoolConnectionProxy or not _fast(pool):
        return False
    holder: Any = proxy._holder
    conn: Any = proxy._con  # type: ignore[attr-defined]
    try:
        if not _idle(pool, holder, conn):
            return False
        listeners, log_listeners = conn._listeners, conn._log_listeners
    except AttributeError:  # an asyncpg whose internals differ: its own path is safe
        return False
    # What asyncpg's release does for such a connection, in its order: the
    # connection's housekeeping, Connection._reset's (listeners only: no
    # transaction to roll back), then the slot's release and its idle timer.
    conn._on_release()
    listeners.clear()
    log_listeners.clear()
    holder._timeout = None
    holder._release()
    holder._setup_inactive_callback()
    return True


def _fast(pool: Any) -> bool:
    """Whether `pool` is open and its queue a HandoffQueue."""
    return bool(
        SUPPORTED
        and type(getattr(pool, "_queue", None)) is HandoffQueue
        and pool._initialized
        and not pool._closing
        and not pool._closed
    )


def _idle(pool: Any, holder: Any, conn: Any) -> bool:
    """Whether asyncpg's release of `conn` would send nothing and close nothing."""
    return bool(
        holder._pool is pool
        and conn is not None
        and not conn.is_closed()
        and not conn.is_in_transaction()
        and conn._top_xact is None
        and not conn._protocol._is_cancelling()
        and conn._protocol.queries_count < holder._max_queries
        and holder._generation == pool._generation
    )
