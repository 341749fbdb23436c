-- Inference jobs (machine-learning runs over an inspection's data, queued for
-- workers) and artifacts (metadata of files in object storage: images, point
-- clouds, model outputs, logs).
--
-- Locking: both tables are new and created empty in this transaction, so the
-- plain (non-CONCURRENTLY) CREATE INDEX statements block nobody; both
-- sections still bound their lock waits (SET LOCAL lock_timeout). Triggers come
-- with the audit log in 20261125000600.
--
-- Deletion rules (an inspection owns everything recorded about it):
-- * inspection -> inference_jobs: ON DELETE CASCADE.
-- * inspection -> artifacts: ON DELETE CASCADE.
-- * inference job -> artifacts: ON DELETE CASCADE, deliberately not SET NULL.
--   An artifact that names a job is that job's output (model output, overlay,
--   log). SET NULL would keep such output while erasing who produced it, and
--   for an artifact naming only the job it would break
--   artifacts_inspection_id_inference_job_id_check, so deleting the job would
--   fail with a check violation about artifacts: neither is what anyone
--   deleting a job wants. What a job read (the station's images) belongs to
--   the inspection alone (inference_job_id NULL) and survives the job.
-- Deleting an artifact row does not delete the stored file: the audit log keeps
-- each deleted row, storage_uri included, for the storage sweeper.
--
-- Consistency: an artifact that names both an inspection and a job must name
-- the job's own inspection (artifacts_inspection_id_inference_job_id_fkey,
-- backed by the unique key inference_jobs_inspection_id_id_key, which also
-- serves as the index of inference_jobs_inspection_id_fkey).

-- migrate:up

-- Fail fast instead of queueing behind (and then blocking) other sessions;
-- LOCAL: the settings end with dbmate's transaction for this migration.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

