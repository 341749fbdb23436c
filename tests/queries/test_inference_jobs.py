"""Queries of inference_jobs.sql against a real database (the queue lifecycle).

The concurrent claiming of many workers is tested in test_job_claiming.py.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import pytest

import chip_quality_db
from chip_quality_db import RuleViolationError
from chip_quality_queries import artifacts, inference_jobs
from chip_quality_queries.models import ArtifactType, InferenceJob, InferenceJobStatus

from .factories import (
    checksum,
    collect_pages,
    is_aware,
    make_inspection,
    make_inspection_chain,
    make_job,
)


async def test_create_inference_job_is_pending(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    job = await inference_jobs.create_inference_job(
        qconn,
        inference_jobs.CreateInferenceJobParams(
            inspection_id=inspection.id, model_name="defect-detector", model_version="2.3.1"
        ),
    )
    assert isinstance(job, InferenceJob)
    assert job.inspection_id == inspection.id
    assert (job.model_name, job.model_version) == ("defect-detector", "2.3.1")
    assert job.status is InferenceJobStatus.PENDING
    assert job.priority == 5
    assert job.attempts == 0
    assert job.worker_id is None
    assert job.started_at is None
    assert job.completed_at is None
    assert job.inference_ms is None
    assert job.results == {}
    assert job.error_message is None
    assert is_aware(job.created_at)

    urgent = await make_job(qconn, inspection_id=inspection.id, priority=9)
    assert urgent.priority == 9


async def test_get_inference_job(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    job = await make_job(qconn, inspection_id=inspection.id)
    assert await inference_jobs.get_inference_job(qconn, job_id=job.id) == job
    assert await inference_jobs.get_inference_job(qconn, job_id=uuid.uuid4()) is None


async def test_claim_and_complete(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    job = await make_job(qconn, inspection_id=inspection.id)

    claimed = await inference_jobs.claim_inference_jobs(qconn, worker_id="worker-1", max_jobs=5)
    assert [j.id for j in claimed] == [job.id]
    running = claimed[0]
    assert running.status is InferenceJobStatus.RUNNING
    assert running.worker_id == "worker-1"
    assert running.attempts == 1
    assert is_aware(running.started_at)
    assert running.completed_at is None
    # Nothing left to claim.
    assert await inference_jobs.claim_inference_jobs(qconn, worker_id="worker-2", max_jobs=5) == []

    # Another worker cannot complete it.
    assert (
        await inference_jobs.complete_inference_job(
            qconn, results={"score": 0.5}, job_id=job.id, worker_id="worker-2"
        )
        is None
    )
    done = await inference_jobs.complete_inference_job(
        qconn,
        results={"defects": [{"type": "void", "p": 0.97}], "score": 0.97},
        inference_ms=42,
        job_id=job.id,
        worker_id="worker-1",
    )
    assert done is not None
    assert done.status is InferenceJobStatus.COMPLETED
    assert done.results == {"defects": [{"type": "void", "p": 0.97}], "score": 0.97}
    assert done.inference_ms == 42
    assert is_aware(done.completed_at)
    assert done.started_at is not None
    assert done.completed_at is not None
    assert done.completed_at >= done.started_at
    assert done.attempts == 1
    # Completing twice is refused.
    assert (
        await inference_jobs.complete_inference_job(
            qconn, results={}, job_id=job.id, worker_id="worker-1"
        )
        is None
    )


async def test_claim_respects_max_jobs(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    jobs = [await make_job(qconn, inspection_id=inspection.id) for _ in range(5)]
    first = await inference_jobs.claim_inference_jobs(qconn, worker_id="w1", max_jobs=2)
    second = await inference_jobs.claim_inference_jobs(qconn, worker_id="w2", max_jobs=2)
    third = await inference_jobs.claim_inference_jobs(qconn, worker_id="w3", max_jobs=2)
    assert (len(first), len(second), len(third)) == (2, 2, 1)
    claimed = [j.id for j in first + second + third]
    assert sorted(claimed) == sorted(j.id for j in jobs)
    # Same priority: the oldest first.
    assert {j.id for j in first} == {jobs[0].id, jobs[1].id}
    assert {j.worker_id for j in second} == {"w2"}


async def test_claim_takes_the_highest_priority_first(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    # Priority 1 is the lowest, 10 the highest; equal priority: the oldest first.
    low = await make_job(qconn, inspection_id=inspection.id, priority=1)
    normal_old = await make_job(qconn, inspection_id=inspection.id)
    urgent = await make_job(qconn, inspection_id=inspection.id, priority=10)
    normal_new = await make_job(qconn, inspection_id=inspection.id, priority=5)
    order = []
    for _ in range(4):
        [job] = await inference_jobs.claim_inference_jobs(qconn, worker_id="w1", max_jobs=1)
        order.append(job.id)
    assert order == [urgent.id, normal_old.id, normal_new.id, low.id]


async def test_claim_batch_holds_the_most_urgent_jobs(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    jobs = {
        p: await make_job(qconn, inspection_id=inspection.id, priority=p)
        for p in (1, 5, 10, 3, 8, 2, 9)
    }
    claimed = await inference_jobs.claim_inference_jobs(qconn, worker_id="w1", max_jobs=3)
    # Which jobs: the three highest priorities. (The list itself comes in no set order.)
    assert {j.id for j in claimed} == {jobs[10].id, jobs[9].id, jobs[8].id}
    assert {j.status for j in claimed} == {InferenceJobStatus.RUNNING}
    rest = await inference_jobs.claim_inference_jobs(qconn, worker_id="w2", max_jobs=10)
    assert sorted(j.priority for j in rest) == [1, 2, 3, 5]


async def test_fail_requeue_and_retry(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    job = await make_job(qconn, inspection_id=inspection.id)
    await inference_jobs.claim_inference_jobs(qconn, worker_id="w1", max_jobs=1)

    assert (
        await inference_jobs.fail_inference_job(
            qconn, error_message="OOM", job_id=job.id, worker_id="w2"
        )
        is None
    )
    failed = await inference_jobs.fail_inference_job(
        qconn, error_message="CUDA out of memory", job_id=job.id, worker_id="w1"
    )
    assert failed is not None
    assert failed.status is InferenceJobStatus.FAILED
    assert failed.error_message == "CUDA out of memory"
    assert is_aware(failed.completed_at)
    # Failing a job that is not running is refused.
    assert (
        await inference_jobs.fail_inference_job(
            qconn, error_message="again", job_id=job.id, worker_id="w1"
        )
        is None
    )

    requeued = await inference_jobs.requeue_inference_job(qconn, job_id=job.id)
    assert requeued is not None
    assert requeued.status is InferenceJobStatus.PENDING
    assert requeued.worker_id is None
    assert requeued.started_at is None
    assert requeued.completed_at is None
    assert requeued.attempts == 1  # keeps counting
    assert requeued.error_message == "CUDA out of memory"  # the last error is kept
    # A pending job is not requeued.
    assert await inference_jobs.requeue_inference_job(qconn, job_id=job.id) is None

    retried = await inference_jobs.claim_inference_jobs(qconn, worker_id="w2", max_jobs=1)
    assert [j.id for j in retried] == [job.id]
    assert retried[0].attempts == 2
    assert retried[0].worker_id == "w2"

    # A running job can be handed back as well (e.g. its worker died).
    back = await inference_jobs.requeue_inference_job(qconn, job_id=job.id)
    assert back is not None
    assert back.status is InferenceJobStatus.PENDING
    assert back.attempts == 2

    await inference_jobs.claim_inference_jobs(qconn, worker_id="w3", max_jobs=1)
    done = await inference_jobs.complete_inference_job(
        qconn, results={"ok": True}, job_id=job.id, worker_id="w3"
    )
    assert done is not None
    assert done.attempts == 3
    assert done.inference_ms is None
    # A completed job is not requeued.
    assert await inference_jobs.requeue_inference_job(qconn, job_id=job.id) is None
    assert await inference_jobs.requeue_inference_job(qconn, job_id=uuid.uuid4()) is None


async def test_fail_without_message_is_rule_violation(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    job = await make_job(qconn, inspection_id=inspection.id)
    await inference_jobs.claim_inference_jobs(qconn, worker_id="w1", max_jobs=1)
    with pytest.raises(RuleViolationError) as caught, chip_quality_db.mapped_errors():
        await inference_jobs.fail_inference_job(
            qconn, error_message=None, job_id=job.id, worker_id="w1"
        )
    assert caught.value.constraint == "inference_jobs_error_message_check"


async def test_cancel_inference_job(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    pending = await make_job(qconn, inspection_id=inspection.id)
    cancelled = await inference_jobs.cancel_inference_job(qconn, job_id=pending.id)
    assert cancelled is not None
    assert cancelled.status is InferenceJobStatus.CANCELLED
    assert await inference_jobs.cancel_inference_job(qconn, job_id=pending.id) is None

    running = await make_job(qconn, inspection_id=inspection.id)
    await inference_jobs.claim_inference_jobs(qconn, worker_id="w1", max_jobs=1)
    stopped = await inference_jobs.cancel_inference_job(qconn, job_id=running.id)
    assert stopped is not None
    assert stopped.status is InferenceJobStatus.CANCELLED
    # A cancelled job is not claimed again and cannot be completed.
    assert await inference_jobs.claim_inference_jobs(qconn, worker_id="w1", max_jobs=5) == []
    assert (
        await inference_jobs.complete_inference_job(
            qconn, results={}, job_id=running.id, worker_id="w1"
        )
        is None
    )

    finished = await make_job(qconn, inspection_id=inspection.id)
    await inference_jobs.claim_inference_jobs(qconn, worker_id="w1", max_jobs=1)
    await inference_jobs.complete_inference_job(
        qconn, results={}, job_id=finished.id, worker_id="w1"
    )
    assert await inference_jobs.cancel_inference_job(qconn, job_id=finished.id) is None
    assert await inference_jobs.cancel_inference_job(qconn, job_id=uuid.uuid4()) is None


async def test_delete_inference_job_removes_its_artifacts(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    job = await make_job(qconn, inspection_id=inspection.id)
    artifact = await artifacts.create_artifact(
        qconn,
        artifacts.CreateArtifactParams(
            inference_job_id=job.id,
            artifact_type=ArtifactType.MODEL_OUTPUT,
            storage_uri="s3://outputs/job.json",
            content_type="application/json",
            size_bytes=3,
            checksum_sha256=checksum("job"),
        ),
    )
    assert artifact is not None
    assert await inference_jobs.delete_inference_job(qconn, job_id=job.id) == 1
    assert await inference_jobs.delete_inference_job(qconn, job_id=job.id) == 0
    assert await inference_jobs.get_inference_job(qconn, job_id=job.id) is None
    assert await artifacts.get_artifact(qconn, artifact_id=artifact.id) is None


async def test_list_inference_jobs_keyset_pagination(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    created = [await make_job(qconn, inspection_id=inspection.id) for _ in range(7)]

    async def fetch(
        after_created_at: datetime | None, after_id: uuid.UUID | None
    ) -> list[InferenceJob]:
        return await inference_jobs.list_inference_jobs(
            qconn,
            inspection_id=inspection.id,
            after_created_at=after_created_at,
            after_id=after_id,
            page_size=3,
        )

    pages = await collect_pages(fetch, key=lambda j: (j.created_at, j.id), page_size=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    seen = [j.id for page in pages for j in page]
    assert seen == [j.id for j in sorted(created, key=lambda j: (j.created_at, j.id))]


async def test_list_and_count_inference_jobs_filters(qconn: asyncpg.Connection) -> None:
    _, lot, first = await make_inspection_chain(qconn)
    second = await make_inspection(qconn, lot_id=lot.id)
    a = await make_job(qconn, inspection_id=first.id)
    b = await make_job(qconn, inspection_id=first.id)
    c = await make_job(qconn, inspection_id=second.id)
    claimed = await inference_jobs.claim_inference_jobs(qconn, worker_id="w1", max_jobs=1)
    assert [j.id for j in claimed] == [a.id]

    listed = await inference_jobs.list_inference_jobs(qconn, page_size=10)
    assert [j.id for j in listed] == [a.id, b.id, c.id]
    of_first = await inference_jobs.list_inference_jobs(qconn, inspection_id=first.id, page_size=10)
    assert [j.id for j in of_first] == [a.id, b.id]
    running = await inference_jobs.list_inference_jobs(
        qconn, status=InferenceJobStatus.RUNNING, page_size=10
    )
    assert [j.id for j in running] == [a.id]
    assert running[0].status is InferenceJobStatus.RUNNING
    pending_first = await inference_jobs.list_inference_jobs(
        qconn, inspection_id=first.id, status=InferenceJobStatus.PENDING, page_size=10
    )
    assert [j.id for j in pending_first] == [b.id]

    assert await inference_jobs.count_inference_jobs(qconn) == 3
    assert await inference_jobs.count_inference_jobs(qconn, status=InferenceJobStatus.PENDING) == 2
    assert await inference_jobs.count_inference_jobs(qconn, status=InferenceJobStatus.RUNNING) == 1
    assert (
        await inference_jobs.count_inference_jobs(qconn, status=InferenceJobStatus.COMPLETED) == 0
    )


async def test_inference_latency_percentiles(qconn: asyncpg.Connection) -> None:
    empty = await inference_jobs.inference_latency_percentiles(qconn)
    assert empty is not None
    assert empty.jobs == 0
    assert (empty.p50_ms, empty.p95_ms, empty.p99_ms) == (None, None, None)

    _, _, inspection = await make_inspection_chain(qconn)
    for ms in range(10, 101, 10):  # 10, 20, ..., 100
        await make_job(qconn, inspection_id=inspection.id, model_name="detector")
        [job] = await inference_jobs.claim_inference_jobs(qconn, worker_id="w", max_jobs=1)
        await inference_jobs.complete_inference_job(
            qconn, results={}, inference_ms=ms, job_id=job.id, worker_id="w"
        )
    # Another model, a completed job without timing, and a pending job: only the first counts
    # for the model filter, the unknown timing never counts.
    await make_job(qconn, inspection_id=inspection.id, model_name="classifier")
    [other] = await inference_jobs.claim_inference_jobs(qconn, worker_id="w", max_jobs=1)
    await inference_jobs.complete_inference_job(
        qconn, results={}, inference_ms=1000, job_id=other.id, worker_id="w"
    )
    await make_job(qconn, inspection_id=inspection.id, model_name="detector")
    [untimed] = await inference_jobs.claim_inference_jobs(qconn, worker_id="w", max_jobs=1)
    await inference_jobs.complete_inference_job(qconn, results={}, job_id=untimed.id, worker_id="w")
    await make_job(qconn, inspection_id=inspection.id, model_name="detector")

    detector = await inference_jobs.inference_latency_percentiles(qconn, model_name="detector")
    assert isinstance(detector, inference_jobs.InferenceLatencyPercentilesRow)
    assert detector.jobs == 10
    assert isinstance(detector.p50_ms, float)
    assert detector.p50_ms == pytest.approx(55.0)
    assert detector.p95_ms == pytest.approx(95.5)
    assert detector.p99_ms == pytest.approx(99.1)

    every = await inference_jobs.inference_latency_percentiles(qconn)
    assert every is not None
    assert every.jobs == 11
    assert every.p50_ms == pytest.approx(60.0)

    nothing = await inference_jobs.inference_latency_percentiles(qconn, model_name="nope")
    assert nothing is not None
    assert nothing.jobs == 0
    assert nothing.p99_ms is None
