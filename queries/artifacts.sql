-- name: CreateArtifact :one
-- Register a stored file of an inspection and/or an inference job. The runtime's
-- register_artifact checks the checksum against the file before calling this.
INSERT INTO artifacts (
    inspection_id, inference_job_id, artifact_type, storage_uri, content_type, size_bytes,
    checksum_sha256, metadata
) VALUES (
    sqlc.narg(inspection_id), sqlc.narg(inference_job_id), sqlc.arg(artifact_type),
    sqlc.arg(storage_uri), sqlc.arg(content_type), sqlc.arg(size_bytes),
    sqlc.arg(checksum_sha256), coalesce(sqlc.narg(metadata)::jsonb, '{}')
)
RETURNING *;

-- name: GetArtifact :one
-- The artifact with this id, or None.
SELECT * FROM artifacts WHERE id = sqlc.arg(artifact_id);

-- name: ArtifactsByChecksum :many
-- Artifacts whose content has this SHA-256 (the same file stored more than once).
SELECT * FROM artifacts WHERE checksum_sha256 = sqlc.arg(checksum_sha256) ORDER BY created_at, id;

-- name: UpdateArtifactMetadata :one
-- Replace the metadata of an artifact; None when it does not exist.
UPDATE artifacts SET metadata = sqlc.arg(metadata)::jsonb
WHERE id = sqlc.arg(artifact_id)
RETURNING *;

-- name: DeleteArtifact :execrows
-- Delete an artifact's row (the stored file stays: its URI remains in the audit log).
DELETE FROM artifacts WHERE id = sqlc.arg(artifact_id);

-- name: ListArtifacts :many
-- One page of artifacts in creation order, optionally of one inspection, job and type.
-- Keyset pagination: pass the last row's created_at and id to get the next page.
SELECT * FROM artifacts
-- CASEs, not `(x IS NULL OR col = x)`, for the generic plan's sake: see ListLots.
WHERE CASE WHEN sqlc.narg(inspection_id)::uuid IS NULL THEN true
           ELSE inspection_id = sqlc.narg(inspection_id) END
  AND CASE WHEN sqlc.narg(inference_job_id)::uuid IS NULL THEN true
           ELSE inference_job_id = sqlc.narg(inference_job_id) END
  AND CASE WHEN sqlc.narg(artifact_type)::artifact_type IS NULL THEN true
           ELSE artifact_type = sqlc.narg(artifact_type) END
  AND CASE WHEN sqlc.narg(after_created_at)::timestamptz IS NULL THEN true
           ELSE (created_at, id) > (sqlc.narg(after_created_at), sqlc.narg(after_id)::uuid) END
ORDER BY created_at, id
LIMIT sqlc.arg(page_size);

-- name: CountArtifacts :one
-- How many artifacts there are, optionally of one inspection.
SELECT count(*) FROM artifacts
WHERE (sqlc.narg(inspection_id)::uuid IS NULL OR inspection_id = sqlc.narg(inspection_id));
