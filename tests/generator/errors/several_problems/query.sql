-- name: List :many
SELECT * FROM things;

-- name: SameName :many
SELECT id AS name, name FROM things;

-- name: SliceOutsideIn :many
SELECT id FROM things WHERE name = ANY(sqlc.slice(names));
