-- Validates the clean-name CHECKs that 20261207000100_clean_names added NOT VALID:
-- PostgreSQL reads every row of each table once and marks the constraint valid
-- (the planner and pg_dump then treat it as a full constraint).
--
-- Locking: VALIDATE CONSTRAINT takes SHARE UPDATE EXCLUSIVE on its table: reads
-- and writes go on during the scan; only DDL, VACUUM and ANALYZE of that table
-- wait. A migration file of its own, so a transaction of its own: the ACCESS
-- EXCLUSIVE locks of 20261207000100 were released at its commit, before this
-- scan starts. Its time grows with the tables (one regex per name per row):
-- hence the longer statement timeout.
--
-- If existing rows fail: the migration stops with a check_violation naming the
-- constraint, and nothing of it is applied (20261207000100 stays applied, so new
-- writes are already checked). Find the rows that fail with:
--
--   SELECT 'parts' AS t, id::text, 'part_name' AS c, part_name AS v FROM parts WHERE NOT name_is_clean(part_name)
--   UNION ALL SELECT 'parts', id::text, 'manufacturer', manufacturer FROM parts WHERE NOT name_is_clean(manufacturer)
--   UNION ALL SELECT 'lots', id::text, 'production_line', production_line FROM lots WHERE NOT name_is_clean(production_line)
--   UNION ALL SELECT 'lots', id::text, 'supplier', supplier FROM lots WHERE NOT name_is_clean(supplier)
--   UNION ALL SELECT 'inspections', id::text, 'station_id', station_id FROM inspections WHERE NOT name_is_clean(station_id)
--   UNION ALL SELECT 'inspections', id::text, 'operator_id', operator_id FROM inspections WHERE NOT name_is_clean(operator_id)
--   UNION ALL SELECT 'defects', id::text, 'detected_by', detected_by FROM defects WHERE NOT name_is_clean(detected_by)
--   UNION ALL SELECT 'defects', id::text, 'reviewed_by', reviewed_by FROM defects WHERE NOT name_is_clean(reviewed_by)
--   UNION ALL SELECT 'inference_jobs', id::text, 'model_name', model_name FROM inference_jobs WHERE NOT name_is_clean(model_name)
--   UNION ALL SELECT 'inference_jobs', id::text, 'model_version', model_version FROM inference_jobs WHERE NOT name_is_clean(model_version)
--   UNION ALL SELECT 'inference_jobs', id::text, 'worker_id', worker_id FROM inference_jobs WHERE NOT name_is_clean(worker_id)
--   UNION ALL SELECT 'reports', id::text, 'title', title FROM reports WHERE NOT name_is_clean(title)
--   UNION ALL SELECT 'reports', id::text, 'generated_by', generated_by FROM reports WHERE NOT name_is_clean(generated_by)
--   UNION ALL SELECT 'idempotency_keys', key, 'actor', actor FROM idempotency_keys WHERE NOT name_is_clean(actor);
--
-- then correct each with its owner (the values are names people typed: decide
-- what each should read, do not strip characters blindly), as an audited write:
-- in chip_quality_db.transaction(..., actor=...) or after
-- set_config('app.actor', '<who>', true). Until then such a row cannot be
-- updated in any column (a CHECK applies to the whole new row). Then run
-- `make migrate` again. Old idempotency keys can be deleted instead, once
-- their retry window has passed.

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '10min';

ALTER TABLE parts VALIDATE CONSTRAINT parts_part_name_check;
ALTER TABLE parts VALIDATE CONSTRAINT parts_manufacturer_check;
ALTER TABLE lots VALIDATE CONSTRAINT lots_production_line_check;
ALTER TABLE lots VALIDATE CONSTRAINT lots_supplier_check;
ALTER TABLE inspections VALIDATE CONSTRAINT inspections_station_id_check;
ALTER TABLE inspections VALIDATE CONSTRAINT inspections_operator_id_check;
ALTER TABLE defects VALIDATE CONSTRAINT defects_detected_by_check;
ALTER TABLE defects VALIDATE CONSTRAINT defects_reviewed_by_check;
ALTER TABLE inference_jobs VALIDATE CONSTRAINT inference_jobs_model_name_check;
ALTER TABLE inference_jobs VALIDATE CONSTRAINT inference_jobs_model_version_check;
ALTER TABLE inference_jobs VALIDATE CONSTRAINT inference_jobs_worker_id_check;
ALTER TABLE reports VALIDATE CONSTRAINT reports_title_check;
ALTER TABLE reports VALIDATE CONSTRAINT reports_generated_by_check;
ALTER TABLE idempotency_keys VALIDATE CONSTRAINT idempotency_keys_actor_check;

