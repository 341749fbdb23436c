-- name: GetThing :one
SELECT * FROM things WHERE id = $1;

-- name: CopyThings :copyfrom
INSERT INTO things (name, location) VALUES ($1, $2);

-- name: MoveThings :batchexec
UPDATE things SET location = $1 WHERE id = $2;
