-- name: CreateReport :one
-- Request a report; it starts pending.
INSERT INTO reports (report_type, title, parameters, format, generated_by)
VALUES (
    sqlc.arg(report_type), sqlc.arg(title), coalesce(sqlc.narg(parameters)::jsonb, '{}'),
    sqlc.arg(format), sqlc.arg(generated_by)
)
RETURNING *;

-- name: GetReport :one
-- The report with this id, or None.
SELECT * FROM reports WHERE id = sqlc.arg(report_id);

-- name: StartReport :one
-- Mark a pending report as being generated; None unless it was pending.
UPDATE reports SET status = 'generating'
WHERE id = sqlc.arg(report_id) AND status = 'pending'
RETURNING *;

-- name: CompleteReport :one
-- Record where a generated report's output is; None unless it was being generated.
UPDATE reports
SET status = 'completed', output_location = sqlc.arg(output_location),
    completed_at = clock_timestamp()
WHERE id = sqlc.arg(report_id) AND status = 'generating'
RETURNING *;

-- name: FailReport :one
-- Record why a report could not be generated; None unless it was pending or generating.
UPDATE reports
SET status = 'failed', error_message = sqlc.arg(error_message), completed_at = clock_timestamp()
WHERE id = sqlc.arg(report_id) AND status IN ('pending', 'generating')
RETURNING *;

-- name: DeleteReport :execrows
-- Delete a report's row; rows deleted (0 or 1).
DELETE FROM reports WHERE id = sqlc.arg(report_id);

-- name: ListReports :many
-- One page of reports in creation order, optionally of one type and status.
-- Keyset pagination: pass the last row's created_at and id to get the next page.
SELECT * FROM reports
WHERE (sqlc.narg(report_type)::report_type IS NULL OR report_type = sqlc.narg(report_type))
  AND (sqlc.narg(status)::report_status IS NULL OR status = sqlc.narg(status))
  AND (
      sqlc.narg(after_created_at)::timestamptz IS NULL
      OR (created_at, id) > (sqlc.narg(after_created_at), sqlc.narg(after_id)::uuid)
  )
ORDER BY created_at, id
LIMIT sqlc.arg(page_size);

-- name: CountReports :one
-- How many reports there are, optionally in one status.
SELECT count(*) FROM reports
WHERE (sqlc.narg(status)::report_status IS NULL OR status = sqlc.narg(status));

-- name: ListPendingReports :many
-- Pending reports, oldest first: the renderer's queue (served by the partial index
-- reports_created_at_pending_idx).
SELECT * FROM reports
WHERE status = 'pending'
ORDER BY created_at, id
LIMIT sqlc.arg(page_size);
