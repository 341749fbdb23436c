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
