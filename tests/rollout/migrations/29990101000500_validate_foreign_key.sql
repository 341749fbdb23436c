-- Rollout test (tests/rollout): a foreign key on a populated column, step 2 of 2.
--
-- VALIDATE CONSTRAINT reads every row of defects and looks its inspection up,
-- under SHARE UPDATE EXCLUSIVE on defects (reads and writes go on; only DDL,
-- VACUUM and ANALYZE wait) and ROW SHARE on inspections. A migration of its own,
-- so its scan does not run under the ACCESS EXCLUSIVE lock of a schema change.

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '10min';

ALTER TABLE defects VALIDATE CONSTRAINT defects_inspection_id_rollout_fkey;

-- migrate:down

SET LOCAL lock_timeout = '5s';

ALTER TABLE defects DROP CONSTRAINT defects_inspection_id_rollout_fkey;
ALTER TABLE defects ADD CONSTRAINT defects_inspection_id_rollout_fkey
    FOREIGN KEY (inspection_id) REFERENCES inspections (id) ON DELETE CASCADE NOT VALID;
