"""Many clients calling a few statements through PgBouncer; what each call got.

In a test: `await hammer(url, ...)`. As a process of its own (several services
behind one PgBouncer): `python -m tests.cluster.hammer URL FIRST_TASK TASKS CALLS
CACHE_SIZE` prints the outcomes as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import Callable

import asyncpg

# The same parameter and result types for all four: executed on a server
# connection where another client's statement of the same name is prepared, the
# wrong one runs without any error.
STATEMENTS: tuple[tuple[str, Callable[[int, int], int]], ...] = (
    ("SELECT $1::int + $2::int", lambda a, b: a + b),
    ("SELECT $1::int * $2::int", lambda a, b: a * b),
    ("SELECT $1::int - $2::int", lambda a, b: a - b),
    ("SELECT $1::int * 1000 + $2::int", lambda a, b: a * 1000 + b),
)
RIGHT = "right"
WRONG = "WRONG ANSWER"


async def hammer(
    url: str, *, first_task: int, tasks: int, calls: int, statement_cache_size: int
) -> Counter[str]:
    """`tasks` clients (a connection each) make `calls` calls, each client going through
    the statements in its own order. Counts answers right and wrong, and errors by class."""
    outcomes: Counter[str] = Counter()

    async def client(task: int) -> None:
        conn = await asyncpg.connect(url, statement_cache_size=statement_cache_size)
        try:
            for call in range(calls):
                query, expected = STATEMENTS[(task + call) % len(STATEMENTS)]
                try:
                    got = await conn.fetchval(query, task, call)
                except asyncpg.PostgresError as exc:
                    outcomes[type(exc).__name__] += 1
                else:
                    outcomes[RIGHT if got == expected(task, call) else WRONG] += 1
        finally:
            await conn.close()

    tasks_run = (client(task) for task in range(first_task, first_task + tasks))
    await asyncio.wait_for(asyncio.gather(*tasks_run), 120)
    return outcomes


def main() -> None:
    url, first_task, tasks, calls, cache = sys.argv[1:6]
    outcomes = asyncio.run(
        hammer(
            url,
            first_task=int(first_task),
            tasks=int(tasks),
            calls=int(calls),
            statement_cache_size=int(cache),
        )
    )
    print(json.dumps(dict(outcomes)))


if __name__ == "__main__":
    main()
