"""The pool's queue of free slots hands a slot given back to the checkout that has
waited longest, and loses none when a waiter gives up (_fast_checkout.HandoffQueue)."""

from __future__ import annotations

import asyncio

import pytest

from chip_quality_db._fast_checkout import HandoffQueue

pytestmark = pytest.mark.unit


class Slot:
    """A stand-in for asyncpg's PoolConnectionHolder: the queue asks it this only."""

    def __init__(self, name: str) -> None:
        self.name = name

    def is_connected(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Slot) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


A, B, C = Slot("a"), Slot("b"), Slot("c")


async def waiting(queue: HandoffQueue) -> asyncio.Task[object]:
    task = asyncio.create_task(queue.get())
    await asyncio.sleep(0)  # now in line
    return task


async def test_a_slot_given_back_goes_to_the_longest_waiter_not_to_a_newcomer() -> None:
    queue = HandoffQueue()
    first, second = await waiting(queue), await waiting(queue)
    queue.put_nowait(A)
    newcomer = asyncio.create_task(queue.get())  # asks before the first waiter has run
    queue.put_nowait(B)
    assert await first == A
    assert await second == B
    assert not newcomer.done()
    queue.put_nowait(C)
    assert await newcomer == C
    assert queue.empty()


async def test_a_waiter_cancelled_after_being_handed_a_slot_passes_it_on() -> None:
    queue = HandoffQueue()
    first, second = await waiting(queue), await waiting(queue)
    queue.put_nowait(A)  # handed to `first`, which has not run yet
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == A


async def test_a_waiter_that_times_out_leaves_the_line_and_the_slot_stays() -> None:
    queue = HandoffQueue()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await queue.get()
    queue.put_nowait(A)
    assert queue.qsize() == 1
    assert await queue.get() == A


async def test_with_no_one_waiting_the_newest_slot_goes_first() -> None:
    """asyncpg's order: the connection used last is warm and the others may expire."""
    queue = HandoffQueue()
    for slot in (A, B, C):
        queue.put_nowait(slot)
    assert [await queue.get() for _ in range(3)] == [C, B, A]


async def test_waits_with_a_limit_end_in_time_and_a_slot_in_time_is_served() -> None:
    queue = HandoffQueue()
    loop = asyncio.get_running_loop()
    started = loop.time()
    long_waits = [asyncio.create_task(queue.get(0.2)) for _ in range(5)]
    short_wait = asyncio.create_task(queue.get(0.05))  # a shorter limit behind longer ones
    last_wait = asyncio.create_task(queue.get(0.2))
    await asyncio.sleep(0)
    long_waits[0].cancel()  # gives up: the others still end on time
    await asyncio.sleep(0.02)
    queue.put_nowait(A)  # to the longest waiter still in line
    with pytest.raises(TimeoutError):
        await short_wait
    assert loop.time() - started >= 0.05
    assert not any(wait.done() for wait in long_waits[2:])  # it did not wait for theirs
    assert await long_waits[1] == A
    for wait in long_waits[2:]:
        with pytest.raises(TimeoutError):
            await wait
    assert 0.2 <= loop.time() - started < 1.0
    with pytest.raises(TimeoutError):
        await last_wait
    queue.put_nowait(B)  # nobody waits any more: it stays for the next checkout
    assert await queue.get(0.01) == B
