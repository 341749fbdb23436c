-- The query result cache hears every committed write, whoever made it (issue 27):
-- a statement-level trigger on each business table sends
-- pg_notify('chip_quality_cache', <table name>). PostgreSQL delivers a
-- notification only when its transaction commits, and collapses the same
-- payload sent twice in one transaction, so a transaction announces each table
-- it wrote once, at commit, and a rolled-back one announces nothing. The
-- runtime's listening connection (src/chip_quality_db/_cache.py) advances the
-- table's version; cached results that read it are no longer served.
--
-- Statement level, not row level: one call per statement, whatever the number
-- of rows (the cost is measured in docs/caching.md). TRUNCATE announces too.
-- audit_log is the partitioned parent: statements on it (the audit trigger's
-- inserts) announce it. The analytics materialized views have no triggers: their
-- refresh through analytics_refresh() writes their row of analytics_refreshes in
-- the same transaction, and every read of a view reads that table too.
--
-- Locking: CREATE TRIGGER takes SHARE ROW EXCLUSIVE on its table (reads go on,
-- writes wait) for a catalog change that reads no rows, so a big table costs
-- what a small one does; the locks are held until this migration commits, and a
-- lock it cannot have within 5 s makes it give up (make migrate retries).

-- migrate:up
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

CREATE FUNCTION notify_cache_of_write() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('chip_quality_cache', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION notify_cache_of_write() IS 'Statement-level trigger: announces a write to the table at commit (channel chip_quality_cache, payload the table name) for the query result cache.';

CREATE TRIGGER parts_notify_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON parts
    FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_of_write();
CREATE TRIGGER lots_notify_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON lots
    FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_of_write();
CREATE TRIGGER inspections_notify_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON inspections
    FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_of_write();
CREATE TRIGGER defects_notify_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON defects
    FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_of_write();
CREATE TRIGGER inference_jobs_notify_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON inference_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_of_write();
CREATE TRIGGER artifacts_notify_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON artifacts
    FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_of_write();
CREATE TRIGGER reports_notify_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON reports
    FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_of_write();
CREATE TRIGGER idempotency_keys_notify_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON idempotency_keys
    FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_of_write();
CREATE TRIGGER audit_log_notify_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_of_write();
CREATE TRIGGER audit_checkpoints_notify_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_of_write();
CREATE TRIGGER analytics_refreshes_notify_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON analytics_refreshes
    FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_of_write();

-- migrate:down
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

DROP TRIGGER analytics_refreshes_notify_cache ON analytics_refreshes;
DROP TRIGGER audit_checkpoints_notify_cache ON audit_checkpoints;
DROP TRIGGER audit_log_notify_cache ON audit_log;
DROP TRIGGER idempotency_keys_notify_cache ON idempotency_keys;
DROP TRIGGER reports_notify_cache ON reports;
DROP TRIGGER artifacts_notify_cache ON artifacts;
DROP TRIGGER inference_jobs_notify_cache ON inference_jobs;
DROP TRIGGER defects_notify_cache ON defects;
DROP TRIGGER inspections_notify_cache ON inspections;
DROP TRIGGER lots_notify_cache ON lots;
DROP TRIGGER parts_notify_cache ON parts;
DROP FUNCTION notify_cache_of_write();
