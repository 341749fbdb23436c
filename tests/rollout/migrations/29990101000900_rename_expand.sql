-- Rollout test (tests/rollout): rename reports.output_location to output_uri by
-- expand/contract, step 1 of 3: expand.
--
-- The new column is added nullable (a catalog change), and a trigger keeps the
-- two in step on every insert and update, both ways: the release that writes
-- output_location and the one that writes output_uri run side by side during the
-- deployment, and each reads what the other wrote. CREATE TRIGGER takes SHARE ROW
-- EXCLUSIVE on reports for milliseconds (writes wait, reads go on).
-- Step 2 (29990101001000) copies the existing rows in batches; then the services
-- switch to output_uri; step 3 (29990101001100) drops the old column once no
-- release that reads it runs (make compat checks exactly that).

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

ALTER TABLE reports ADD COLUMN output_uri text;

CREATE FUNCTION reports_output_uri_sync() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.output_uri := coalesce(NEW.output_uri, NEW.output_location);
        NEW.output_location := coalesce(NEW.output_location, NEW.output_uri);
    ELSIF NEW.output_uri IS DISTINCT FROM OLD.output_uri THEN
        NEW.output_location := NEW.output_uri;
    ELSIF NEW.output_location IS DISTINCT FROM OLD.output_location THEN
        NEW.output_uri := NEW.output_location;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER reports_output_uri_sync
    BEFORE INSERT OR UPDATE ON reports
    FOR EACH ROW EXECUTE FUNCTION reports_output_uri_sync();

-- migrate:down

SET LOCAL lock_timeout = '5s';

DROP TRIGGER reports_output_uri_sync ON reports;
DROP FUNCTION reports_output_uri_sync();
ALTER TABLE reports DROP COLUMN output_uri;
