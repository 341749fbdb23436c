-- name: CopyReadings :copyfrom
-- Bulk load through binary COPY.
INSERT INTO readings (sensor, value, color, meta) VALUES ($1, $2, $3, $4);

-- name: InsertReadings :batchexec
INSERT INTO readings (sensor, value, color, meta) VALUES ($1, $2, $3, $4);

-- name: InsertReadingsReturning :batchone
INSERT INTO readings (sensor, value, color, meta) VALUES ($1, $2, $3, $4) RETURNING *;

-- name: ReadingsBySensors :batchmany
SELECT * FROM readings WHERE sensor = $1 ORDER BY value;

-- name: ReadingsOfColor :many
SELECT * FROM readings WHERE color = $1 ORDER BY sensor, value;
