"""The pool's waiting line serves checkouts first come, first served, ends each wait
at its limit with one timer, never hands anything to a wait that ended, and loses
nothing a cancelled wait was handed (chip_quality_db._waiting_line)."""

from __future__ import annotations

import asyncio

import pytest

from chip_quality_db._waiting_line import WaitingLine


class TimedOutError(Exception):
    pass


def line(timeout: float = 5.0) -> tuple[WaitingLine[str], list[str]]:
    unclaimed: list[str] = []
    return WaitingLine(timeout, TimedOutError, unclaimed.append), unclaimed


async def in_line(waiting: WaitingLine[str]) -> asyncio.Task[str]:
    task = asyncio.create_task(waiting.wait())
    await asyncio.sleep(0)  # now in line
    return task


async def test_what_is_given_back_goes_to_the_longest_wait_not_to_a_newcomer() -> None:
    waiting, _ = line()
    first, second = await in_line(waiting), await in_line(waiting)
    assert waiting.serve("a")
    newcomer = asyncio.create_task(waiting.wait())  # asks before the first wait has run
    assert waiting.serve("b")
    assert await first == "a"
    assert await second == "b"
    assert not newcomer.done()
    assert waiting.serve("c")
    assert await newcomer == "c"
    assert not waiting.serve("d")  # nobody waits: the caller keeps it
    assert len(waiting) == 0


async def test_a_wait_cancelled_after_being_served_passes_it_on() -> None:
    waiting, unclaimed = line()
    first = await in_line(waiting)
    assert waiting.serve("a")  # handed to `first`, which has not run yet
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert unclaimed == ["a"]


async def test_a_cancelled_wait_is_skipped() -> None:
    waiting, unclaimed = line()
    first, second = await in_line(waiting), await in_line(waiting)
    first.cancel()
    await asyncio.sleep(0)
    assert len(waiting) == 1
    assert waiting.serve("a")
    assert await second == "a"
    assert unclaimed == []


async def test_waits_end_at_their_limit_in_order_and_a_timed_out_one_gets_nothing() -> None:
    waiting, unclaimed = line(timeout=0.1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    early = [await in_line(waiting) for _ in range(3)]
    await asyncio.sleep(0.05)
    late = [await in_line(waiting) for _ in range(2)]
    early[0].cancel()  # gives up: the others still end on time
    for wait in early[1:]:
        with pytest.raises(TimedOutError):
            await wait
    assert 0.1 <= loop.time() - started < 0.14
    assert not any(wait.done() for wait in late)  # theirs is later
    assert waiting.serve("a")  # to the oldest wait still open, not a timed-out one
    assert await late[0] == "a"
    with pytest.raises(TimedOutError):
        await late[1]
    assert loop.time() - started >= 0.15
    assert not waiting.serve("b") and unclaimed == []


async def test_fail_all_ends_every_wait() -> None:
    waiting, _ = line()
    waits = [await in_line(waiting) for _ in range(3)]
    waiting.fail_all(lambda: TimedOutError("closed"))
    for wait in waits:
        with pytest.raises(TimedOutError, match="closed"):
            await wait
