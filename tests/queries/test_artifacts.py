"""Queries of artifacts.sql against a real database."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from pydantic import ValidationError

import chip_quality_db
from chip_quality_db import MissingReferenceError
from chip_quality_queries import Executor, artifacts
from chip_quality_queries.models import Artifact, ArtifactType

from .factories import (
    checksum,
    collect_pages,
    is_aware,
    make_inspection,
    make_inspection_chain,
    make_job,
    serial,
)


async def make_artifact(db: Executor, **overrides: Any) -> Artifact:
    n = serial()
    values: dict[str, Any] = {
        "artifact_type": ArtifactType.IMAGE,
        "storage_uri": f"s3://inspections/2025/11/img-{n}.png",
        "content_type": "image/png",
        "size_bytes": 1000 + n,
        "checksum_sha256": checksum(f"image {n}"),
    }
    values.update(overrides)
    artifact = await artifacts.create_artifact(db, artifacts.CreateArtifactParams(**values))
    assert artifact is not None
    return artifact


async def test_create_artifact_of_inspection(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    digest = checksum("img-0001")
    artifact = await artifacts.create_artifact(
        qconn,
        artifacts.CreateArtifactParams(
            inspection_id=inspection.id,
            artifact_type=ArtifactType.POINT_CLOUD,
            storage_uri="s3://inspections/2025/11/cloud-0001.ply",
            content_type="application/octet-stream",
            size_bytes=5_000_000_000,  # beyond int4
            checksum_sha256=digest,
            metadata={"scanner": "LS-9", "resolution_um": 5},
        ),
    )
    assert isinstance(artifact, Artifact)
    assert artifact.inspection_id == inspection.id
    assert artifact.inference_job_id is None
    assert artifact.artifact_type is ArtifactType.POINT_CLOUD
    assert artifact.storage_uri == "s3://inspections/2025/11/cloud-0001.ply"
    assert artifact.size_bytes == 5_000_000_000
    assert artifact.checksum_sha256 == digest
    assert artifact.metadata == {"scanner": "LS-9", "resolution_um": 5}
    assert is_aware(artifact.created_at)

    minimal = await make_artifact(qconn, inspection_id=inspection.id)
    assert minimal.metadata == {}


async def test_create_artifact_of_job_and_of_both(qconn: asyncpg.Connection) -> None:
    _, lot, inspection = await make_inspection_chain(qconn)
    job = await make_job(qconn, inspection_id=inspection.id)
    of_job = await make_artifact(
        qconn, inference_job_id=job.id, artifact_type=ArtifactType.MODEL_OUTPUT
    )
    assert of_job.inspection_id is None
    assert of_job.inference_job_id == job.id
    assert of_job.artifact_type is ArtifactType.MODEL_OUTPUT
    both = await make_artifact(qconn, inspection_id=inspection.id, inference_job_id=job.id)
    assert (both.inspection_id, both.inference_job_id) == (inspection.id, job.id)

    # The job must belong to the same inspection.
    other = await make_inspection(qconn, lot_id=lot.id)
    with pytest.raises(MissingReferenceError), chip_quality_db.mapped_errors():
        await make_artifact(qconn, inspection_id=other.id, inference_job_id=job.id)
    # An artifact belongs to something: the Params model refuses it, naming the check
    # over both columns.
    with pytest.raises(ValidationError, match="breaks artifacts_inspection_id_inference_job_id"):
        await make_artifact(qconn)
    # The checksum is 64 lower-case hex digits: the Params model refuses it, naming the check.
    with pytest.raises(ValidationError, match="breaks artifacts_checksum_sha256_check"):
        await make_artifact(qconn, inspection_id=inspection.id, checksum_sha256="ABC")


async def test_get_artifact(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    artifact = await make_artifact(qconn, inspection_id=inspection.id)
    assert await artifacts.get_artifact(qconn, artifact_id=artifact.id) == artifact
    assert await artifacts.get_artifact(qconn, artifact_id=uuid.uuid4()) is None


async def test_artifacts_by_checksum(qconn: asyncpg.Connection) -> None:
    _, lot, inspection = await make_inspection_chain(qconn)
    second = await make_inspection(qconn, lot_id=lot.id)
    digest = checksum("the same file")
    first_copy = await make_artifact(
        qconn, inspection_id=inspection.id, checksum_sha256=digest, storage_uri="s3://a/1.png"
    )
    await make_artifact(qconn, inspection_id=inspection.id)
    second_copy = await make_artifact(
        qconn, inspection_id=second.id, checksum_sha256=digest, storage_uri="s3://b/1.png"
    )

    found = await artifacts.artifacts_by_checksum(qconn, checksum_sha256=digest)
    assert [a.id for a in found] == [first_copy.id, second_copy.id]
    assert {a.checksum_sha256 for a in found} == {digest}
    assert await artifacts.artifacts_by_checksum(qconn, checksum_sha256=checksum("none")) == []


async def test_update_artifact_metadata_replaces_it(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    artifact = await make_artifact(
        qconn, inspection_id=inspection.id, metadata={"camera": "C1", "exposure_ms": 4}
    )
    updated = await artifacts.update_artifact_metadata(
        qconn,
        artifacts.UpdateArtifactMetadataParams(metadata={"camera": "C2"}, artifact_id=artifact.id),
    )
    assert updated is not None
    assert updated.metadata == {"camera": "C2"}  # replaced, not merged
    assert updated.storage_uri == artifact.storage_uri
    assert updated.checksum_sha256 == artifact.checksum_sha256
    assert updated.size_bytes == artifact.size_bytes
    assert (
        await artifacts.update_artifact_metadata(
            qconn, artifacts.UpdateArtifactMetadataParams(metadata={}, artifact_id=uuid.uuid4())
        )
        is None
    )


async def test_delete_artifact(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    artifact = await make_artifact(qconn, inspection_id=inspection.id)
    assert await artifacts.delete_artifact(qconn, artifact_id=artifact.id) == 1
    assert await artifacts.delete_artifact(qconn, artifact_id=artifact.id) == 0
    assert await artifacts.get_artifact(qconn, artifact_id=artifact.id) is None


async def test_list_artifacts_keyset_pagination(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)
    created = [await make_artifact(qconn, inspection_id=inspection.id) for _ in range(7)]

    async def fetch(
        after_created_at: datetime | None, after_id: uuid.UUID | None
    ) -> list[Artifact]:
        return await artifacts.list_artifacts(
            qconn,
            artifacts.ListArtifactsParams(
                inspection_id=inspection.id,
                after_created_at=after_created_at,
                after_id=after_id,
                page_size=3,
            ),
        )

    pages = await collect_pages(fetch, key=lambda a: (a.created_at, a.id), page_size=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    seen = [a.id for page in pages for a in page]
    assert seen == [a.id for a in sorted(created, key=lambda a: (a.created_at, a.id))]


async def test_list_and_count_artifacts_filters(qconn: asyncpg.Connection) -> None:
    _, lot, inspection = await make_inspection_chain(qconn)
    second = await make_inspection(qconn, lot_id=lot.id)
    job = await make_job(qconn, inspection_id=inspection.id)
    a = await make_artifact(qconn, inspection_id=inspection.id)
    b = await make_artifact(
        qconn,
        inspection_id=inspection.id,
        inference_job_id=job.id,
        artifact_type=ArtifactType.MODEL_OUTPUT,
    )
    c = await make_artifact(qconn, inference_job_id=job.id, artifact_type=ArtifactType.LOG)
    d = await make_artifact(qconn, inspection_id=second.id, artifact_type=ArtifactType.LOG)

    async def ids(**filters: Any) -> list[uuid.UUID]:
        params = artifacts.ListArtifactsParams(page_size=50, **filters)
        return [x.id for x in await artifacts.list_artifacts(qconn, params)]

    assert await ids() == [a.id, b.id, c.id, d.id]
    assert await ids(inspection_id=inspection.id) == [a.id, b.id]
    assert await ids(inference_job_id=job.id) == [b.id, c.id]
    assert await ids(artifact_type=ArtifactType.LOG) == [c.id, d.id]
    assert await ids(inference_job_id=job.id, artifact_type=ArtifactType.LOG) == [c.id]
    assert await ids(inspection_id=second.id, artifact_type=ArtifactType.IMAGE) == []

    assert await artifacts.count_artifacts(qconn) == 4
    assert await artifacts.count_artifacts(qconn, inspection_id=inspection.id) == 2
    assert await artifacts.count_artifacts(qconn, inspection_id=second.id) == 1
    assert await artifacts.count_artifacts(qconn, inspection_id=uuid.uuid4()) == 0