-- migrate:down

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

-- Back to the state 20261207000100 leaves: the same constraints, not validated.
-- A catalog change under ACCESS EXCLUSIVE for milliseconds; no row is read.
ALTER TABLE parts
    DROP CONSTRAINT parts_part_name_check,
    ADD CONSTRAINT parts_part_name_check
        CHECK (name_is_clean(part_name) AND char_length(part_name) <= 200) NOT VALID,
    DROP CONSTRAINT parts_manufacturer_check,
    ADD CONSTRAINT parts_manufacturer_check
        CHECK (name_is_clean(manufacturer) AND char_length(manufacturer) <= 200) NOT VALID;

ALTER TABLE lots
    DROP CONSTRAINT lots_production_line_check,
    ADD CONSTRAINT lots_production_line_check
        CHECK (name_is_clean(production_line) AND char_length(production_line) <= 64) NOT VALID,
    DROP CONSTRAINT lots_supplier_check,
    ADD CONSTRAINT lots_supplier_check
        CHECK (name_is_clean(supplier) AND char_length(supplier) <= 200) NOT VALID;

ALTER TABLE inspections
    DROP CONSTRAINT inspections_station_id_check,
    ADD CONSTRAINT inspections_station_id_check
        CHECK (name_is_clean(station_id) AND char_length(station_id) <= 64) NOT VALID,
    DROP CONSTRAINT inspections_operator_id_check,
    ADD CONSTRAINT inspections_operator_id_check
        CHECK (name_is_clean(operator_id) AND char_length(operator_id) <= 64) NOT VALID;

ALTER TABLE defects
    DROP CONSTRAINT defects_detected_by_check,
    ADD CONSTRAINT defects_detected_by_check
        CHECK (name_is_clean(detected_by) AND char_length(detected_by) <= 200) NOT VALID,
    DROP CONSTRAINT defects_reviewed_by_check,
    ADD CONSTRAINT defects_reviewed_by_check
        CHECK (name_is_clean(reviewed_by) AND char_length(reviewed_by) <= 200) NOT VALID;

ALTER TABLE inference_jobs
    DROP CONSTRAINT inference_jobs_model_name_check,
    ADD CONSTRAINT inference_jobs_model_name_check
        CHECK (name_is_clean(model_name) AND char_length(model_name) <= 200) NOT VALID,
    DROP CONSTRAINT inference_jobs_model_version_check,
    ADD CONSTRAINT inference_jobs_model_version_check
        CHECK (name_is_clean(model_version) AND char_length(model_version) <= 64) NOT VALID,
    DROP CONSTRAINT inference_jobs_worker_id_check,
    ADD CONSTRAINT inference_jobs_worker_id_check
        CHECK (name_is_clean(worker_id) AND char_length(worker_id) <= 200) NOT VALID;

ALTER TABLE reports
    DROP CONSTRAINT reports_title_check,
    ADD CONSTRAINT reports_title_check
        CHECK (name_is_clean(title) AND char_length(title) <= 200) NOT VALID,
    DROP CONSTRAINT reports_generated_by_check,
    ADD CONSTRAINT reports_generated_by_check
        CHECK (name_is_clean(generated_by) AND char_length(generated_by) <= 200) NOT VALID;

ALTER TABLE idempotency_keys
    DROP CONSTRAINT idempotency_keys_actor_check,
    ADD CONSTRAINT idempotency_keys_actor_check
        CHECK (name_is_clean(actor) AND char_length(actor) <= 200) NOT VALID;
