-- name: CreateInferenceJob :one
-- Queue an inference job for an inspection (priority 1 lowest to 10 highest, 5 the default).
INSERT INTO inference_jobs (inspection_id, model_name, model_version, priority)
VALUES (
    sqlc.arg(inspection_id), sqlc.arg(model_name), sqlc.arg(model_version),
    coalesce(sqlc.narg(priority)::integer, 5)
)
RETURNING *;

-- name: GetInferenceJob :one
-- The inference job with this id, or None.
SELECT * FROM inference_jobs WHERE id = sqlc.arg(job_id);

-- name: ClaimInferenceJobs :many
-- Claim up to `max_jobs` pending jobs for a worker, highest priority and oldest first,
-- and return them in that order.
-- FOR UPDATE SKIP LOCKED: concurrent workers never claim the same job and never wait
-- on each other's claims.
WITH claimed AS (
    UPDATE inference_jobs
    SET status = 'running', worker_id = sqlc.arg(worker_id), started_at = clock_timestamp(),
        attempts = attempts + 1
    WHERE id IN (
        SELECT id FROM inference_jobs
        WHERE status = 'pending'
        ORDER BY priority DESC, created_at, id
        LIMIT sqlc.arg(max_jobs)
        FOR UPDATE SKIP LOCKED
    )
    RETURNING *
)
SELECT * FROM claimed ORDER BY priority DESC, created_at, id;

-- name: CompleteInferenceJob :one
-- Record the results of a running job claimed by this worker; None if it is not.
UPDATE inference_jobs
SET status = 'completed', completed_at = clock_timestamp(), results = sqlc.arg(results)::jsonb,
    inference_ms = sqlc.narg(inference_ms)
WHERE id = sqlc.arg(job_id) AND status = 'running' AND worker_id = sqlc.arg(worker_id)
RETURNING *;

-- name: FailInferenceJob :one
-- Record why a running job claimed by this worker failed; None if it is not.
UPDATE inference_jobs
SET status = 'failed', completed_at = clock_timestamp(), error_message = sqlc.arg(error_message)
WHERE id = sqlc.arg(job_id) AND status = 'running' AND worker_id = sqlc.arg(worker_id)
RETURNING *;

-- name: RequeueInferenceJob :one
-- Hand a failed or running job back to the queue for another attempt (attempts keeps counting).
UPDATE inference_jobs
SET status = 'pending', worker_id = NULL, started_at = NULL, completed_at = NULL
WHERE id = sqlc.arg(job_id) AND status IN ('failed', 'running')
RETURNING *;

-- name: CancelInferenceJob :one
-- Cancel a job that has not finished; None when it had.
UPDATE inference_jobs SET status = 'cancelled'
WHERE id = sqlc.arg(job_id) AND status IN ('pending', 'running')
RETURNING *;

-- name: DeleteInferenceJob :execrows
-- Delete a job and the artifacts it produced; rows deleted (0 or 1).
DELETE FROM inference_jobs WHERE id = sqlc.arg(job_id);

-- name: ListInferenceJobs :many
-- One page of inference jobs in creation order, optionally of one inspection and status.
-- Keyset pagination: pass the last row's created_at and id to get the next page.
SELECT * FROM inference_jobs
WHERE (sqlc.narg(inspection_id)::uuid IS NULL OR inspection_id = sqlc.narg(inspection_id))
  AND (sqlc.narg(status)::inference_job_status IS NULL OR status = sqlc.narg(status))
  AND (
      sqlc.narg(after_created_at)::timestamptz IS NULL
      OR (created_at, id) > (sqlc.narg(after_created_at), sqlc.narg(after_id)::uuid)
  )
ORDER BY created_at, id
LIMIT sqlc.arg(page_size);

-- name: CountInferenceJobs :one
-- How many inference jobs there are, optionally in one status.
-- plan: full-scan Without a filter this counts every row: the whole table is read.
SELECT count(*) FROM inference_jobs
WHERE (sqlc.narg(status)::inference_job_status IS NULL OR status = sqlc.narg(status));

-- name: InferenceLatencyPercentiles :one
-- Inference time percentiles (ms) of completed jobs of a model, or of all models.
-- plan: full-scan Percentiles over every completed job (most of the table) read it whole.
SELECT
    count(*) AS jobs,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY inference_ms)::double precision AS p50_ms,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY inference_ms)::double precision AS p95_ms,
    percentile_cont(0.99) WITHIN GROUP (ORDER BY inference_ms)::double precision AS p99_ms
FROM inference_jobs
WHERE status = 'completed' AND inference_ms IS NOT NULL
  AND (sqlc.narg(model_name)::text IS NULL OR model_name = sqlc.narg(model_name));

-- name: ListStaleInferenceJobs :many
-- Running jobs started before a time, oldest first: the ones whose worker may have died,
-- to hand back with RequeueInferenceJob (served by the partial index
-- inference_jobs_started_at_running_idx).
SELECT * FROM inference_jobs
WHERE status = 'running' AND started_at < sqlc.arg(started_before)
ORDER BY started_at, id
LIMIT sqlc.arg(page_size);

-- name: SearchInferenceJobsByResults :many
-- Inference jobs whose results contain the given JSON object, e.g. {"defects": 0}, newest
-- first (served by the GIN index inference_jobs_results_idx).
WITH matching AS MATERIALIZED (
    -- The matches are collected first (MATERIALIZED): left to itself the planner
    -- walks inference_jobs_created_at_id_idx backwards hoping for an early match, which
    -- reads the whole table when the object is rare; through the GIN index a
    -- search costs what it finds, then the matches are sorted.
    SELECT * FROM inference_jobs WHERE results @> sqlc.arg(results)::jsonb
)
SELECT * FROM matching
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(page_size);
