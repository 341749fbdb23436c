-- name: CountChildren :one
SELECT count(*) FROM child;
