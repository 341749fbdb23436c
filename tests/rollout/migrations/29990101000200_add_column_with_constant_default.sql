-- Rollout test (tests/rollout): add a NOT NULL column with a constant default.
--
-- Safe form: since PostgreSQL 11 a constant default is stored in the catalog and
-- read into old rows as they are read: no table rewrite, ACCESS EXCLUSIVE on
-- defects for milliseconds. (A volatile default such as now() or
-- gen_random_uuid() rewrites the table under that lock: add the column nullable,
-- backfill in batches, then SET DEFAULT and a CHECK NOT VALID + VALIDATE.) The
-- previous release's inserts omit the column and get the default.

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

ALTER TABLE defects ADD COLUMN source text NOT NULL DEFAULT 'aoi';

-- migrate:down

SET LOCAL lock_timeout = '5s';

ALTER TABLE defects DROP COLUMN source;
