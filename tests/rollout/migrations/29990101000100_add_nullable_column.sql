-- Rollout test (tests/rollout): add a nullable column.
--
-- Safe form: a nullable column without a default is a catalog change only. ALTER
-- TABLE takes ACCESS EXCLUSIVE on lots for milliseconds; lock_timeout bounds how
-- long it (and the traffic queued behind it) waits for a long transaction.

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

ALTER TABLE lots ADD COLUMN hold_reason text;

-- migrate:down

SET LOCAL lock_timeout = '5s';

ALTER TABLE lots DROP COLUMN hold_reason;
