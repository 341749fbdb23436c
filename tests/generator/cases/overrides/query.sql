-- name: GetDevice :one
SELECT * FROM devices WHERE id = $1;

-- name: DeviceSpecs :many
SELECT id, spec FROM devices ORDER BY id;

-- name: CreateDevice :one
INSERT INTO devices (spec, mac) VALUES ($1, $2) RETURNING *;
