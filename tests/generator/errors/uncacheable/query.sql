-- name: RecentThings :many
-- @cache 30s
SELECT id FROM things WHERE seen_at > now() - interval '1 hour';

-- name: ThingsToday :many
-- @cache 30s
SELECT id FROM things WHERE seen_at::date = CURRENT_DATE;

-- name: NamedCount :one
-- @cache 1m
SELECT things_named($1);

-- name: RenameThing :exec
-- @cache 1m
UPDATE things SET name = $1 WHERE id = $2;

-- name: BadTime :many
-- @cache soon
SELECT id FROM things;

-- name: CachedThing :one
-- @cache 2h
SELECT id, name FROM things WHERE id = $1;
