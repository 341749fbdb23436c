-- name: EventsByIds :many
SELECT id, type FROM events WHERE id = ANY(sqlc.arg(ids)::uuid[]);

-- name: EventsOfTypes :many
SELECT id FROM events WHERE type IN (sqlc.slice(types));

-- name: EventsNotOfTypes :many
SELECT id FROM events WHERE type NOT IN (sqlc.slice(types));

-- name: UpdateEvent :one
-- Fields not given stay as they are.
UPDATE events
SET type = coalesce(sqlc.narg(type), type),
    "from" = coalesce(sqlc.narg('from'), "from"),
    class = coalesce(sqlc.narg('class'), class)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: EventsBetween :many
SELECT id FROM events WHERE score >= $1 AND score <= $2;

-- name: CreateEvent :one
INSERT INTO events (type, "from", class, tags, score) VALUES ($1, $2, $3, $4, $5) RETURNING id;

-- name: RenameEvent :one
-- Two parameters, but listed under the option `params_models`: it takes a Params model.
UPDATE events SET type = sqlc.arg(type) WHERE id = sqlc.arg(id) RETURNING id;
