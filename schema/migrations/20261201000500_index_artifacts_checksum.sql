-- ArtifactsByChecksum (the same file stored more than once) filtered artifacts
-- by checksum_sha256 with no index: a sequential scan of the whole table, which
-- the query-plan rules refuse (docs/query-plans.md). The index leads with the
-- checksum and carries the query's order (created_at, id), so it needs no sort.
--
-- Locking: CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, so writes
-- to artifacts go on while it builds. It cannot run in a transaction, so the
-- section runs without one (transaction:false) and holds that one statement
-- only (a multi-statement string is a transaction of its own); SET LOCAL has
-- no effect outside a transaction. An interrupted build leaves an INVALID
-- index: drop it and migrate again.

-- migrate:up transaction:false

-- A SET before the statement would make the string a transaction, which
-- CONCURRENTLY refuses (25001): the timeouts squawk asks for cannot be set here.
-- squawk-ignore-file require-lock-timeout, require-statement-timeout
CREATE INDEX CONCURRENTLY artifacts_checksum_sha256_created_at_id_idx
    ON artifacts (checksum_sha256, created_at, id);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY artifacts_checksum_sha256_created_at_id_idx;
