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
