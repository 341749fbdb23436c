-- name: CreatePart :one
-- Register a new part; part_number must be unique.
INSERT INTO parts (
    part_number, part_name, part_type, revision, manufacturer, description,
    specifications, tolerance_requirements
) VALUES (
    sqlc.arg(part_number), sqlc.arg(part_name), sqlc.arg(part_type),
    coalesce(sqlc.narg(revision)::text, 'A'), sqlc.narg(manufacturer), sqlc.narg(description),
    coalesce(sqlc.narg(specifications)::jsonb, '{}'),
    coalesce(sqlc.narg(tolerance_requirements)::jsonb, '{}')
)
RETURNING *;

-- name: GetPart :one
-- The part with this id, or None.
SELECT * FROM parts WHERE id = sqlc.arg(part_id);

-- name: GetPartByNumber :one
-- The part with this part number, or None.
-- @cache 60s
SELECT * FROM parts WHERE part_number = sqlc.arg(part_number);

-- name: UpdatePart :one
-- Change some fields of a part; fields passed as None stay as they are.
-- Returns None when no part has this id.
UPDATE parts
SET part_name = coalesce(sqlc.narg(part_name), part_name),
    part_type = coalesce(sqlc.narg(part_type), part_type),
    revision = coalesce(sqlc.narg(revision), revision),
    manufacturer = coalesce(sqlc.narg(manufacturer), manufacturer),
    description = coalesce(sqlc.narg(description), description),
    specifications = coalesce(sqlc.narg(specifications)::jsonb, specifications),
    tolerance_requirements = coalesce(
        sqlc.narg(tolerance_requirements)::jsonb, tolerance_requirements
    ),
    is_active = coalesce(sqlc.narg(is_active), is_active)
WHERE id = sqlc.arg(part_id)
RETURNING *;

-- name: DeletePart :execrows
-- Delete a part that has no lots (a part with lots is refused: retire it instead).
-- With expected_updated_at, only while the part's updated_at is still that version
-- (an HTTP If-Match), checked by this statement itself.
-- Returns the number of rows deleted, 0 or 1.
DELETE FROM parts
WHERE id = sqlc.arg(part_id)
  AND (sqlc.narg(expected_updated_at)::timestamptz IS NULL
       OR updated_at = sqlc.narg(expected_updated_at));

-- name: ListParts :many
-- One page of parts in creation order, optionally of one type and activity.
-- Keyset pagination: pass the last row's created_at and id to get the next page.
SELECT * FROM parts
WHERE (sqlc.narg(part_type)::part_type IS NULL OR part_type = sqlc.narg(part_type))
  AND (sqlc.narg(is_active)::boolean IS NULL OR is_active = sqlc.narg(is_active))
  AND (
      sqlc.narg(after_created_at)::timestamptz IS NULL
      OR (created_at, id) > (sqlc.narg(after_created_at), sqlc.narg(after_id)::uuid)
  )
ORDER BY created_at, id
LIMIT sqlc.arg(page_size);

-- name: CountParts :one
-- How many parts there are, optionally of one type and activity.
-- plan: full-scan Without a filter this counts every row: the whole table is read.
SELECT count(*) FROM parts
WHERE (sqlc.narg(part_type)::part_type IS NULL OR part_type = sqlc.narg(part_type))
  AND (sqlc.narg(is_active)::boolean IS NULL OR is_active = sqlc.narg(is_active));

-- name: SearchPartsBySpecification :many
-- Parts whose specifications contain the given JSON object, e.g. {"layers": 8}
-- (served by the GIN index parts_specifications_idx).
WITH matching AS MATERIALIZED (
    -- The matches are collected first (MATERIALIZED): left to itself the planner
    -- walks parts_part_number_key hoping for an early match, which reads the whole
    -- table when the specification is rare; through the GIN index a search costs
    -- what it finds, then the matches are sorted.
    SELECT * FROM parts WHERE specifications @> sqlc.arg(specification)::jsonb
)
SELECT * FROM matching
ORDER BY part_number
LIMIT sqlc.arg(page_size);
