-- name: CreateReading :one
INSERT INTO readings (value) VALUES ($1) RETURNING *;

-- name: CheckedReadings :many
SELECT id, reading FROM reading_checks ORDER BY id;

-- name: CountOnes :one
SELECT count(*) FROM ones;
