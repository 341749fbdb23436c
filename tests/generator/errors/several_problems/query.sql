-- name: InsertReturningId :execlastid
INSERT INTO things (name) VALUES ($1);

-- name: SameName :many
SELECT id AS name, name FROM things;

-- name: SliceOutsideIn :many
SELECT id FROM things WHERE name = ANY(sqlc.slice(names));
