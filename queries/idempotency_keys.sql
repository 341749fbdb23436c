-- name: ClaimIdempotencyKey :one
-- Take a key for this transaction's write; None when a committed write holds it already.
-- A concurrent attempt with the same key waits here until the first one ends.
INSERT INTO idempotency_keys (key, actor) VALUES (sqlc.arg(key), sqlc.arg(actor))
ON CONFLICT (key) DO NOTHING
RETURNING key;

-- name: StoreIdempotentResult :exec
-- Keep what the write returned, for retries.
UPDATE idempotency_keys SET result = sqlc.narg(result)::jsonb WHERE key = sqlc.arg(key);

-- name: GetIdempotencyKey :one
-- The committed write that holds this key, with its result, or None.
SELECT * FROM idempotency_keys WHERE key = sqlc.arg(key);

-- name: DeleteIdempotencyKeysBefore :execrows
-- Forget keys older than the retry window; returns how many.
DELETE FROM idempotency_keys WHERE created_at < sqlc.arg(before);
