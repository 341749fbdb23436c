-- name: GetDevice :one
SELECT * FROM devices WHERE id = $1;

-- name: DeviceSpecs :many
SELECT id, spec FROM devices ORDER BY id;

-- name: CreateDevice :one
INSERT INTO devices (spec, mac) VALUES ($1, $2) RETURNING *;

-- name: DevicesWithSpecs :many
-- Every device's spec, gathered into one JSON array, validated as DeviceSpec models.
SELECT count(*) AS devices, coalesce(jsonb_agg(spec ORDER BY id), '[]')::jsonb AS specs
FROM devices;
