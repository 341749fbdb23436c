"""`make bench`'s query result cache figures (issue 27, docs/caching.md).

- cache_get: a lookup by key (GetPartByNumber, marked `@cache 60s`), per call, one
  caller, each step calling every approach once with the same key in a drawn
  order: raw asyncpg's `fetchrow` on a connection of its own (the round trip),
  the generated function on a pool with a cache holding the row (hit), and on
  one pool both without its cache (uncached: the cache detached, the pool as it
  is without one) and with it, emptied before the call (miss: the lookup, the
  query, the row made read-only; it is stored after the call returns). Ratios
  with the bootstrap interval over paired round medians: every approach against
  raw, and the miss against the uncached call. The miss and the uncached call
  share one pool because two pools do not cost the same: each has its own
  server backend, and two identical pools measured this way differed by up to
  5% (0.952x to 1.014x of each other in one run; docs/caching.md).
- cache_mixed: TASKS tasks for a few seconds on a pool: 95% reads of a hot set of
  parts by number, 5% renames of one of them (update_part on the pool), with the
  cache and without; operations per second and the statements sent to the server
  per operation (counted by the client: pg_stat_database's counters are flushed
  about once a second, too late for runs this short).
- cache_memory: the memory 10,000 cached parts hold (tracemalloc, after a
  collection), per row, beside what the cache counts in DB_CACHE_MAX_BYTES.
- cache_copy: what a hit costs to hand out a copy nobody else holds: validating
  the stored JSON again (what the cache does) against model_copy(deep=True) of a
  stored model, per part, client CPU only.

    BENCH_ONLY=cache make bench     # only these, on the benchmark's database
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from chip_quality_db import Pool, QueryCache, create_pool, enable_cache, load_settings
from chip_quality_queries import lots, parts
from chip_quality_queries.models import Part

HOT = 100  # parts in the mixed workload's hot set
MEMORY_ROWS = 10_000

Figures = dict[str, Any]


async def _add_parts(url: str, count: int) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO parts (part_number, part_name, part_type, specifications) "
            "SELECT 'PCB-CACHE-' || n, 'Cached part ' || n, 'pcb', "
            "jsonb_build_object('layers', 6, 'finish', 'ENIG', 'thickness_mm', 1.6) "
            "FROM generate_series(1, $1) AS n ON CONFLICT DO NOTHING",
            count,
        )
    finally:
        await conn.close()
    return [f"PCB-CACHE-{n}" for n in range(1, count + 1)]


def _bootstrap(values: list[float], baseline: list[float], rounds: int = 2000) -> list[float]:
    rng = random.Random(7)
    n = len(values)
    ratios = []
    for _ in range(rounds):
        picks = [rng.randrange(n) for _ in range(n)]
        ratios.append(
            statistics.median(values[i] for i in picks)
            / statistics.median(baseline[i] for i in picks)
        )
    ratios.sort()
    return [ratios[int(0.025 * rounds)], ratios[int(0.975 * rounds) - 1]]


async def _pool(url: str) -> Pool:
    return await create_pool(
        load_settings(DATABASE_URL=url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0, DB_POOL_PRE_PING=False)
    )


def _nothing() -> None:
    pass


async def cache_get(url: str, rounds: int, calls: int) -> dict[str, Figures]:
    numbers = await _add_parts(url, HOT)
    raw_conn = await asyncpg.connect(url)
    hit_pool, pool = await _pool(url), await _pool(url)
    hit_cache, cache = await enable_cache(hit_pool), await enable_cache(pool)
    sql = parts.GET_PART_BY_NUMBER
    ids = {}
    for number in numbers:
        found = await parts.get_part_by_number(hit_pool, part_number=number)
        assert found is not None
        ids[number] = found.id

    def cached(on: bool) -> None:
        """`pool` with its cache attached, or as a pool without a cache."""
        attached = getattr(pool, "result_cache", None) is not None
        if on and not attached:
            cache.attach()
        elif not on and attached:
            cache.detach()

    async def raw(number: str) -> object:
        return await raw_conn.fetchrow(sql, number)

    async def plain(number: str) -> object:
        return await parts.get_part_by_number(pool, part_number=number)

    async def hit(number: str) -> object:
        return await parts.get_part_by_number(hit_pool, part_number=number)

    async def miss(number: str) -> object:
        return await parts.get_part_by_number(pool, part_number=number)

    # A query that is not marked (GetPart, by id), on the pool without its cache and
    # with it: what the cache's wrapping of the pool's methods costs others.
    async def unmarked_plain_pool(number: str) -> object:
        return await parts.get_part(pool, part_id=ids[number])

    async def unmarked_cached_pool(number: str) -> object:
        return await parts.get_part(pool, part_id=ids[number])

    # What each needs of `pool` before it is timed: its cache on or off; a miss's
    # cache emptied.
    def prepare_miss() -> None:
        cached(True)
        cache.clear()

    prepare: dict[str, Callable[[], None]] = {
        "uncached": lambda: cached(False),
        "cached_miss": prepare_miss,
        "unmarked_plain_pool": lambda: cached(False),
        "unmarked_cached_pool": lambda: cached(True),
    }
    calls_of: dict[str, Callable[[str], Awaitable[object]]] = {
        "raw_asyncpg": raw,
        "uncached": plain,
        "cached_hit": hit,
        "cached_miss": miss,
        "unmarked_plain_pool": unmarked_plain_pool,
        "unmarked_cached_pool": unmarked_cached_pool,
    }
    rng = random.Random(19)
    timed_misses = 0  # of the hit approach's timed calls (an entry past its 60 s, say)
    medians: dict[str, list[float]] = {name: [] for name in calls_of}
    clock = time.perf_counter
    try:
        for round_number in range(rounds):
            for number in numbers:  # warm up; fills the hit cache
                for name, call in calls_of.items():
                    prepare.get(name, _nothing)()
                    await call(number)
            gc.collect()
            misses_before = hit_cache.misses
            times: dict[str, list[float]] = {name: [] for name in calls_of}
            for step in range(calls):
                number = numbers[(round_number * calls + step) % len(numbers)]
                for name in rng.sample(list(calls_of), len(calls_of)):
                    prepare.get(name, _nothing)()
                    began = clock()
                    await calls_of[name](number)
                    times[name].append(clock() - began)
            for name in calls_of:
                medians[name].append(statistics.median(times[name]))
            timed_misses += hit_cache.misses - misses_before
    finally:
        await hit_cache.close()
        await cache.close()
        await raw_conn.close()
        await hit_pool.close()
        await pool.close()
    raw_medians = medians["raw_asyncpg"]
    figures: dict[str, Figures] = {}
    for name, values in medians.items():
        figures[name] = {
            "median_s": statistics.median(values),
            "min_s": min(values),
            "max_s": max(values),
            "ratio_to_raw": statistics.median(values) / statistics.median(raw_medians),
            "ratio_ci95": _bootstrap(values, raw_medians),
        }
    figures["cached_miss"]["miss_to_uncached"] = statistics.median(
        medians["cached_miss"]
    ) / statistics.median(medians["uncached"])
    figures["cached_miss"]["miss_to_uncached_ci95"] = _bootstrap(
        medians["cached_miss"], medians["uncached"]
    )
    figures["unmarked_cached_pool"]["to_plain_pool"] = statistics.median(
        medians["unmarked_cached_pool"]
    ) / statistics.median(medians["unmarked_plain_pool"])
    figures["unmarked_cached_pool"]["to_plain_pool_ci95"] = _bootstrap(
        medians["unmarked_cached_pool"], medians["unmarked_plain_pool"]
    )
    figures["cached_hit"]["timed_misses"] = timed_misses
    figures["cached_hit"]["raw_to_hit"] = statistics.median(raw_medians) / statistics.median(
        medians["cached_hit"]
    )
    return figures


async def _drive(
    pool: Pool,
    numbers: list[str],
    ids: dict[str, Any],
    tasks: int,
    seconds: float,
    rng: random.Random,
    lot_id: Any = None,
) -> tuple[int, int, float]:
    """`tasks` tasks for `seconds`: 95% reads of the hot parts, 5% renames of one (or,
    given `lot_id`, updates of that lot: a table the reads do not read).
    Operations done, writes among them, seconds taken."""
    deadline = time.perf_counter() + seconds
    done = writes = 0

    async def worker(seed: int) -> None:
        nonlocal done, writes
        local = random.Random(seed)
        while time.perf_counter() < deadline:
            number = numbers[local.randrange(len(numbers))]
            write = local.random() < 0.05
            if write and lot_id is not None:
                await lots.update_lot(
                    pool, lots.UpdateLotParams(lot_id=lot_id, notes=f"note {local.random()}")
                )
                writes += 1
            elif write:
                await parts.update_part(
                    pool,
                    parts.UpdatePartParams(
                        part_id=ids[number], part_name=f"renamed {local.random()}"
                    ),
                )
                writes += 1
            else:
                await parts.get_part_by_number(pool, part_number=number)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(rng.randrange(10**9)) for _ in range(tasks)))
    return done, writes, time.perf_counter() - started


async def cache_mixed(url: str, tasks: int, seconds: float, rounds: int) -> dict[str, Figures]:
    numbers = await _add_parts(url, HOT)
    admin = await asyncpg.connect(url)
    ids = {
        r["part_number"]: r["id"]
        for r in await admin.fetch(
            "SELECT id, part_number FROM parts WHERE part_number = ANY($1::text[])", numbers
        )
    }
    settings = load_settings(
        DATABASE_URL=url, DB_POOL_SIZE=10, DB_MAX_OVERFLOW=0, DB_POOL_PRE_PING=False
    )
    lot_id = await admin.fetchval("SELECT id FROM lots WHERE lot_number = 'LOT-BENCH-1'")
    modes = ["cache_off", "cache_on", "cache_off_writes_elsewhere", "cache_on_writes_elsewhere"]
    results: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in modes}
    try:
        for _ in range(rounds):
            for mode in random.Random(len(results["cache_on"])).sample(modes, len(modes)):
                pool = await create_pool(settings)
                on = mode.startswith("cache_on")
                cache: QueryCache | None = await enable_cache(pool) if on else None
                elsewhere = lot_id if mode.endswith("elsewhere") else None
                rng = random.Random(3)
                await _drive(pool, numbers, ids, tasks, 0.3, rng, elsewhere)  # warm up
                missed = (cache.misses + cache.bypasses) if cache is not None else 0
                done, writes, elapsed = await _drive(
                    pool, numbers, ids, tasks, seconds, rng, elsewhere
                )
                # Statements sent: every operation without the cache; with it, the
                # writes and the reads the cache did not answer.
                answered = 0 if cache is None else cache.misses + cache.bypasses - missed
                commits = done if cache is None else writes + answered
                results[mode].append(
                    (done / elapsed, commits / max(done, 1), writes / max(done, 1))
                )
                if cache is not None:
                    await cache.close()
                await pool.close()
    finally:
        await admin.close()
    figures: dict[str, Figures] = {}
    for mode, runs in results.items():
        per_op = [1 / ops for ops, _, _ in runs]
        figures[mode] = {
            "median_s": statistics.median(per_op),
            "min_s": min(per_op),
            "max_s": max(per_op),
            "ops_per_s": statistics.median(ops for ops, _, _ in runs),
            "commits_per_op": statistics.median(c for _, c, _ in runs),
            "write_share": statistics.median(w for _, _, w in runs),
        }
    for on, off in (
        ("cache_on", "cache_off"),
        ("cache_on_writes_elsewhere", "cache_off_writes_elsewhere"),
    ):
        figures[on]["ratio_to_baseline"] = figures[on]["median_s"] / figures[off]["median_s"]
        figures[off]["ratio_to_baseline"] = 1.0
        figures[on]["database_calls_saved"] = 1 - (
            figures[on]["commits_per_op"] / figures[off]["commits_per_op"]
        )
    return figures


async def cache_memory(url: str) -> dict[str, Any]:
    numbers = await _add_parts(url, MEMORY_ROWS)
    pool = await create_pool(
        load_settings(DATABASE_URL=url, DB_POOL_SIZE=4, DB_CACHE_MAX_ENTRIES=MEMORY_ROWS)
    )
    cache = await enable_cache(pool)
    try:
        await parts.get_part_by_number(pool, part_number=numbers[0])  # warm up, then empty
        cache.clear()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for number in numbers:
            await parts.get_part_by_number(pool, part_number=number)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        stats = cache.stats()
        assert stats.entries == MEMORY_ROWS, stats
    finally:
        await cache.close()
        await pool.close()
    return {
        "rows": MEMORY_ROWS,
        "traced_bytes": after - before,
        "traced_bytes_per_row": (after - before) / MEMORY_ROWS,
        "counted_bytes": stats.bytes,
        "counted_bytes_per_row": stats.bytes / MEMORY_ROWS,
    }


def cache_copy(repeats: int = 5, count: int = 20_000) -> dict[str, Figures]:
    """Per part, client CPU, what handing out a cached row costs, the way the cache
    does it and the ways it could: sharing one read-only row (a hit costs nothing
    more than the lookup; a miss makes the row's JSON values read-only before it
    returns, and sizes it for the bound when it is stored, after), against copies a
    hit would make: validating stored JSON again (what the Redis backend does, and
    the in-process cache did before), pydantic's shallow copy with the dict and
    list values copied, a deep model_copy; the shallow copy alone, which shares the
    JSON fields; and what storing JSON costs a miss."""
    from chip_quality_db._cache_redis import freeze, thaw
    from chip_quality_db._shared_rows import read_only, size_of

    def copy_value(value: object) -> object:
        if isinstance(value, dict):
            return {k: copy_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [copy_value(v) for v in value]
        return value

    def copy_with_json_fields_copied(row: Part) -> Part:
        copied = row.model_copy()
        for name, value in copied.__dict__.items():
            if isinstance(value, dict | list):
                copied.__dict__[name] = copy_value(value)
        return copied

    from chip_quality_queries.models import PartType

    part = Part.model_validate(
        {
            "id": "7f0b6f7e-8d3c-4b8e-9d7e-2b1d3c4e5f60",
            "part_number": "PCB-CACHE-1",
            "part_name": "Cached part 1",
            "part_type": PartType.PCB,
            "revision": "A",
            "manufacturer": None,
            "description": None,
            "specifications": {"layers": 6, "finish": "ENIG", "thickness_mm": 1.6},
            "tolerance_requirements": {},
            "is_active": True,
            "created_at": "2026-12-07T12:00:00+00:00",
            "updated_at": "2026-12-07T12:00:00+00:00",
        }
    )
    stored = freeze(part)
    assert stored is not None
    # read_only changes a row in place: each call gets a row of its own, made before.
    fresh: list[Part] = []

    def read_only_fresh() -> object:
        return read_only(fresh.pop())

    ways: dict[str, Callable[[], object]] = {
        "validate_stored_json": lambda: thaw(stored),
        "read_only_before_a_miss_returns": read_only_fresh,
        "size_when_a_miss_is_stored": lambda: size_of(part),
        "copy_with_json_fields_copied": lambda: copy_with_json_fields_copied(part),
        "store_as_json_on_a_miss": lambda: freeze(part),
        "model_copy_deep": lambda: part.model_copy(deep=True),
        "model_copy_shallow_unsafe": lambda: part.model_copy(),
    }
    samples: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(repeats):
        for name, way in ways.items():
            fresh[:] = [copy_with_json_fields_copied(part) for _ in range(count)]
            began = time.process_time()
            for _ in range(count):
                way()
            samples[name].append((time.process_time() - began) / count)
    base = statistics.median(samples["validate_stored_json"])
    return {
        name: {
            "median_s": statistics.median(values),
            "min_s": min(values),
            "max_s": max(values),
            "ratio_to_baseline": statistics.median(values) / base,
        }
        for name, values in samples.items()
    }


async def cache_trigger_cost(url: str, rounds: int, writes: int) -> dict[str, Figures]:
    """What the notifying trigger adds to a write: single-row UPDATEs of an audited
    table (parts, whose audit trigger already runs) and of one without triggers of
    its own (defects, whose user triggers the benchmark's database disables), each
    its own transaction, with the trigger and without (ALTER TABLE ... DISABLE
    TRIGGER), alternating in drawn order; a listener is connected meanwhile, so the
    notifications are delivered as in service. Per approach the median per write
    over rounds, and the interval of the ratio to the same table without it."""
    numbers = await _add_parts(url, HOT)
    conn = await asyncpg.connect(url)
    listener = await asyncpg.connect(url)
    await listener.add_listener("chip_quality_cache", lambda *_: None)
    defect_ids = [r["id"] for r in await conn.fetch("SELECT id FROM defects LIMIT $1", HOT)]
    part_ids = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM parts WHERE part_number = ANY($1::text[])", numbers
        )
    ]
    cases = {
        "parts_audited": ("parts", "UPDATE parts SET part_name = $2 WHERE id = $1", part_ids),
        "defects_plain": (
            "defects",
            "UPDATE defects SET description = $2 WHERE id = $1",
            defect_ids,
        ),
    }
    rng = random.Random(23)
    medians: dict[str, list[float]] = {}
    try:
        for _ in range(rounds):
            order = [(case, on) for case in cases for on in (True, False)]
            rng.shuffle(order)
            for case, on in order:
                table, sql, ids = cases[case]
                switch = "ENABLE" if on else "DISABLE"
                await conn.execute(f"ALTER TABLE {table} {switch} TRIGGER {table}_notify_cache")
                times = []
                for n in range(writes):
                    began = time.perf_counter()
                    await conn.execute(sql, ids[n % len(ids)], f"bench {n}")
                    times.append(time.perf_counter() - began)
                name = f"{case}_{'with' if on else 'without'}_trigger"
                medians.setdefault(name, []).append(statistics.median(times))
    finally:
        # As prepare() left them: parts' triggers on, defects' user triggers off.
        await conn.execute("ALTER TABLE parts ENABLE TRIGGER parts_notify_cache")
        await conn.execute("ALTER TABLE defects DISABLE TRIGGER defects_notify_cache")
        await listener.close()
        await conn.close()
    figures: dict[str, Figures] = {}
    for name, values in medians.items():
        base = medians[name.replace("_with_", "_without_")]
        figures[name] = {
            "median_s": statistics.median(values),
            "min_s": min(values),
            "max_s": max(values),
            "ratio_to_baseline": statistics.median(values) / statistics.median(base),
            "ratio_ci95": _bootstrap(values, base),
        }
    return figures


async def cache_figures(url: str, quick: bool) -> dict[str, Any]:
    rounds, calls = (2, 200) if quick else (15, 1000)
    return {
        "cache_get": await cache_get(url, rounds, calls),
        "cache_mixed": await cache_mixed(url, 50, 0.5 if quick else 2.0, 1 if quick else 3),
        "cache_memory": await cache_memory(url),
        "cache_copy": cache_copy(3 if quick else 5),
        "cache_trigger": await cache_trigger_cost(url, 2 if quick else 7, 100 if quick else 400),
    }


def report_cache(results: dict[str, Any]) -> None:
    """The cache's figures and its two targets (issue 27)."""
    get = results.get("cache_get")
    if get is None:
        return
    print("\ncache_get (GetPartByNumber, per call, one caller; paired round medians)")
    for name, f in sorted(get.items(), key=lambda kv: kv[1]["median_s"]):
        low, high = f["ratio_ci95"]
        print(
            f"  {name:<16}{f['median_s'] * 1e6:>9.1f}us{f['min_s'] * 1e6:>9.1f}us"
            f"{f['max_s'] * 1e6:>9.1f}us  x raw {f['ratio_to_raw']:.3f} [{low:.3f}, {high:.3f}]"
        )
    hit, miss = get["cached_hit"], get["cached_miss"]
    low, high = hit["ratio_ci95"]
    verdict = "met" if high <= 0.1 else "missed" if low > 0.1 else "not resolved"
    print(
        f"  target: a hit at least 10x faster than raw's round trip: "
        f"{hit['raw_to_hit']:.1f}x faster ({hit['ratio_to_raw']:.4f}x raw "
        f"[{low:.4f}, {high:.4f}]): {verdict}; {hit['timed_misses']} of its timed calls missed"
    )
    low, high = miss["miss_to_uncached_ci95"]
    verdict = "met" if high <= 1.05 else "missed" if low > 1.05 else "not resolved"
    print(
        f"  target: a miss at most 1.05x the uncached call: {miss['miss_to_uncached']:.3f}x "
        f"[{low:.3f}, {high:.3f}]: {verdict}"
    )
    other = get["unmarked_cached_pool"]
    low, high = other["to_plain_pool_ci95"]
    print(
        f"  a query not marked, on a pool with a cache vs one without: "
        f"{other['to_plain_pool']:.3f}x [{low:.3f}, {high:.3f}]"
    )
    mixed = results["cache_mixed"]
    print(
        "\ncache_mixed (50 tasks, pool of 10: 95% reads of 100 hot parts by number, 5% writes:"
        " renames of a hot part, or (elsewhere) updates of a lot, a table the reads do not read)"
    )
    for name, f in mixed.items():
        saved = f.get("database_calls_saved")
        print(
            f"  {name:<28}{f['ops_per_s']:>8,.0f} ops/s  {f['commits_per_op']:.3f} statements "
            f"sent per op (writes {f['write_share']:.1%})"
            + (f", x{1 / f['ratio_to_baseline']:.2f} ops, calls saved {saved:.1%}" if saved else "")
        )
    mem = results["cache_memory"]
    print(
        f"\ncache_memory: {mem['rows']:,} cached parts hold {mem['traced_bytes'] / 1e6:.1f} MB "
        f"(tracemalloc), {mem['traced_bytes_per_row']:.0f} B per row; the cache counts "
        f"{mem['counted_bytes_per_row']:.0f} B per row against DB_CACHE_MAX_BYTES"
    )
    trigger = results["cache_trigger"]
    print("\ncache_trigger (a single-row UPDATE, its own transaction, per write)")
    for name, f in sorted(trigger.items()):
        low, high = f["ratio_ci95"]
        print(
            f"  {name:<34}{f['median_s'] * 1e6:>8.1f}us  x without {f['ratio_to_baseline']:.3f} "
            f"[{low:.3f}, {high:.3f}]"
        )
    copy = results["cache_copy"]
    print("\ncache_copy (client CPU per part handed out)")
    for name, f in copy.items():
        print(f"  {name:<28}{f['median_s'] * 1e6:>8.2f}us  x {f['ratio_to_baseline']:.2f}")
