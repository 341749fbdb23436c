-- name: CreateInspection :one
-- Schedule an inspection of a lot (status pending until it starts).
INSERT INTO inspections (lot_id, inspection_type, station_id, operator_id, notes, metadata)
VALUES (
    sqlc.arg(lot_id), sqlc.arg(inspection_type), sqlc.narg(station_id), sqlc.narg(operator_id),
    sqlc.narg(notes), coalesce(sqlc.narg(metadata)::jsonb, '{}')
)
RETURNING *;

-- name: GetInspection :one
-- The inspection with this id, or None.
SELECT * FROM inspections WHERE id = sqlc.arg(inspection_id);

-- name: GetInspectionWithDefects :one
-- An inspection and all its defects in one round trip (defects as a JSON array,
-- most severe first); None when the inspection does not exist.
SELECT
    sqlc.embed(inspections),
    coalesce(
        (SELECT jsonb_agg(to_jsonb(d) ORDER BY d.severity DESC, d.created_at, d.id)
         FROM defects d WHERE d.inspection_id = inspections.id),
        '[]'::jsonb
    )::jsonb AS defects
FROM inspections
WHERE inspections.id = sqlc.arg(inspection_id);

-- name: StartInspection :one
-- Move a pending inspection to in_progress at the given time; None unless it was pending.
UPDATE inspections
SET status = 'in_progress', started_at = sqlc.arg(started_at),
    station_id = coalesce(sqlc.narg(station_id), station_id),
    operator_id = coalesce(sqlc.narg(operator_id), operator_id)
WHERE id = sqlc.arg(inspection_id) AND status = 'pending'
RETURNING *;

-- name: CompleteInspection :one
-- Record the verdict of an inspection in progress; None unless it was in progress.
UPDATE inspections
SET status = 'completed', completed_at = sqlc.arg(completed_at), passed = sqlc.arg(passed),
    results = coalesce(sqlc.narg(results)::jsonb, results)
WHERE id = sqlc.arg(inspection_id) AND status = 'in_progress'
RETURNING *;

-- name: UpdateInspection :one
-- Change the descriptive fields of an inspection; fields passed as None stay as they are.
UPDATE inspections
SET station_id = coalesce(sqlc.narg(station_id), station_id),
    operator_id = coalesce(sqlc.narg(operator_id), operator_id),
    notes = coalesce(sqlc.narg(notes), notes),
    results = coalesce(sqlc.narg(results)::jsonb, results),
    metadata = coalesce(sqlc.narg(metadata)::jsonb, metadata)
WHERE id = sqlc.arg(inspection_id)
RETURNING *;

-- name: CancelInspection :one
-- Cancel an inspection that has not finished; None when it had.
UPDATE inspections SET status = 'cancelled'
WHERE id = sqlc.arg(inspection_id) AND status IN ('pending', 'in_progress')
RETURNING *;

-- name: DeleteInspection :execrows
-- Delete an inspection with its defects, inference jobs and artifacts; rows deleted (0 or 1).
DELETE FROM inspections WHERE id = sqlc.arg(inspection_id);

-- name: ListInspections :many
-- One page of inspections in creation order, optionally of one lot and status.
-- Keyset pagination: pass the last row's created_at and id to get the next page.
SELECT * FROM inspections
WHERE (sqlc.narg(lot_id)::uuid IS NULL OR lot_id = sqlc.narg(lot_id))
  AND (sqlc.narg(status)::inspection_status IS NULL OR status = sqlc.narg(status))
  AND (
      sqlc.narg(after_created_at)::timestamptz IS NULL
      OR (created_at, id) > (sqlc.narg(after_created_at), sqlc.narg(after_id)::uuid)
  )
ORDER BY created_at, id
LIMIT sqlc.arg(page_size);

-- name: CountInspections :one
-- How many inspections there are, optionally of one lot and status.
SELECT count(*) FROM inspections
WHERE (sqlc.narg(lot_id)::uuid IS NULL OR lot_id = sqlc.narg(lot_id))
  AND (sqlc.narg(status)::inspection_status IS NULL OR status = sqlc.narg(status));

-- name: ListOpenInspections :many
-- Inspections not finished yet (pending or in progress), oldest first: the stations' work
-- list (served by the partial index inspections_created_at_open_idx).
SELECT * FROM inspections
WHERE status IN ('pending', 'in_progress')
ORDER BY created_at, id
LIMIT sqlc.arg(page_size);

-- name: SearchInspectionsByResults :many
-- Inspections whose results contain the given JSON object, e.g. {"station": "ST-4"},
-- newest first (served by the GIN index inspections_results_idx).
WITH matching AS MATERIALIZED (
    -- The matches are collected first (MATERIALIZED): left to itself the planner
    -- walks inspections_created_at_id_idx backwards hoping for an early match, which
    -- reads the whole table when the object is rare; through the GIN index a
    -- search costs what it finds, then the matches are sorted.
    SELECT * FROM inspections WHERE results @> sqlc.arg(results)::jsonb
)
SELECT * FROM matching
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(page_size);

-- name: DailyYield :many
-- Inspections completed per day (UTC) in [completed_from, completed_to) and how many of
-- them passed: the yield trend (served by the partial index
-- inspections_completed_at_completed_idx).
SELECT
    (completed_at AT TIME ZONE 'UTC')::date AS day,
    count(*) AS completed,
    count(*) FILTER (WHERE passed) AS passed
FROM inspections
WHERE status = 'completed'
  AND completed_at >= sqlc.arg(completed_from) AND completed_at < sqlc.arg(completed_to)
GROUP BY day
ORDER BY day;
