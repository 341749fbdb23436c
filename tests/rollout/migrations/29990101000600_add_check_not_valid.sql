-- Rollout test (tests/rollout): a CHECK constraint on a populated table, step 1 of 2.
--
-- Safe form: NOT VALID, a catalog change under ACCESS EXCLUSIVE on defects for
-- milliseconds; new rows are checked from the commit on, old ones by
-- 29990101000700. (A CHECK added valid scans the whole table under that lock.)

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

ALTER TABLE defects ADD CONSTRAINT defects_confidence_rollout_check
    CHECK (confidence IS NULL OR confidence >= 0.5) NOT VALID;

-- migrate:down

SET LOCAL lock_timeout = '5s';

ALTER TABLE defects DROP CONSTRAINT defects_confidence_rollout_check;
