-- name: GetAuditEntry :one
-- The audit entry with this id, or None.
-- By id alone: one primary-key probe in each partition still attached.
SELECT * FROM audit_log WHERE id = sqlc.arg(entry_id);

-- name: AuditHistoryOfRecord :many
-- Every change of one record, oldest first: replaying them rebuilds its current state.
-- A record's history spans every month still attached: one index probe per partition.
SELECT * FROM audit_log
WHERE table_name = sqlc.arg(table_name) AND record_id = sqlc.arg(record_id)
ORDER BY occurred_at, recorded_at, id;

-- name: ListAuditEntries :many
-- One page of audit entries recorded in [recorded_from, recorded_before), oldest first,
-- optionally of one table and actor. The time range is required: only the monthly
-- partitions it overlaps are scanned.
-- Keyset pagination: pass the last row's recorded_at and id to get the next page.
SELECT * FROM audit_log
WHERE recorded_at >= sqlc.arg(recorded_from)
  AND recorded_at < sqlc.arg(recorded_before)
  AND (sqlc.narg(table_name)::text IS NULL OR table_name = sqlc.narg(table_name))
  AND (sqlc.narg(actor)::text IS NULL OR actor = sqlc.narg(actor))
  AND (
      sqlc.narg(after_recorded_at)::timestamptz IS NULL
      OR (recorded_at, id) > (sqlc.narg(after_recorded_at), sqlc.narg(after_id)::uuid)
  )
ORDER BY recorded_at, id
LIMIT sqlc.arg(page_size);

-- name: CountAuditEntries :one
-- How many audit entries were recorded in [recorded_from, recorded_before), optionally
-- of one table. Only the monthly partitions the range overlaps are scanned.
SELECT count(*) FROM audit_log
WHERE recorded_at >= sqlc.arg(recorded_from)
  AND recorded_at < sqlc.arg(recorded_before)
  AND (sqlc.narg(table_name)::text IS NULL OR table_name = sqlc.narg(table_name));
