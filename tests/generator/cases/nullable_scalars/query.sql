-- name: AddProbe :one
INSERT INTO probes (hits, seen_on, seen_at, logged_at, passed, note, batch, origin, doc, reading)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id;

-- name: ProbeHits :one
-- One nullable column of each type: the result is `T | None`.
SELECT hits FROM probes WHERE id = $1;

-- name: ProbeSeenOn :one
SELECT seen_on FROM probes WHERE id = $1;

-- name: ProbeSeenAt :one
SELECT seen_at FROM probes WHERE id = $1;

-- name: ProbeLoggedAt :one
SELECT logged_at FROM probes WHERE id = $1;

-- name: ProbePassed :one
SELECT passed FROM probes WHERE id = $1;

-- name: ProbeNote :one
SELECT note FROM probes WHERE id = $1;

-- name: ProbeBatch :one
SELECT batch FROM probes WHERE id = $1;

-- name: ProbeOrigin :one
SELECT origin FROM probes WHERE id = $1;

-- name: ProbeDoc :one
SELECT doc FROM probes WHERE id = $1;

-- name: ProbeReading :one
SELECT reading FROM probes WHERE id = $1;

-- name: ProbeOrigins :many
-- A list of nullable values, and (as an iterator) one nullable value at a time.
SELECT origin FROM probes ORDER BY id;

-- name: Stamp :one
-- Never NULL, always a row: the type alone, an alias (JsonValue) that is no class.
SELECT jsonb_build_object('at', now()) AS stamp;

-- name: CheckedAt :one
SELECT now() AS checked_at;

-- name: ForgetProbe :one
-- A function of the schema that returns void: nothing comes back.
SELECT forget_probe($1);
