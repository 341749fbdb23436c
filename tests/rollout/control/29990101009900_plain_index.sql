-- Rollout test (tests/rollout): the control. What squawk now refuses, applied under
-- the same workload, to show that the measurement catches a blocking migration.
--
-- A plain CREATE INDEX holds SHARE on defects while it reads and sorts the whole
-- table: reads go on, every insert and update of defects waits. A transaction that
-- wrote an inspection first (an audited write, holding the audit chain's head)
-- waits too, and with it every audited write of every table.

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '10min';

CREATE INDEX defects_detected_by_plain_idx ON defects (detected_by, created_at);

-- migrate:down

SET LOCAL lock_timeout = '5s';

DROP INDEX defects_detected_by_plain_idx;
