-- Rollout test (tests/rollout): a foreign key on a populated column, step 1 of 2.
--
-- Safe form: NOT VALID. The constraint is added without reading the table:
-- SHARE ROW EXCLUSIVE on defects and inspections for milliseconds, and from the
-- commit on every insert and update is checked. 29990101000500 validates the rows
-- already there under a lock that blocks no reads or writes. (defects.inspection_id
-- already has its foreign key in this schema; the test adds a second one so that
-- the validation reads a million real references: its locks and scan are those of
-- any new foreign key.)
--
-- Lock order: the services write an inspection, then its defects, in one
-- transaction. ALTER TABLE defects ... REFERENCES inspections locks defects first,
-- then inspections: against such a transaction that is a deadlock, which
-- PostgreSQL breaks after deadlock_timeout by failing one side (measured: three
-- workload transactions failed and every audited writer waited 2 s). So the
-- migration takes both locks first, in the services' order.

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

LOCK TABLE inspections, defects IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE defects ADD CONSTRAINT defects_inspection_id_rollout_fkey
    FOREIGN KEY (inspection_id) REFERENCES inspections (id) ON DELETE CASCADE NOT VALID;

-- migrate:down

SET LOCAL lock_timeout = '5s';

ALTER TABLE defects DROP CONSTRAINT defects_inspection_id_rollout_fkey;
