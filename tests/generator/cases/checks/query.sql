-- name: AddForm :one
-- Every translated CHECK form rides on the Params model; the untranslated ones stay
-- with the database.
INSERT INTO forms (small, big, exact, flipped, ratio, share, code, loose, label, word, mode, kind,
                   spaced, digits, other, lowered)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
RETURNING *;

-- name: RelabelForms :execrows
-- Keyword arguments carry their column's CHECK too (validated before the round trip);
-- a parameter only compared with (WHERE) carries none.
UPDATE forms SET label = sqlc.arg(label), code = coalesce(sqlc.narg(code), code)
WHERE small = sqlc.arg(small);

-- name: FormsWithLabel :many
SELECT * FROM forms WHERE label = $1;

-- name: AddRow :exec
-- The Params model carries the column rules and the row CHECKs of what it fills.
INSERT INTO rows_of_forms (id, tidy, sized, measure, reading, doc, short, low, high, state,
                           closed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: NarrowRow :execrows
-- A partial update: coalesce keeps a column, so the row CHECK sees it as unknown.
UPDATE rows_of_forms
SET low = coalesce(sqlc.narg(low), low), high = coalesce(sqlc.narg(high), high),
    state = sqlc.arg(state), closed_at = sqlc.narg(closed_at), tidy = sqlc.narg(tidy)
WHERE id = sqlc.arg(id);

-- name: UpsertTidy :exec
-- ON CONFLICT DO UPDATE SET sized = EXCLUDED.tidy: the tidy parameter fills both.
INSERT INTO rows_of_forms (id, tidy) VALUES (sqlc.arg(id), sqlc.arg(tidy))
ON CONFLICT (id) DO UPDATE SET sized = EXCLUDED.tidy;

-- name: UpsertHigh :exec
-- No rows_order_check on the Params model: high is in the proposed row, low only in
-- the row it conflicts with; no row holds both (PostgreSQL checks each row alone).
INSERT INTO rows_of_forms (id, high, state, closed_at, short)
VALUES (sqlc.arg(id), sqlc.arg(high), sqlc.arg(state), sqlc.arg(closed_at), sqlc.arg(short))
ON CONFLICT (id) DO UPDATE SET low = sqlc.arg(low);

-- name: RemeasureRow :one
-- An UPDATE inside a CTE: its parameter carries the column's modifier and CHECK.
WITH changed AS (
    UPDATE rows_of_forms SET measure = sqlc.arg(measure) WHERE id = sqlc.arg(id) RETURNING id
)
SELECT count(*) FROM changed;
