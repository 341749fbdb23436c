-- Rollout test (tests/rollout): rename by expand/contract, step 3 of 3: contract.
--
-- Applied only once no running release reads or writes output_location (the
-- services switched to output_uri after step 2; `make compat BASE=<the release
-- still running>` lists any that does). Dropping the column is a catalog change
-- under ACCESS EXCLUSIVE on reports for milliseconds.

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

DROP TRIGGER reports_output_uri_sync ON reports;
-- The trigger's own function: nothing else calls it.
-- squawk-ignore ban-drop-function
DROP FUNCTION reports_output_uri_sync();
-- The contract step itself: no release that reads the column runs any more.
-- squawk-ignore ban-drop-column
ALTER TABLE reports DROP COLUMN output_location;

-- migrate:down

SET LOCAL lock_timeout = '5s';

ALTER TABLE reports ADD COLUMN output_location text;
UPDATE reports SET output_location = output_uri;
