-- Enum types shared by the quality tables (parts, lots, inspections, defects,
-- inference jobs, artifacts, reports, audit log). The generator turns each into
-- a Python StrEnum whose docstring is the COMMENT ON TYPE below.
--
-- Locking: creates new types only; no existing object is locked. Like every
-- migration here, the up section sets lock_timeout and statement_timeout for
-- its own transaction (SET LOCAL); dropping the types takes no long locks.
-- Evolving: ALTER TYPE ... ADD VALUE is cheap, but a value added inside a
-- transaction cannot be used until that transaction commits, and removing or
-- renaming a value in use needs a new type and a column rewrite. So the value
-- lists below are deliberately generous and ordered as people read them.
-- No extension is needed by this schema: gen_random_uuid() (every primary
-- key) is built in since PostgreSQL 13, and artifact checksums are computed by
-- the writer (sha256() is built in since 11 should SQL ever need to verify one).

-- migrate:up

-- Fail fast instead of queueing behind (and then blocking) other sessions;
-- LOCAL: the settings end with dbmate's transaction for this migration.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

CREATE TYPE part_type AS ENUM (
    'pcb',
    'semiconductor',
    'component',
    'assembly',
    'wafer'
);
COMMENT ON TYPE part_type IS 'Kind of part a part number describes.';

CREATE TYPE lot_status AS ENUM (
    'active',
    'completed',
    'quarantined',
    'released',
    'rejected'
);
COMMENT ON TYPE lot_status IS 'Where a production lot stands: active while produced and inspected, completed when production ends, quarantined while on hold, then released to customers or rejected.';

CREATE TYPE inspection_type AS ENUM (
    'visual',
    'electrical',
    'thermal',
    'dimensional',
    'functional',
    'optical'
);
COMMENT ON TYPE inspection_type IS 'Method of a quality inspection.';

CREATE TYPE inspection_status AS ENUM (
    'pending',
    'in_progress',
    'completed',
    'failed',
    'cancelled'
);
COMMENT ON TYPE inspection_status IS 'Progress of an inspection run. failed means the run itself could not finish (equipment or process error) and gave no verdict; a part that fails inspection is a completed inspection with passed = false.';

CREATE TYPE defect_type AS ENUM (
    'scratch',
    'void',
    'contamination',
    'particle',
    'misalignment',
    'short',
    'open',
    'bridging',
    'crack',
    'burn',
    'delamination',
    'discoloration',
    'missing_component',
    'solder_defect',
    'corrosion',
    'warpage',
    'other'
);
COMMENT ON TYPE defect_type IS 'Classification of a detected defect; other when none fits (describe it in the defect''s description).';

CREATE TYPE defect_severity AS ENUM (
    'low',
    'medium',
    'high',
    'critical'
);
COMMENT ON TYPE defect_severity IS 'Impact of a defect, from cosmetic (low) to unit-killing or safety-relevant (critical).';

CREATE TYPE defect_review_status AS ENUM (
    'unreviewed',
    'confirmed',
    'false_positive',
    'reclassified'
);
COMMENT ON TYPE defect_review_status IS 'Outcome of a human review of a detected defect: unreviewed until someone looks at it; reclassified when the reviewer changed its type or severity.';

CREATE TYPE inference_job_status AS ENUM (
    'pending',
    'running',
    'completed',
    'failed',
    'cancelled'
);
COMMENT ON TYPE inference_job_status IS 'Lifecycle of a machine-learning inference job: pending in the queue, running on a worker, then completed, failed or cancelled.';

CREATE TYPE artifact_type AS ENUM (
    'image',
    'video',
    'point_cloud',
    'waveform',
    'thermal_map',
    'model_output',
    'log',
    'report',
    'other'
);
COMMENT ON TYPE artifact_type IS 'Kind of stored file an artifact row describes.';

CREATE TYPE report_type AS ENUM (
    'lot_summary',
    'defect_pareto',
    'yield_trend',
    'inspection_detail',
    'compliance_audit'
);
COMMENT ON TYPE report_type IS 'Kind of generated quality report.';

CREATE TYPE report_status AS ENUM (
    'pending',
    'generating',
    'completed',
    'failed'
);
COMMENT ON TYPE report_status IS 'Progress of a report generation request.';

CREATE TYPE report_format AS ENUM (
    'pdf',
    'csv',
    'json',
    'xlsx',
    'html'
);
COMMENT ON TYPE report_format IS 'File format a report is rendered in.';

CREATE TYPE audit_action AS ENUM (
    'insert',
    'update',
    'delete'
);
COMMENT ON TYPE audit_action IS 'Row operation recorded in the audit log.';

-- migrate:down
DROP TYPE audit_action;
DROP TYPE report_format;
DROP TYPE report_status;
DROP TYPE report_type;
DROP TYPE artifact_type;
DROP TYPE inference_job_status;
DROP TYPE defect_review_status;
DROP TYPE defect_severity;
DROP TYPE defect_type;
DROP TYPE inspection_status;
DROP TYPE inspection_type;
DROP TYPE lot_status;
DROP TYPE part_type;
