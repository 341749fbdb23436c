-- name: CreateMark :one
INSERT INTO marks (symbol, history) VALUES ($1, $2) RETURNING *;

-- name: MarksOf :many
SELECT * FROM marks WHERE symbol = $1 ORDER BY id;

-- name: SymbolCounts :many
SELECT symbol, count(*) AS total FROM marks GROUP BY symbol ORDER BY symbol;
