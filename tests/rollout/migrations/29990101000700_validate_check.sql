-- Rollout test (tests/rollout): a CHECK constraint on a populated table, step 2 of 2.
--
-- VALIDATE CONSTRAINT reads every row of defects under SHARE UPDATE EXCLUSIVE:
-- reads and writes go on during the scan.

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '10min';

ALTER TABLE defects VALIDATE CONSTRAINT defects_confidence_rollout_check;

-- migrate:down

SET LOCAL lock_timeout = '5s';

ALTER TABLE defects DROP CONSTRAINT defects_confidence_rollout_check;
ALTER TABLE defects ADD CONSTRAINT defects_confidence_rollout_check
    CHECK (confidence IS NULL OR confidence >= 0.5) NOT VALID;
