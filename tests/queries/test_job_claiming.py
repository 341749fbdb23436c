"""Concurrent workers claiming inference jobs: every job is claimed exactly once.

Eight workers, each on its own pooled connection, loop: claim up to five pending
jobs in a transaction and complete them, until nothing is left. Either the claim
and the completions share one transaction (the rows stay locked until commit), or
the claim commits first and each job is completed in a transaction of its own (the
usual queue: a claimed job is visible as running meanwhile). FOR UPDATE SKIP
LOCKED must keep two workers from ever taking the same job.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from uuid import UUID

import asyncpg
import pytest

from chip_quality_db import transaction
from chip_quality_queries import Executor, inference_jobs
from chip_quality_queries.models import InferenceJob, InferenceJobStatus

from .factories import make_inspection_chain, make_job

JOBS = 200
WORKERS = 8
BATCH = 5


async def complete(conn: Executor, job: InferenceJob, name: str) -> bool:
    """Complete a job this worker claimed; False when the database refuses."""
    assert job.status is InferenceJobStatus.RUNNING
    assert job.worker_id == name
    done = await inference_jobs.complete_inference_job(
        conn, results={"worker": name}, inference_ms=1, job_id=job.id, worker_id=name
    )
    return done is not None and done.status is InferenceJobStatus.COMPLETED


@pytest.mark.parametrize("completion", ["in_claim_transaction", "after_claim_commits"])
async def test_concurrent_workers_claim_each_job_exactly_once(
    pool: asyncpg.Pool, completion: str
) -> None:
    assert pool.get_max_size() >= WORKERS
    async with transaction(pool, actor="queue-test") as conn:
        _, _, inspection = await make_inspection_chain(conn)
        queued = [
            (await make_job(conn, inspection_id=inspection.id, priority=1 + i % 10)).id
            for i in range(JOBS)
        ]
    start = asyncio.Event()
    refused: list[UUID] = []  # jobs a worker claimed but could not complete

    async def worker(name: str) -> list[UUID]:
        mine: list[UUID] = []
        await start.wait()
        while True:
            async with transaction(pool, actor=name) as conn:
                claimed = await inference_jobs.claim_inference_jobs(
                    conn, worker_id=name, max_jobs=BATCH
                )
                assert len(claimed) <= BATCH
                mine.extend(job.id for job in claimed)
                if completion == "in_claim_transaction":
                    for job in claimed:
                        if not await complete(conn, job, name):
                            refused.append(job.id)
            if not claimed:
                return mine
            if completion == "after_claim_commits":
                for job in claimed:
                    async with transaction(pool, actor=name) as conn:
                        if not await complete(conn, job, name):
                            refused.append(job.id)
            await asyncio.sleep(0)  # let the others in

    tasks = [asyncio.create_task(worker(f"worker-{n}")) for n in range(WORKERS)]
    start.set()
    per_worker = await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)

    claims = Counter(job_id for jobs in per_worker for job_id in jobs)
    twice = [job_id for job_id, times in claims.items() if times > 1]
    assert twice == [], f"jobs claimed by more than one worker: {twice}"
    assert refused == [], f"claimed jobs the claiming worker could not complete: {refused}"
    assert set(claims) == set(queued)
    assert sum(len(jobs) for jobs in per_worker) == JOBS
    # The work was really shared (not one worker doing everything).
    assert sum(1 for jobs in per_worker if jobs) >= 2

    assert (
        await inference_jobs.count_inference_jobs(pool, status=InferenceJobStatus.COMPLETED) == JOBS
    )
    assert await inference_jobs.count_inference_jobs(pool, status=InferenceJobStatus.PENDING) == 0
    assert await inference_jobs.count_inference_jobs(pool, status=InferenceJobStatus.RUNNING) == 0

    finished = await inference_jobs.list_inference_jobs(pool, page_size=JOBS + 1)
    assert len(finished) == JOBS
    owner = {job_id: f"worker-{n}" for n, jobs in enumerate(per_worker) for job_id in jobs}
    for job in finished:
        assert job.attempts == 1
        assert job.status is InferenceJobStatus.COMPLETED
        assert job.worker_id == owner[job.id]
        assert job.results == {"worker": owner[job.id]}
