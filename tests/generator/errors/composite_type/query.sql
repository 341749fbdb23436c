-- name: ThingLocation :one
SELECT location FROM things WHERE id = $1;
