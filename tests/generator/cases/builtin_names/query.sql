-- name: CreateItem :one
INSERT INTO items (name, score) VALUES ($1, $2) RETURNING *;

-- name: List :many
SELECT * FROM items ORDER BY id;

-- name: Any :one
SELECT EXISTS (SELECT 1 FROM items WHERE name = $1);

-- name: In :many
SELECT id, name FROM items WHERE id = ANY($1::bigint[]) ORDER BY id;

-- name: Abs :one
SELECT abs(score) FROM items WHERE id = $1;
