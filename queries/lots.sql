-- name: CreateLot :one
-- Register a production lot of a part; lot_number must be unique.
INSERT INTO lots (
    lot_number, part_id, production_date, batch_size, production_line, status, supplier,
    notes, metadata
) VALUES (
    sqlc.arg(lot_number), sqlc.arg(part_id), sqlc.arg(production_date), sqlc.arg(batch_size),
    sqlc.arg(production_line), coalesce(sqlc.narg(status)::lot_status, 'active'), sqlc.narg(supplier),
    sqlc.narg(notes), coalesce(sqlc.narg(metadata)::jsonb, '{}')
)
RETURNING *;

-- name: GetLot :one
-- The lot with this id, or None.
SELECT * FROM lots WHERE id = sqlc.arg(lot_id);

-- name: GetLotByNumber :one
-- The lot with this lot number, or None.
-- @cache 60s
SELECT * FROM lots WHERE lot_number = sqlc.arg(lot_number);

-- name: UpdateLot :one
-- Change some fields of a lot; fields passed as None stay as they are.
-- With expected_updated_at, only while the lot's updated_at is still that version (an
-- HTTP If-Match), checked by this statement itself: a concurrent change makes it
-- return None, never overwritten. Returns None when no lot has this id (or version).
UPDATE lots
SET production_date = coalesce(sqlc.narg(production_date), production_date),
    batch_size = coalesce(sqlc.narg(batch_size), batch_size),
    production_line = coalesce(sqlc.narg(production_line), production_line),
    status = coalesce(sqlc.narg(status), status),
    supplier = coalesce(sqlc.narg(supplier), supplier),
    quantity_inspected = coalesce(sqlc.narg(quantity_inspected), quantity_inspected),
    quantity_rejected = coalesce(sqlc.narg(quantity_rejected), quantity_rejected),
    notes = coalesce(sqlc.narg(notes), notes),
    metadata = coalesce(sqlc.narg(metadata)::jsonb, metadata)
WHERE id = sqlc.arg(lot_id)
  AND (sqlc.narg(expected_updated_at)::timestamptz IS NULL
       OR updated_at = sqlc.narg(expected_updated_at))
RETURNING *;

-- name: SetLotStatus :one
-- Move a lot to a new status (quarantine, release, reject, ...); None when it does not exist.
UPDATE lots SET status = sqlc.arg(status) WHERE id = sqlc.arg(lot_id) RETURNING *;

-- name: DeleteLot :execrows
-- Delete a lot that has no inspections (a lot with inspections is refused: they are its
-- quality record). Returns the number of rows deleted, 0 or 1.
DELETE FROM lots WHERE id = sqlc.arg(lot_id);

-- name: ListLots :many
-- One page of lots in creation order, optionally of one part, status and production line.
-- Keyset pagination: pass the last row's created_at and id to get the next page.
SELECT * FROM lots
-- The optional filters are CASEs, not `(x IS NULL OR col = x)`: the generic plan
-- (the one cached after five calls) estimated that OR form to keep almost no row,
-- and so sorted the whole table instead of reading lots_created_at_id_idx in order.
-- A CASE folds away exactly like the OR when a value is bound (queries/plans/lots.md).
WHERE CASE WHEN sqlc.narg(part_id)::uuid IS NULL THEN true
           ELSE part_id = sqlc.narg(part_id) END
  AND CASE WHEN sqlc.narg(status)::lot_status IS NULL THEN true
           ELSE status = sqlc.narg(status) END
  AND CASE WHEN sqlc.narg(production_line)::text IS NULL THEN true
           ELSE production_line = sqlc.narg(production_line) END
  AND CASE WHEN sqlc.narg(after_created_at)::timestamptz IS NULL THEN true
           ELSE (created_at, id) > (sqlc.narg(after_created_at), sqlc.narg(after_id)::uuid) END
ORDER BY created_at, id
LIMIT sqlc.arg(page_size);

-- name: CountLots :one
-- How many lots there are, optionally of one part and status.
-- plan: full-scan Without a filter this counts every row: the whole table is read.
SELECT count(*) FROM lots
WHERE (sqlc.narg(part_id)::uuid IS NULL OR part_id = sqlc.narg(part_id))
  AND (sqlc.narg(status)::lot_status IS NULL OR status = sqlc.narg(status));

-- name: LotsOfPartByStatus :many
-- The lots of one part that are in any of the given statuses, newest production first.
SELECT * FROM lots
WHERE part_id = sqlc.arg(part_id) AND status = ANY(sqlc.arg(statuses)::lot_status[])
ORDER BY production_date DESC, lot_number;

-- name: LotYield :one
-- Inspections of a lot that passed, failed or are undecided, and the share of decided
-- ones that passed (None while none is decided).
SELECT
    count(*) FILTER (WHERE i.passed) AS passed,
    count(*) FILTER (WHERE NOT i.passed) AS failed,
    count(*) FILTER (WHERE i.passed IS NULL) AS undecided,
    round(count(*) FILTER (WHERE i.passed)::numeric / nullif(count(i.passed), 0), 4)
        AS yield_ratio
FROM inspections i
WHERE i.lot_id = sqlc.arg(lot_id);