CREATE TABLE inference_jobs (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    inspection_id uuid NOT NULL,
    model_name text NOT NULL,
    model_version text NOT NULL,
    status inference_job_status NOT NULL DEFAULT 'pending',
    priority bigint NOT NULL DEFAULT 5,
    attempts bigint NOT NULL DEFAULT 0,
    worker_id text,
    started_at timestamptz,
    completed_at timestamptz,
    inference_ms bigint,
    results jsonb NOT NULL DEFAULT '{}',
    error_message text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT inference_jobs_pkey PRIMARY KEY (id),
    -- Also the index of inference_jobs_inspection_id_fkey (leading column), and
    -- the target of artifacts_inspection_id_inference_job_id_fkey.
    CONSTRAINT inference_jobs_inspection_id_id_key UNIQUE (inspection_id, id),
    -- CASCADE: an inspection owns its inference jobs (see header).
    CONSTRAINT inference_jobs_inspection_id_fkey FOREIGN KEY (inspection_id)
        REFERENCES inspections (id) ON DELETE CASCADE,
    CONSTRAINT inference_jobs_model_name_check CHECK (
        btrim(model_name) <> '' AND char_length(model_name) <= 200
    ),
    CONSTRAINT inference_jobs_model_version_check CHECK (
        btrim(model_version) <> '' AND char_length(model_version) <= 64
    ),
    CONSTRAINT inference_jobs_priority_check CHECK (priority BETWEEN 1 AND 10),
    CONSTRAINT inference_jobs_attempts_check CHECK (attempts >= 0),
    CONSTRAINT inference_jobs_worker_id_check CHECK (
        btrim(worker_id) <> '' AND char_length(worker_id) <= 200
    ),
    -- NULLs pass: the ordering is checked once both are known.
    CONSTRAINT inference_jobs_completed_at_check CHECK (completed_at >= started_at),
    CONSTRAINT inference_jobs_inference_ms_check CHECK (inference_ms >= 0),
    -- What each status requires. pending means unclaimed: a job handed back
    -- to the queue for a retry is reset (attempts keeps counting). failed and
    -- cancelled may happen before or after a start, so they require no times.
    CONSTRAINT inference_jobs_status_check CHECK (
        (status <> 'pending'
            OR (worker_id IS NULL AND started_at IS NULL AND completed_at IS NULL))
        AND (status <> 'running'
            OR (worker_id IS NOT NULL AND started_at IS NOT NULL AND completed_at IS NULL))
        AND (status <> 'completed' OR (started_at IS NOT NULL AND completed_at IS NOT NULL))
    ),
    -- A failed job says why; an error message, when present, is not blank
    -- (other statuses may keep the last attempt's error).
    CONSTRAINT inference_jobs_error_message_check CHECK (
        (status <> 'failed' OR error_message IS NOT NULL)
        AND (error_message IS NULL OR btrim(error_message) <> '')
    ),
    CONSTRAINT inference_jobs_results_check CHECK (jsonb_typeof(results) = 'object')
);

COMMENT ON TABLE inference_jobs IS 'A machine-learning inference run over an inspection''s data, queued for workers by priority; deleted with its inspection.';
COMMENT ON COLUMN inference_jobs.id IS 'Primary key, generated by the database.';
COMMENT ON COLUMN inference_jobs.inspection_id IS 'The inspection whose data the model runs on; deleting the inspection deletes its jobs.';
COMMENT ON COLUMN inference_jobs.model_name IS 'Name of the model to run, e.g. defect-detector.';
COMMENT ON COLUMN inference_jobs.model_version IS 'Exact model version, e.g. 2.3.1, so results can be traced to a model.';
COMMENT ON COLUMN inference_jobs.status IS 'Lifecycle: pending (queued, unclaimed), running (claimed by worker_id), completed, failed or cancelled.';
COMMENT ON COLUMN inference_jobs.priority IS 'Queue priority from 1 (lowest) to 10 (highest), default 5; workers take the highest priority first, then the oldest.';
COMMENT ON COLUMN inference_jobs.attempts IS 'How many times a worker has claimed the job, counting retries.';
COMMENT ON COLUMN inference_jobs.worker_id IS 'Worker that claimed the job; required while running, NULL while pending.';
COMMENT ON COLUMN inference_jobs.started_at IS 'When the current or last attempt started; NULL while pending.';
COMMENT ON COLUMN inference_jobs.completed_at IS 'When the job finished; required when completed, never before started_at.';
COMMENT ON COLUMN inference_jobs.inference_ms IS 'Model inference time in milliseconds as reported by the worker (excludes queueing and loading); NULL until known.';
COMMENT ON COLUMN inference_jobs.results IS 'Model output as a JSON object, e.g. {"defects": [...], "score": 0.97}; indexed for JSON searches.';
COMMENT ON COLUMN inference_jobs.error_message IS 'Why the job failed; required when failed, may keep the last error of a retried job.';
COMMENT ON COLUMN inference_jobs.created_at IS 'When the job was queued (row inserted); immutable.';
COMMENT ON COLUMN inference_jobs.updated_at IS 'When the row last changed; maintained by a trigger.';

-- The queue: the next pending job is the first row of this index
-- (ORDER BY priority DESC, created_at ... FOR UPDATE SKIP LOCKED).
CREATE INDEX inference_jobs_priority_created_at_pending_idx
    ON inference_jobs (priority DESC, created_at)
    WHERE status = 'pending';
-- Running jobs by start time: finds jobs of dead workers to hand back.
CREATE INDEX inference_jobs_started_at_running_idx ON inference_jobs (started_at)
    WHERE status = 'running';
CREATE INDEX inference_jobs_results_idx ON inference_jobs USING gin (results);

CREATE TABLE artifacts (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    inspection_id uuid,
    inference_job_id uuid,
    artifact_type artifact_type NOT NULL,
    storage_uri text NOT NULL,
    content_type text NOT NULL DEFAULT 'application/octet-stream',
    size_bytes bigint NOT NULL,
    checksum_sha256 text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT artifacts_pkey PRIMARY KEY (id),
    -- CASCADE: an inspection owns its artifacts (see header).
    CONSTRAINT artifacts_inspection_id_fkey FOREIGN KEY (inspection_id)
        REFERENCES inspections (id) ON DELETE CASCADE,
    -- CASCADE, not SET NULL: a job's artifacts are its output (see header).
    CONSTRAINT artifacts_inference_job_id_fkey FOREIGN KEY (inference_job_id)
        REFERENCES inference_jobs (id) ON DELETE CASCADE,
    -- Checked only when both columns are set (MATCH SIMPLE): then the job
    -- must belong to that inspection.
    CONSTRAINT artifacts_inspection_id_inference_job_id_fkey
        FOREIGN KEY (inspection_id, inference_job_id)
        REFERENCES inference_jobs (inspection_id, id) ON DELETE CASCADE,
    -- Every artifact belongs to an inspection, a job, or both.
    CONSTRAINT artifacts_inspection_id_inference_job_id_check CHECK (
        inspection_id IS NOT NULL OR inference_job_id IS NOT NULL
    ),
    -- scheme://rest with no whitespace: s3://bucket/key, gs://..., file:///...
    CONSTRAINT artifacts_storage_uri_check CHECK (
        storage_uri ~ '^[a-z][a-z0-9+.-]*://[^[:space:]]+$'
        AND char_length(storage_uri) <= 2048
    ),
    -- A MIME type, parameters allowed: image/png, text/plain; charset=utf-8.
    CONSTRAINT artifacts_content_type_check CHECK (
        content_type ~ '^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*([[:space:]]*;.*)?$'
        AND char_length(content_type) <= 255
    ),
    CONSTRAINT artifacts_size_bytes_check CHECK (size_bytes >= 0),
    CONSTRAINT artifacts_checksum_sha256_check CHECK (checksum_sha256 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT artifacts_metadata_check CHECK (jsonb_typeof(metadata) = 'object')
);

COMMENT ON TABLE artifacts IS 'Metadata of a file kept in object storage (image, point cloud, model output, log), belonging to an inspection, an inference job, or both.';
COMMENT ON COLUMN artifacts.id IS 'Primary key, generated by the database.';
COMMENT ON COLUMN artifacts.inspection_id IS 'The inspection the file belongs to; NULL for a file that belongs to a job only. Deleting the inspection deletes the row (not the stored file).';
COMMENT ON COLUMN artifacts.inference_job_id IS 'The inference job that produced the file; NULL for files not produced by a job. Deleting the job deletes the row (not the stored file).';
COMMENT ON COLUMN artifacts.artifact_type IS 'Kind of file, e.g. image, point_cloud, model_output, log.';
COMMENT ON COLUMN artifacts.storage_uri IS 'Where the file is stored, as scheme://location, e.g. s3://inspections/2025/11/img-0001.png.';
COMMENT ON COLUMN artifacts.content_type IS 'MIME type of the file, e.g. image/png; application/octet-stream when unknown.';
COMMENT ON COLUMN artifacts.size_bytes IS 'File size in bytes, zero or more.';
COMMENT ON COLUMN artifacts.checksum_sha256 IS 'SHA-256 of the file content as 64 lower-case hex digits, to prove the file is unaltered.';
COMMENT ON COLUMN artifacts.metadata IS 'Further attributes as a JSON object (camera, resolution, exposure, ...).';
COMMENT ON COLUMN artifacts.created_at IS 'When the row was inserted; immutable.';
COMMENT ON COLUMN artifacts.updated_at IS 'When the row last changed; maintained by a trigger.';

-- Index of artifacts_inspection_id_fkey: artifacts of an inspection.
CREATE INDEX artifacts_inspection_id_idx ON artifacts (inspection_id);
-- Index of artifacts_inference_job_id_fkey (and selective enough for
-- artifacts_inspection_id_inference_job_id_fkey): artifacts of a job.
CREATE INDEX artifacts_inference_job_id_idx ON artifacts (inference_job_id);
-- Reconciling rows with object storage: which row names this file?
CREATE INDEX artifacts_storage_uri_idx ON artifacts (storage_uri);

-- Keyset pagination: list queries page in (created_at, id) order.
CREATE INDEX inference_jobs_created_at_id_idx ON inference_jobs (created_at, id);
CREATE INDEX artifacts_created_at_id_idx ON artifacts (created_at, id);

-- migrate:down

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

DROP TABLE artifacts;
DROP TABLE inference_jobs;
