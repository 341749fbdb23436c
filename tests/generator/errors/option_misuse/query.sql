-- name: CountThings :one
SELECT count(*) FROM things;

-- name: ListThings :many
SELECT id, name FROM things;

-- name: CopyThings :copyfrom
INSERT INTO things (name) VALUES ($1);
