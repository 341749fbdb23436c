-- Rollout test (tests/rollout): an index on an existing, busy table.
--
-- Safe form: CREATE INDEX CONCURRENTLY, alone in a transaction:false migration
-- (dbmate sends a section as one string, which PostgreSQL runs as one implicit
-- transaction unless it holds a single statement; a concurrent build refuses a
-- transaction). It takes SHARE UPDATE EXCLUSIVE: reads and writes go on while it
-- reads the table twice and waits out the transactions older than each phase.
-- Its lock_timeout comes from `make migrate` (the session's). If it is
-- interrupted it leaves an INVALID index: `make migrate` reports it, to be
-- dropped with DROP INDEX CONCURRENTLY before running the migration again.

-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY defects_detected_by_created_at_idx ON defects (detected_by, created_at);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY defects_detected_by_created_at_idx;
