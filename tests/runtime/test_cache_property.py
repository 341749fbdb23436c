"""The cache's promise under interleaved writers, as a hypothesis state machine (issue 27).

Cached reads of a few parts (GetPartByNumber) interleave with writes through the
layer (a generated write on the pool, plain SQL in `transaction()`), plain-SQL
writes on another connection, writes from another process, and the listening
connection being killed (pg_terminate_backend). Every write sets the part's name
to a counter that only grows. The check: a cached read never returns a name older
than the last write committed before the read began, except a write by another
connection or process whose notification the listener had not heard yet when the
read began (the notification window). Notifications arrive one per committed write
to `parts`, in commit order, so the n-th one heard announces the n-th write.
The window (commit returned to the writer -> notification heard) is printed.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from chip_quality_db import (
    DatabaseSettings,
    Pool,
    QueryCache,
    create_pool,
    enable_cache,
    load_settings,
    transaction,
)
from chip_quality_queries import parts
from chip_quality_queries.models import PartType

from ..conftest import REPORT

PARTS = 3
# The longest a write by someone else may go unheard and still excuse an older read:
# far above the measured window (printed), far below a forgotten notification's forever.
WINDOW_LIMIT = 1.0
# The listener is killed once per example, midway: before, the windows are measured
# (a notification lost with the listener pairs with no write).
KILL_AFTER = 20
# Some examples hear every notification this much later: the process's own writes
# must still be seen at once (they do not wait for the notification that is late).
SLOW_LISTENER = 0.02


class SlowListener(QueryCache):
    """A cache whose listener handles each notification `delay` seconds late."""

    def __init__(self, handle: Pool, settings: DatabaseSettings, delay: float) -> None:
        super().__init__(handle, settings)
        self.delay = delay

    def _heard(self, conn: object, pid: int, channel: str, payload: str) -> None:
        asyncio.get_running_loop().call_later(
            self.delay, super()._heard, conn, pid, channel, payload
        )


UPDATE = "UPDATE parts SET part_name = $1 WHERE part_number = $2"

# Another process: reads `<number> <name>` lines, writes each on its own connection,
# answers `ok` once the commit returned.
WRITER = """
import asyncio, sys, asyncpg
async def main(url):
    conn = await asyncpg.connect(url)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        number, name = line.split()
        await conn.execute("UPDATE parts SET part_name = $1 WHERE part_number = $2", name, number)
        print("ok", flush=True)
    await conn.close()
asyncio.run(main(sys.argv[1]))
"""


@dataclass
class Write:
    part: int
    value: int
    committed: float  # monotonic time the commit returned to the writer
    source: str  # pool, transaction, other-connection, other-process
    sent: float  # monotonic time the writer began (the commit is between the two)


class Run:
    """What one test run shares across hypothesis examples: the database, the other
    process, its own event loop, and the figures."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.process = subprocess.Popen(
            [sys.executable, "-c", WRITER, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.windows: list[float] = []
        self.after_return: list[float] = []
        self.stale_allowed = 0
        self.reads = self.hits = self.kills = 0
        self.examples = 0

    def write_elsewhere(self, number: str, name: str) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{number} {name}\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "ok"

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)
        self.loop.close()


RUN: Run | None = None


class CacheMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        assert RUN is not None
        self.run = RUN
        self.run.examples += 1
        self.prefix = f"PROP-{self.run.examples}-"
        self.counter = 0
        self.writes: list[Write] = []  # every write to parts, in commit order
        self.values = [0] * PARTS
        self.pool: Pool
        self.cache: QueryCache
        self.other: asyncpg.Connection
        self.steps = 0
        self.killed = False  # notifications lost since: the windows are no longer paired

    def do(self, work):  # type: ignore[no-untyped-def]
        return self.run.loop.run_until_complete(work)

    @initialize(delay=st.sampled_from([0.0, 0.0, SLOW_LISTENER]))
    def start(self, delay: float) -> None:
        self.delay = delay

        async def start() -> None:
            settings = load_settings(DATABASE_URL=self.run.url, DB_POOL_SIZE=2, DB_MAX_OVERFLOW=2)
            self.pool = await create_pool(settings)
            if delay:
                self.cache = SlowListener(self.pool, settings, delay)
                await self.cache.start()
                self.cache.attach()
            else:
                self.cache = await enable_cache(self.pool)
            self.other = await asyncpg.connect(self.run.url)
            for n in range(PARTS):
                await self.other.execute(
                    "INSERT INTO parts (part_number, part_name, part_type) VALUES ($1, 'v0', $2)",
                    self.number(n),
                    PartType.PCB.value,
                )
            # The inserts' notifications: heard before the machine starts.
            deadline = time.monotonic() + 5
            while self.heard_parts() < PARTS:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.005)
            self.base = self.heard_parts()

        self.do(start())

    def teardown(self) -> None:
        async def stop() -> None:
            await self.cache.close()
            await self.pool.close()
            await self.other.close()

        if hasattr(self, "cache"):
            self.do(stop())

    def number(self, part: int) -> str:
        return f"{self.prefix}{part}"

    def heard_parts(self) -> int:
        return sum(1 for _, table in self.cache.heard if table == "parts")

    def next_value(self, part: int) -> int:
        self.counter += 1
        self.values[part] = self.counter
        return self.counter

    def record(self, part: int, value: int, source: str, sent: float) -> None:
        self.writes.append(Write(part, value, time.monotonic(), source, sent))

    # -- writes ------------------------------------------------------------------------

    @rule(part=st.integers(0, PARTS - 1))
    def write_through_the_pool(self, part: int) -> None:
        value = self.next_value(part)
        sent = time.monotonic()

        async def write() -> None:
            found = await parts.get_part_by_number(self.other, part_number=self.number(part))
            assert found is not None
            await parts.update_part(
                self.pool, parts.UpdatePartParams(part_id=found.id, part_name=f"v{value}")
            )

        self.do(write())
        self.record(part, value, "pool", sent)

    @rule(part=st.integers(0, PARTS - 1))
    def write_in_a_transaction(self, part: int) -> None:
        value = self.next_value(part)
        sent = time.monotonic()

        async def write() -> None:
            async with transaction(self.pool, actor="prop") as conn:
                await conn.execute(UPDATE, f"v{value}", self.number(part))

        self.do(write())
        self.record(part, value, "transaction", sent)

    @rule(part=st.integers(0, PARTS - 1))
    def write_on_another_connection(self, part: int) -> None:
        value = self.next_value(part)
        sent = time.monotonic()
        self.do(self.other.execute(UPDATE, f"v{value}", self.number(part)))
        self.record(part, value, "other-connection", sent)

    @rule(part=st.integers(0, PARTS - 1))
    def write_from_another_process(self, part: int) -> None:
        value = self.next_value(part)
        sent = time.monotonic()
        self.run.write_elsewhere(self.number(part), f"v{value}")
        self.record(part, value, "other-process", sent)

    @precondition(lambda self: self.steps >= KILL_AFTER and not self.killed)
    @rule()
    def kill_the_listener(self) -> None:
        pid = self.cache.listener_pid()
        if pid is None:
            return
        self.do(self.other.execute("SELECT pg_terminate_backend($1)", pid))
        self.run.kills += 1
        self.killed = True

    @rule(pause=st.sampled_from([0.0, 0.001, 0.01]))
    def wait(self, pause: float) -> None:
        self.do(asyncio.sleep(pause))

    # -- reads -------------------------------------------------------------------------

    @rule(first=st.integers(0, PARTS - 1), times=st.integers(1, 3))
    def read(self, first: int, times: int) -> None:
        """Reads of every part, starting with `first`, `times` rounds (hits come from
        the later rounds)."""
        for _ in range(times):
            for n in range(PARTS):
                self.read_one((first + n) % PARTS)

    def read_one(self, part: int) -> None:
        began = time.monotonic()
        since = self.cache.listening_since  # writes that committed before: emptied out
        away = not self.cache.listening  # nothing may be served: the read is the database's
        heard = self.heard_parts() - self.base  # writes announced so far, in commit order
        hits = self.cache.hits
        found = self.do(parts.get_part_by_number(self.pool, part_number=self.number(part)))
        assert found is not None
        got = int(found.part_name[1:])
        self.run.reads += 1
        self.run.hits += self.cache.hits - hits
        committed = [i for i, w in enumerate(self.writes) if w.part == part and w.committed < began]
        if not committed:
            assert got == 0
            return
        last = committed[-1]
        must_see = self.writes[last].value
        if got >= must_see:
            return
        assert not away, f"stale read of part {part} while the listener was away: v{got}"
        # Older than the last committed write: only a write by someone else whose
        # notification was not heard yet when the read began, and nothing of ours.
        for i in committed:
            write = self.writes[i]
            if write.value > got:
                assert write.source in ("other-connection", "other-process"), (
                    f"stale read of part {part}: v{got}, though {write.source} wrote "
                    f"v{write.value} before the read began"
                )
                # Written after the listener was killed: its notification is lost. The
                # process learns of the loss when the killed connection's socket says
                # so, a trip from the server like a notification's; until then the
                # write is in flight like any other (the window below). Once the loss
                # is known nothing is served (`away` above) and what was stored before
                # is gone (`since` below). Seen once under coverage on a loaded
                # machine: a read 0.23 s after the kill, the loss not yet noticed.
                assert began - write.committed < WINDOW_LIMIT, (
                    f"stale read of part {part}: v{got}, {began - write.committed:.3f} s after "
                    f"the write of v{write.value} committed"
                )
                assert i >= heard and write.committed >= since, (
                    f"stale read of part {part}: v{got}, though the write of v{write.value} "
                    f"(#{i}) was announced ({heard} heard) before the read began"
                )
        self.run.stale_allowed += 1

    @invariant()
    def measure_windows(self) -> None:
        """Each write's notification window: from the moment its writer began (the commit
        is later) to its notification heard, an upper bound; and from the moment the
        commit returned to the writer, which the notification often beats."""
        if not hasattr(self, "cache"):
            return
        self.steps += 1
        times = [at for at, table in self.cache.heard if table == "parts"][self.base :]
        for i in range(getattr(self, "measured", 0), min(len(times), len(self.writes))):
            if not (self.killed or self.delay) and self.writes[i].source.startswith("other"):
                self.run.windows.append(times[i] - self.writes[i].sent)
                self.run.after_return.append(times[i] - self.writes[i].committed)
            self.measured = i + 1


@pytest.fixture
def run(db_url: str) -> Iterator[Run]:
    global RUN
    RUN = Run(db_url)
    try:
        yield RUN
    finally:
        RUN.close()
        RUN = None


def test_no_cached_read_is_older_than_a_write_committed_before_it(run: Run) -> None:
    test = CacheMachine.TestCase
    test.settings = settings(
        max_examples=20,
        stateful_step_count=50,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    test().runTest()
    assert run.reads > 0 and run.hits > 0 and run.kills > 0

    def percentiles(values: list[float]) -> str:
        ordered = sorted(values)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[int(0.99 * (len(ordered) - 1))] * 1000
        return f"p50 {p50:.3f} ms, p99 {p99:.3f} ms"

    REPORT["query result cache: notification window"] = [
        f"{len(run.windows)} writes by another connection or process: writer began -> "
        "notification heard (an upper bound), " + percentiles(run.windows),
        "commit returned to the writer -> notification heard (negative: heard first), "
        + percentiles(run.after_return),
        f"{run.reads} cached reads ({run.hits} hits), {run.kills} listener kills, "
        f"{run.stale_allowed} reads older than a write still in its window",
    ]
    print(REPORT["query result cache: notification window"])
