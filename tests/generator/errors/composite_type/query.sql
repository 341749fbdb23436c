-- name: ThingLocation :one
SELECT location FROM things WHERE id = $1;

-- name: GetThing :one
SELECT * FROM things WHERE id = $1;
