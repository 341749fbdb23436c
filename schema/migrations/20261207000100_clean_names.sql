-- One meaning of a clean name, in the database first (issue 23).
--
-- What: the human-entered name and identifier columns (parts.part_name,
-- parts.manufacturer, lots.production_line, lots.supplier, inspections.station_id,
-- inspections.operator_id, defects.detected_by, defects.reviewed_by,
-- inference_jobs.model_name, .model_version, .worker_id, reports.title,
-- reports.generated_by, idempotency_keys.actor) were checked with
-- `btrim(col) <> ''`, which strips spaces only: a name of nothing but a tab, a
-- no-break or ideographic space or a line separator was stored, and so were
-- zero-width, control and bidi-override characters ('\u200b', 'abc\u202edef',
-- '\u0007bell'), while the API schemas trimmed with str.strip(). Each CHECK
-- now calls name_is_clean(col): a visible character, and no control (Cc), format
-- (Cf) or separator (Zs, Zl, Zp) character but the plain space; that holds every
-- Unicode whitespace but the space, so a name blank under any whitespace is
-- refused too. The character class is exactly audit_actor_is_readable's
-- (20261130000900, Unicode 14; tests/audit/test_attribution.py holds the SQL
-- functions and chip_quality_db._actor together). Inner and outer plain spaces
-- stay allowed, as the database allowed them before: nothing is trimmed, a name
-- is stored as sent.
-- The length limits and the constraint names stay the same, so error mapping
-- and the generated constants keep their names. The API schemas no longer trim
-- on their own: this is the one rule (README, "Using it from a service").
-- The body keeps the single SQL-standard RETURN form: the generator inlines it.
-- Left alone: audit_log.actor (partitioned, written only by the audit trigger,
-- which applies audit_actor_is_readable) and free text (error_message,
-- output_location, notes, descriptions).
--
-- Locking: one ALTER TABLE per table, each taking ACCESS EXCLUSIVE on its table
-- for a catalog change only (DROP CONSTRAINT, ADD CONSTRAINT ... NOT VALID:
-- no row is read), held to the commit at the end of this migration
-- (milliseconds); lock_timeout 5s makes the migration fail rather than queue
-- writers behind a long-running transaction (a table whose lock is waited for
-- keeps the tables altered before it locked for those 5 s at most, then all is
-- rolled back; run it again in a quieter moment). From the commit on, every insert
-- and update is checked by the new rule; rows already stored are checked by
-- 20261207000200_validate_clean_names, in a transaction of its own, under a lock
-- that blocks neither reads nor writes.

-- migrate:up

-- Each constraint dropped is added again in the same statement, under its own
-- name, with a rule that implies the old one: no guarantee is lost, at no moment.
-- squawk-ignore-file ban-drop-constraint

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';
-- Every table's lock first, each table before the tables it references: a service's
-- insert holds its table and then reads the referenced row (an inspection's insert
-- checks its lot). Taken parent first, as the ALTERs below would, the lots lock
-- waited for the inspections lock held by CreateInspection, which waited for lots:
-- `make test-rollout` saw that deadlock twice under coverage (40P01).
LOCK TABLE idempotency_keys, reports, defects, inference_jobs, inspections, lots, parts
    IN ACCESS EXCLUSIVE MODE;

CREATE FUNCTION name_is_clean(name text) RETURNS boolean
    LANGUAGE sql
    IMMUTABLE STRICT PARALLEL SAFE
    RETURN btrim(name, ' ') <> ''
       AND name !~ '[\u0001-\u001F\u007F-\u00A0\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890-\u0891\u08E2\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u2066-\u206F\u3000\uFEFF\uFFF9-\uFFFB\U000110BD\U000110CD\U00013430-\U00013438\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0001\U000E0020-\U000E007F]';

COMMENT ON FUNCTION name_is_clean(text) IS 'Whether a name has a visible character and no control, format or separator character but the space (the class of audit_actor_is_readable, Unicode 14).';

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

-- migrate:down

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

-- The previous rule, validated again (a scan of each table under its ACCESS
-- EXCLUSIVE lock): every clean name passes it, so nothing can fail.
ALTER TABLE parts
    DROP CONSTRAINT parts_part_name_check,
    ADD CONSTRAINT parts_part_name_check
        CHECK (btrim(part_name) <> '' AND char_length(part_name) <= 200),
    DROP CONSTRAINT parts_manufacturer_check,
    ADD CONSTRAINT parts_manufacturer_check
        CHECK (btrim(manufacturer) <> '' AND char_length(manufacturer) <= 200);

ALTER TABLE lots
    DROP CONSTRAINT lots_production_line_check,
    ADD CONSTRAINT lots_production_line_check
        CHECK (btrim(production_line) <> '' AND char_length(production_line) <= 64),
    DROP CONSTRAINT lots_supplier_check,
    ADD CONSTRAINT lots_supplier_check
        CHECK (btrim(supplier) <> '' AND char_length(supplier) <= 200);

ALTER TABLE inspections
    DROP CONSTRAINT inspections_station_id_check,
    ADD CONSTRAINT inspections_station_id_check
        CHECK (btrim(station_id) <> '' AND char_length(station_id) <= 64),
    DROP CONSTRAINT inspections_operator_id_check,
    ADD CONSTRAINT inspections_operator_id_check
        CHECK (btrim(operator_id) <> '' AND char_length(operator_id) <= 64);

ALTER TABLE defects
    DROP CONSTRAINT defects_detected_by_check,
    ADD CONSTRAINT defects_detected_by_check
        CHECK (btrim(detected_by) <> '' AND char_length(detected_by) <= 200),
    DROP CONSTRAINT defects_reviewed_by_check,
    ADD CONSTRAINT defects_reviewed_by_check
        CHECK (btrim(reviewed_by) <> '' AND char_length(reviewed_by) <= 200);

ALTER TABLE inference_jobs
    DROP CONSTRAINT inference_jobs_model_name_check,
    ADD CONSTRAINT inference_jobs_model_name_check
        CHECK (btrim(model_name) <> '' AND char_length(model_name) <= 200),
    DROP CONSTRAINT inference_jobs_model_version_check,
    ADD CONSTRAINT inference_jobs_model_version_check
        CHECK (btrim(model_version) <> '' AND char_length(model_version) <= 64),
    DROP CONSTRAINT inference_jobs_worker_id_check,
    ADD CONSTRAINT inference_jobs_worker_id_check
        CHECK (btrim(worker_id) <> '' AND char_length(worker_id) <= 200);

ALTER TABLE reports
    DROP CONSTRAINT reports_title_check,
    ADD CONSTRAINT reports_title_check
        CHECK (btrim(title) <> '' AND char_length(title) <= 200),
    DROP CONSTRAINT reports_generated_by_check,
    ADD CONSTRAINT reports_generated_by_check
        CHECK (btrim(generated_by) <> '' AND char_length(generated_by) <= 200);

ALTER TABLE idempotency_keys
    DROP CONSTRAINT idempotency_keys_actor_check,
    ADD CONSTRAINT idempotency_keys_actor_check
        CHECK (btrim(actor) <> '' AND char_length(actor) <= 200);

DROP FUNCTION name_is_clean(text);
