-- name: AddGauge :batchone
-- One-column results of each command: a column that may be NULL.
INSERT INTO gauges (serial_no, label) VALUES ($1, $2) RETURNING label;

-- name: AddGaugeReturningId :batchone
INSERT INTO gauges (serial_no, label, kind) VALUES ($1, $2, $3) RETURNING id;

-- name: GaugeExists :one
-- An expression: the column has no name.
SELECT count(*) > 0 FROM gauges WHERE serial_no = $1;

-- name: GaugesExist :many
SELECT count(*) > 0 FROM gauges WHERE serial_no >= $1 GROUP BY kind ORDER BY kind;

-- name: GaugeIds :many
-- A cast of a qualified column: sqlc names it g_id, PostgreSQL id.
SELECT g.id::uuid FROM gauges g ORDER BY g.serial_no;

-- name: GaugeLabels :many
SELECT gauges.label FROM gauges ORDER BY gauges.serial_no;

-- name: UpperLabel :one
SELECT upper(label) FROM gauges WHERE serial_no = $1;

-- name: UpperLabels :many
SELECT upper(label) FROM gauges ORDER BY serial_no;

-- name: GaugeKinds :many
SELECT kind FROM gauges ORDER BY serial_no;

-- name: GaugeTags :one
SELECT tags FROM gauges WHERE serial_no = $1;

-- name: GaugeSpans :many
SELECT span FROM gauges ORDER BY serial_no;

-- name: LabelsOfKind :batchmany
SELECT label FROM gauges WHERE kind = $1 ORDER BY serial_no;

-- name: DoubledReadings :batchmany
SELECT reading * 2 FROM gauges WHERE serial_no >= $1 ORDER BY serial_no;

-- name: LockGauge :one
-- A function that returns void.
SELECT pg_advisory_xact_lock($1);

-- name: DailyTimes :many
SELECT generate_series(sqlc.arg(first_day)::timestamp, sqlc.arg(last_day)::timestamp, '1 day'::interval);

-- name: TotalReading :one
SELECT sum(reading) FROM gauges;

-- name: DoubledTotal :one
SELECT sum(reading) * 2 FROM gauges;
