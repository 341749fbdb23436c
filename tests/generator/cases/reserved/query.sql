-- name: CreateSetting :exec
INSERT INTO settings (id, db, conn, prefetch, value, affected_rows, model_config, model_dump)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: FindSettings :many
SELECT * FROM settings WHERE db = $1 AND conn = $2 AND prefetch = $3;

-- name: ValueOf :one
SELECT value FROM settings WHERE value = sqlc.arg(value) AND model_config = sqlc.arg(model_config);

-- name: DeleteByAffectedRows :execrows
DELETE FROM settings WHERE affected_rows = $1;

-- name: DeleteByStatus :execrows
DELETE FROM settings WHERE status = $1;

-- name: GetByRecord :one
SELECT * FROM settings WHERE record = $1;

-- name: FlagFailures :execrows
-- The except clause's `error` and the helpers `query_failed`, `build_row`: escaped.
UPDATE settings SET error = $1, query_failed = $2 WHERE build_row = $3;

-- name: FailedSetting :one
SELECT * FROM settings WHERE error = $1 AND query_failed = $2 AND build_row = $3;
