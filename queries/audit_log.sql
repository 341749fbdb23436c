-- name: GetAuditEntry :one
-- The audit entry with this id, or None.
SELECT * FROM audit_log WHERE id = sqlc.arg(entry_id);

-- name: AuditHistoryOfRecord :many
-- Every change of one record, oldest first: replaying them rebuilds its current state.
SELECT * FROM audit_log
WHERE table_name = sqlc.arg(table_name) AND record_id = sqlc.arg(record_id)
ORDER BY occurred_at, recorded_at, id;

-- name: ListAuditEntries :many
-- One page of audit entries, oldest first, optionally of one table and actor.
-- Keyset pagination: pass the last row's recorded_at and id to get the next page.
SELECT * FROM audit_log
WHERE (sqlc.narg(table_name)::text IS NULL OR table_name = sqlc.narg(table_name))
  AND (sqlc.narg(actor)::text IS NULL OR actor = sqlc.narg(actor))
  AND (
      sqlc.narg(after_recorded_at)::timestamptz IS NULL
      OR (recorded_at, id) > (sqlc.narg(after_recorded_at), sqlc.narg(after_id)::uuid)
  )
ORDER BY recorded_at, id
LIMIT sqlc.arg(page_size);

-- name: CountAuditEntries :one
-- How many audit entries there are, optionally of one table.
-- plan: full-scan Without a filter this counts every row: the whole table is read.
SELECT count(*) FROM audit_log
WHERE (sqlc.narg(table_name)::text IS NULL OR table_name = sqlc.narg(table_name));
