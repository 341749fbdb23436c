-- name: CopyUsers :copyfrom
-- Parameters named by sqlc.arg: COPY fills the INSERT's columns, not columns of their names.
INSERT INTO user_data (id, "user") VALUES (sqlc.arg(id_param), sqlc.arg(user_param));

-- name: CopyUsersReordered :copyfrom
-- The columns in another order than the parameters, and a cast COPY ignores.
INSERT INTO user_data ("user", joined, id) VALUES (@user_name, @joined_on::date, @user_id);

-- name: CopyStock :copyfrom
-- A schema-qualified table with quoted, mixed-case and reserved column names.
INSERT INTO inventory."StockItems" (id, "Name", "Quantity", "order") VALUES ($1, $2, $3, $4);

-- name: ListUsers :many
SELECT * FROM user_data ORDER BY id;

-- name: ListStock :many
SELECT * FROM inventory."StockItems" ORDER BY id;
