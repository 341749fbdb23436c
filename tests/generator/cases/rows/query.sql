-- name: CastColumns :many
-- Casts of qualified columns: sqlc names them t_id and t_n, PostgreSQL id and n.
SELECT t.id::uuid, t.n::int FROM samples t ORDER BY t.n;

-- name: SameNames :many
-- Two columns named n: the fields n and n_2.
SELECT a.n, b.n FROM samples a JOIN samples b ON b.id = a.id ORDER BY a.n;

-- name: SameNameAliases :one
SELECT id AS name, note AS name FROM samples WHERE n = $1;

-- name: SuffixTaken :one
-- The second n cannot be n_2, which the third column is called.
SELECT n, n, n + 1 AS n_2 FROM samples WHERE n = $1;

-- name: Unnamed :one
-- Expressions without a name: the fields column_1 and column_3.
SELECT count(*) > 0, max(n), min(n) * 2 FROM samples;

-- name: AliasedNames :many
SELECT id AS "class", note AS "Note Text", n AS "N" FROM samples ORDER BY n;

-- name: AddSamples :batchone
INSERT INTO samples (n, note) VALUES ($1, $2) RETURNING id::text, n * 2;

-- name: SamplesOver :batchmany
SELECT s.n::bigint, s.note FROM samples s WHERE s.n > $1 ORDER BY s.n;

-- name: AddSamplesAndReturnWhatTheReportNeedsToKnowAboutEachOfThem :batchone
INSERT INTO samples (n, note, measured) VALUES ($1, $2, $3) RETURNING n, upper(note), measured;

-- name: SamplesOverTheThresholdWithTheirNotesAndMeasurementsForTheReport :batchmany
SELECT s.n::bigint, s.note, s.measured::numeric(8, 2) FROM samples s WHERE s.n > $1 ORDER BY s.n;
