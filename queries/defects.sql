-- name: CreateDefect :one
-- Record one defect found by an inspection.
INSERT INTO defects (inspection_id, defect_type, severity, location, confidence, description,
                     detected_by)
VALUES (
    sqlc.arg(inspection_id), sqlc.arg(defect_type), sqlc.arg(severity),
    coalesce(sqlc.narg(location)::jsonb, '{}'), sqlc.narg(confidence), sqlc.narg(description),
    sqlc.arg(detected_by)
)
RETURNING *;

-- name: IngestDefects :copyfrom
-- Bulk ingest of defects (binary COPY): returns the number of rows written.
INSERT INTO defects (inspection_id, defect_type, severity, location, confidence, description,
                     detected_by)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: InsertDefects :batchexec
-- Insert many defects with one prepared statement (asyncpg executemany): all or none.
INSERT INTO defects (inspection_id, defect_type, severity, location, confidence, description,
                     detected_by)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: GetDefect :one
-- The defect with this id, or None.
SELECT * FROM defects WHERE id = sqlc.arg(defect_id);

-- name: ReviewDefect :one
-- Record a reviewer's verdict on a defect, optionally correcting its type and severity.
UPDATE defects
SET review_status = sqlc.arg(review_status), reviewed_by = sqlc.arg(reviewed_by),
    reviewed_at = sqlc.arg(reviewed_at),
    defect_type = coalesce(sqlc.narg(defect_type), defect_type),
    severity = coalesce(sqlc.narg(severity), severity)
WHERE id = sqlc.arg(defect_id)
RETURNING *;

-- name: UpdateDefect :one
-- Change some fields of a defect; fields passed as None stay as they are.
UPDATE defects
SET defect_type = coalesce(sqlc.narg(defect_type), defect_type),
    severity = coalesce(sqlc.narg(severity), severity),
    location = coalesce(sqlc.narg(location)::jsonb, location),
    confidence = coalesce(sqlc.narg(confidence), confidence),
    description = coalesce(sqlc.narg(description), description)
WHERE id = sqlc.arg(defect_id)
RETURNING *;

-- name: DeleteDefect :execrows
-- Delete one defect; rows deleted (0 or 1).
DELETE FROM defects WHERE id = sqlc.arg(defect_id);

-- name: ListDefects :many
-- One page of defects in creation order, optionally of one inspection and severity.
-- Keyset pagination: pass the last row's created_at and id to get the next page.
SELECT * FROM defects
WHERE (sqlc.narg(inspection_id)::uuid IS NULL OR inspection_id = sqlc.narg(inspection_id))
  AND (sqlc.narg(severity)::defect_severity IS NULL OR severity = sqlc.narg(severity))
  AND (
      sqlc.narg(after_created_at)::timestamptz IS NULL
      OR (created_at, id) > (sqlc.narg(after_created_at), sqlc.narg(after_id)::uuid)
  )
ORDER BY created_at, id
LIMIT sqlc.arg(page_size);

-- name: DefectsOfLot :many
-- Every defect found in a lot's inspections, for exports and reports.
SELECT d.* FROM defects d
JOIN inspections i ON i.id = d.inspection_id
WHERE i.lot_id = sqlc.arg(lot_id)
ORDER BY d.created_at, d.id;

-- name: CountDefects :one
-- How many defects there are, optionally of one inspection and severity.
-- plan: full-scan Without a filter this counts every row: the whole table is read.
SELECT count(*) FROM defects
WHERE (sqlc.narg(inspection_id)::uuid IS NULL OR inspection_id = sqlc.narg(inspection_id))
  AND (sqlc.narg(severity)::defect_severity IS NULL OR severity = sqlc.narg(severity));

-- name: DefectParetoOfLot :many
-- Defect counts of a lot by type and severity, most frequent first (a Pareto chart).
SELECT d.defect_type, d.severity, count(*) AS defect_count
FROM defects d
JOIN inspections i ON i.id = d.inspection_id
WHERE i.lot_id = sqlc.arg(lot_id)
GROUP BY d.defect_type, d.severity
ORDER BY defect_count DESC, d.defect_type, d.severity;

-- name: RecentCriticalDefects :many
-- Critical defects found since a time, newest first: the quality engineers' alert feed
-- (served by the partial index defects_created_at_critical_idx).
SELECT * FROM defects
WHERE severity = 'critical' AND created_at >= sqlc.arg(since)
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(page_size);

-- name: SearchDefectsByLocation :many
-- Defects whose location contains the given JSON object, e.g. {"layer": 3}, newest first
-- (served by the GIN index defects_location_idx).
WITH matching AS MATERIALIZED (
    -- The matches are collected first (MATERIALIZED): left to itself the planner
    -- walks defects_created_at_id_idx backwards hoping for an early match, which
    -- reads the whole table when the object is rare; through the GIN index a
    -- search costs what it finds, then the matches are sorted.
    SELECT * FROM defects WHERE location @> sqlc.arg(location)::jsonb
)
SELECT * FROM matching
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(page_size);
