-- name: GetWidget :one
-- The widget with this id, or None.
SELECT * FROM widgets WHERE id = $1;

-- name: ListWidgets :many
-- Widgets in name order.
SELECT * FROM widgets ORDER BY name;

-- name: WidgetNames :many
SELECT name FROM widgets ORDER BY name;

-- name: CountWidgets :one
SELECT count(*) FROM widgets;

-- name: WidgetSummary :one
SELECT name, weight FROM widgets WHERE id = $1;

-- name: CreateWidget :one
INSERT INTO widgets (name, weight) VALUES (sqlc.arg(name), sqlc.narg(weight)) RETURNING *;

-- name: TouchWidget :exec
UPDATE widgets SET weight = weight WHERE id = $1;

-- name: DeleteHeavyWidgets :execrows
DELETE FROM widgets WHERE weight > sqlc.arg(min_weight);

-- name: RenameWidget :execresult
UPDATE widgets SET name = sqlc.arg(new_name) WHERE name = sqlc.arg(old_name);
