"""The API schemas feed the generated functions as they are: a validated body is the call."""

from __future__ import annotations

import asyncpg

from chip_quality_db.schemas import (
    ArtifactCreate,
    ArtifactUpdate,
    InferenceJobCreate,
    ReportCreate,
)
from chip_quality_queries import artifacts, inference_jobs, reports
from chip_quality_queries.models import InferenceJobStatus, ReportFormat, ReportStatus

from .factories import checksum, make_inspection_chain


async def test_request_bodies_become_calls(qconn: asyncpg.Connection) -> None:
    _, _, inspection = await make_inspection_chain(qconn)

    body = ReportCreate.model_validate_json(
        '{"report_type": "defect_pareto", "title": "Week 47", "format": "csv"}'
    )
    request = reports.CreateReportParams(**body.model_dump(), generated_by="alice")
    report = await reports.create_report(qconn, request)
    assert report is not None
    assert (report.format, report.status, report.generated_by) == (
        ReportFormat.CSV,
        ReportStatus.PENDING,
        "alice",
    )

    job_body = InferenceJobCreate.model_validate(
        {"inspection_id": str(inspection.id), "model_name": "det", "model_version": "3.1"}
    )
    job = await inference_jobs.create_inference_job(qconn, job_body)  # the schema is the params
    assert job is not None and job.status is InferenceJobStatus.PENDING

    artifact = await artifacts.create_artifact(
        qconn,
        ArtifactCreate.model_validate(
            {
                "inspection_id": str(inspection.id),
                "artifact_type": "image",
                "storage_uri": "s3://fab/insp.png",
                "content_type": "image/png",
                "size_bytes": 10,
                "checksum_sha256": checksum("insp").upper(),  # normalised by the schema
                "metadata": {"camera": "AOI-1"},
            }
        ),
    )
    assert artifact is not None
    update = ArtifactUpdate.model_validate({"metadata": {"camera": "AOI-3"}})
    updated = await artifacts.update_artifact_metadata(
        qconn,
        artifacts.UpdateArtifactMetadataParams(artifact_id=artifact.id, **update.model_dump()),
    )
    assert updated is not None
    assert updated.metadata == {"camera": "AOI-3"}
    assert updated.checksum_sha256 == artifact.checksum_sha256 == checksum("insp")
