-- name: CreateThing :one
INSERT INTO things (name, location, placements) VALUES ($1, $2, $3) RETURNING *;

-- name: GetThing :one
SELECT * FROM things WHERE id = $1;

-- name: ThingLocation :one
SELECT location FROM things WHERE id = $1;

-- name: ThingsAt :many
SELECT id, name, location FROM things WHERE location = $1 ORDER BY id;

-- name: MovedThing :one
SELECT id, ROW((location).x + 1, (location).y, (location).z)::point3 AS moved
FROM things WHERE id = $1;

-- name: AllPlacements :many
SELECT placements FROM things ORDER BY id;
