-- name: GetOther :one
SELECT * FROM others WHERE id = $1;
