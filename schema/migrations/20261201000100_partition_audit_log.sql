-- audit_log becomes a table partitioned by month of recorded_at (native RANGE
-- partitioning), so old months can be archived and dropped whole (see
-- 20261201000200) and recent ones stay small to write and verify.
--
-- * Partitions are named audit_log_YYYY_MM and cover [first of the month,
--   first of the next) in UTC. audit_log_create_partition(month) makes one
--   (owned by chipq_owner, the parent's grants, the TRUNCATE guard);
--   `chip-quality-db audit maintain` calls it for this month and the next
--   ones, daily from cron. This migration makes only the months that hold
--   rows, so a fresh database (and schema.sql) does not depend on the date.
-- * audit_log_default catches any row no month partition covers: an audited
--   write never fails because cron stopped. audit_log_create_partition moves
--   such rows into their month when it makes it. The price: DETACH PARTITION
--   CONCURRENTLY is not allowed while a default partition exists, so
--   archival detaches under a short ACCESS EXCLUSIVE lock (see 000200).
-- * Row triggers of the parent (the append-only refusal, the chain's head
--   advance) are cloned onto every partition, existing or later; statement
--   triggers are not, so each partition gets its own TRUNCATE refusal.
-- * A unique index of a partitioned table must contain the partition key:
--   the primary key becomes (id, recorded_at) and seq's key (seq,
--   recorded_at). seq stays unique by construction (appenders hold the chain
--   head's lock) and `audit verify` checks it; PostgreSQL cannot enforce it
--   across partitions.
-- * recorded_at now never decreases along the chain (the audit trigger takes
--   the later of clock_timestamp() and the previous entry's), so each month
--   holds one unbroken run of seq. The trigger finds the chain's end from the
--   head row (which gains last_recorded_at) and the partitions from there on,
--   not by probing every partition.
--
-- Data: every row is copied with its seq and hashes unchanged; the chain
-- verifies as before. The down migration copies the rows back into a plain
-- table (refused by 000200's down while archived months are not restored).
--
-- Locking: ACCESS EXCLUSIVE on audit_log and audit_chain_head from the start
-- to commit: audited writes and audit reads wait for the copy (50,000 rows:
-- 0.92 s up, 0.41 s down, here). Run it in a quiet window; lock_timeout 5s so
-- it fails rather than queueing behind a long transaction.

-- migrate:up

-- The new table's constraints are created with it and checked as rows are
-- copied under the lock held from the start; the head's new column has a
-- constant default. Rules for busy tables do not apply.
-- The renames move the old table and its indexes aside inside this one
-- transaction, under the lock taken first: no client sees the old names go.
-- squawk-ignore-file adding-not-nullable-field, adding-required-field, constraint-missing-not-valid, disallowed-unique-constraint, ban-drop-table, renaming-table, renaming-object

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '30min';

LOCK TABLE audit_chain_head, audit_log IN ACCESS EXCLUSIVE MODE;

-- The old table steps aside: its index names are free for the new one's.
ALTER TABLE audit_log RENAME TO audit_log_unpartitioned;
ALTER INDEX audit_log_pkey RENAME TO audit_log_unpartitioned_pkey;
ALTER INDEX audit_log_seq_key RENAME TO audit_log_unpartitioned_seq_key;
ALTER INDEX audit_log_table_name_record_id_occurred_at_idx
    RENAME TO audit_log_unpartitioned_table_name_record_id_occurred_at_idx;
ALTER INDEX audit_log_occurred_at_idx RENAME TO audit_log_unpartitioned_occurred_at_idx;
ALTER INDEX audit_log_recorded_at_id_idx RENAME TO audit_log_unpartitioned_recorded_at_id_idx;
ALTER INDEX audit_log_actor_occurred_at_idx RENAME TO audit_log_unpartitioned_actor_occurred_at_idx;

CREATE TABLE audit_log (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    table_name text NOT NULL,
    record_id uuid NOT NULL,
    action audit_action NOT NULL,
    old_values jsonb,
    new_values jsonb,
    changed_fields text[],
    actor text NOT NULL,
    session_id text,
    txid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    occurred_at timestamptz NOT NULL DEFAULT now(),
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    seq bigint NOT NULL,
    prev_hash bytea NOT NULL,
    row_hash bytea NOT NULL,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id, recorded_at),
    CONSTRAINT audit_log_seq_recorded_at_key UNIQUE (seq, recorded_at),
    CONSTRAINT audit_log_table_name_check CHECK (table_name ~ '^[a-z_][a-z0-9_]*$'),
    CONSTRAINT audit_log_actor_check CHECK (btrim(actor) <> '' AND char_length(actor) <= 200),
    CONSTRAINT audit_log_session_id_check CHECK (
        btrim(session_id) <> '' AND char_length(session_id) <= 200
    ),
    CONSTRAINT audit_log_old_values_check CHECK (
        (old_values IS NULL) = (action = 'insert')
        AND (old_values IS NULL OR jsonb_typeof(old_values) = 'object')
    ),
    CONSTRAINT audit_log_new_values_check CHECK (
        (new_values IS NULL) = (action = 'delete')
        AND (new_values IS NULL OR jsonb_typeof(new_values) = 'object')
    ),
    CONSTRAINT audit_log_changed_fields_check CHECK (
        CASE
            WHEN action = 'update' THEN coalesce(cardinality(changed_fields), 0) > 0
            ELSE changed_fields IS NULL
        END
    ),
    CONSTRAINT audit_log_prev_hash_check CHECK (octet_length(prev_hash) = 32),
    CONSTRAINT audit_log_row_hash_check CHECK (octet_length(row_hash) = 32)
) PARTITION BY RANGE (recorded_at);

COMMENT ON TABLE audit_log IS 'Append-only trail of every insert, update and delete of the business tables, written by triggers in the changing transaction (21 CFR Part 11). Partitioned by month of recorded_at (audit_log_YYYY_MM, audit_log_default).';
COMMENT ON COLUMN audit_log.id IS 'Generated by the database; unique (the primary key is (id, recorded_at): a partitioned table''s keys hold its partition key).';
COMMENT ON COLUMN audit_log.table_name IS 'Table of the changed row, e.g. lots.';
COMMENT ON COLUMN audit_log.record_id IS 'Primary key (id) of the changed row.';
COMMENT ON COLUMN audit_log.action IS 'What happened to the row: insert, update or delete.';
COMMENT ON COLUMN audit_log.old_values IS 'The whole row before the change as a JSON object; NULL for inserts.';
COMMENT ON COLUMN audit_log.new_values IS 'The whole row after the change as a JSON object; NULL for deletes.';
COMMENT ON COLUMN audit_log.changed_fields IS 'Sorted names of the columns an update changed; NULL for inserts and deletes.';
COMMENT ON COLUMN audit_log.actor IS 'Who made the change: the app.actor setting of the transaction, else db:<database login>.';
COMMENT ON COLUMN audit_log.session_id IS 'The app.session_id setting of the transaction (e.g. the API request or user session), NULL when unset.';
COMMENT ON COLUMN audit_log.txid IS 'Id of the writing transaction: the rows of one transaction share it.';
COMMENT ON COLUMN audit_log.occurred_at IS 'Start time of the changing transaction (now()): all rows of a transaction share it.';
COMMENT ON COLUMN audit_log.recorded_at IS 'Wall-clock time the audit row was written (clock_timestamp(), never before the previous entry''s), ordering changes within a transaction; the partition key.';
COMMENT ON COLUMN audit_log.seq IS 'Position in the hash chain: 1, 2, 3, ... without gaps.';
COMMENT ON COLUMN audit_log.prev_hash IS 'row_hash of the entry before (32 zero bytes for the first).';
COMMENT ON COLUMN audit_log.row_hash IS 'sha256(prev_hash || canonical JSON of this entry): audit_row_digest().';

-- The indexes of the plain table, now partitioned indexes: each partition gets its own.
CREATE INDEX audit_log_table_name_record_id_occurred_at_idx
    ON audit_log (table_name, record_id, occurred_at);
CREATE INDEX audit_log_occurred_at_idx ON audit_log (occurred_at);
CREATE INDEX audit_log_recorded_at_id_idx ON audit_log (recorded_at, id);
CREATE INDEX audit_log_actor_occurred_at_idx ON audit_log (actor, occurred_at);

ALTER TABLE audit_log OWNER TO chipq_owner;
REVOKE ALL ON audit_log FROM PUBLIC;
GRANT SELECT ON audit_log TO chipq_app_rw, chipq_auditor_ro;

CREATE FUNCTION audit_log_partition_name(month date) RETURNS text
    LANGUAGE sql
    IMMUTABLE STRICT PARALLEL SAFE
    RETURN 'audit_log_' || to_char(month, 'YYYY_MM');
COMMENT ON FUNCTION audit_log_partition_name(date) IS 'Name of the audit_log partition of the month of this date: audit_log_YYYY_MM.';

-- Partitions get what a partition does not inherit from its parent: an owner
-- (the function's: chipq_owner), grants (the parent's, checked by
-- tests/audit/test_roles.py), and the TRUNCATE refusal (a statement trigger,
-- not cloned). Row triggers and indexes come from ATTACH PARTITION.
CREATE FUNCTION audit_log_guard_partition(partition_name text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    EXECUTE format('REVOKE ALL ON public.%I FROM PUBLIC', partition_name);
    EXECUTE format('GRANT SELECT ON public.%I TO chipq_app_rw, chipq_auditor_ro', partition_name);
    EXECUTE format(
        'CREATE TRIGGER audit_log_refuse_truncate BEFORE TRUNCATE ON public.%I'
        ' FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_log_change()',
        partition_name);
END;
$$;
COMMENT ON FUNCTION audit_log_guard_partition(text) IS 'Gives a new audit_log partition the parent''s grants and its own TRUNCATE refusal (statement triggers are not cloned to partitions).';
ALTER FUNCTION audit_log_guard_partition(text) OWNER TO chipq_owner;
REVOKE ALL ON FUNCTION audit_log_guard_partition(text) FROM PUBLIC;

-- Makes the month's partition unless it exists. ATTACH, not CREATE TABLE ...
-- PARTITION OF: it takes SHARE UPDATE EXCLUSIVE on audit_log, so audited
-- writers and readers go on (plus ACCESS EXCLUSIVE on the default partition
-- while it is checked for rows of the month, which is empty unless cron
-- stopped). Rows that did land in the default partition move into their
-- month in the same transaction, unchanged (hashes included). SECURITY
-- DEFINER so the partition belongs to chipq_owner whoever runs maintenance.
CREATE FUNCTION audit_log_create_partition(month date) RETURNS text
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    first_day date := date_trunc('month', month)::date;
    partition_name text := audit_log_partition_name(first_day);
    lower_bound timestamptz := first_day::timestamp AT TIME ZONE 'UTC';
    upper_bound timestamptz := (first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    stray bigint;
BEGIN
    IF month IS NULL THEN
        RAISE EXCEPTION 'audit_log_create_partition: month is NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- Two maintenance runs at once would race to create the same table.
    PERFORM pg_advisory_xact_lock(hashtext('audit_log partitions'));
    IF to_regclass(format('public.%I', partition_name)) IS NOT NULL THEN
        IF NOT EXISTS (SELECT FROM pg_inherits
                        WHERE inhrelid = format('public.%I', partition_name)::regclass
                          AND inhparent = 'public.audit_log'::regclass) THEN
            RAISE EXCEPTION '% exists but is not a partition of audit_log', partition_name
                USING ERRCODE = 'CQ004',
                      HINT = 'An archive or restore of that month did not finish: rerun it.';
        END IF;
        RETURN NULL;
    END IF;
    EXECUTE format(
        'CREATE TABLE public.%I (LIKE public.audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
        partition_name);
    SELECT count(*) INTO stray FROM audit_log_default
     WHERE recorded_at >= lower_bound AND recorded_at < upper_bound;
    IF stray > 0 THEN
        EXECUTE format(
            'INSERT INTO public.%I SELECT * FROM audit_log_default'
            ' WHERE recorded_at >= $1 AND recorded_at < $2', partition_name)
            USING lower_bound, upper_bound;
        -- The owner's deliberate move, not a change: the rows go on unchanged.
        ALTER TABLE audit_log_default DISABLE TRIGGER audit_log_refuse_change;
        DELETE FROM audit_log_default WHERE recorded_at >= lower_bound AND recorded_at < upper_bound;
        ALTER TABLE audit_log_default ENABLE TRIGGER audit_log_refuse_change;
        RAISE NOTICE 'moved % rows of % from audit_log_default into %', stray, first_day, partition_name;
    END IF;
    EXECUTE format(
        'ALTER TABLE public.audit_log ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)',
        partition_name, lower_bound, upper_bound);
    PERFORM audit_log_guard_partition(partition_name);
    RETURN partition_name;
END;
$$;
COMMENT ON FUNCTION audit_log_create_partition(date) IS 'Makes the audit_log partition of the month of this date (moving in its rows from audit_log_default) and returns its name; NULL when it exists. Idempotent; run by `chip-quality-db audit maintain`.';
-- Owned by chipq_owner (so are the partitions it makes); its member
-- chipq_migrator runs maintenance.
ALTER FUNCTION audit_log_create_partition(date) OWNER TO chipq_owner;
REVOKE ALL ON FUNCTION audit_log_create_partition(date) FROM PUBLIC;

-- The net for rows no month covers. Created by dynamic SQL like the month
-- partitions, so sqlc (which reads these migrations) does not take a
-- partition for a table of its own and emit a row model for it.
DO $default$
BEGIN
    EXECUTE 'CREATE TABLE public.audit_log_default PARTITION OF public.audit_log DEFAULT';
END
$default$;
ALTER TABLE audit_log_default OWNER TO chipq_owner;
SELECT audit_log_guard_partition('audit_log_default');

-- A partition for each month that holds rows, then the rows, oldest first.
SELECT audit_log_create_partition(month::date)
  FROM (SELECT DISTINCT date_trunc('month', recorded_at AT TIME ZONE 'UTC') AS month
          FROM audit_log_unpartitioned) AS months
 ORDER BY month;
INSERT INTO audit_log (
    id, table_name, record_id, action, old_values, new_values, changed_fields, actor,
    session_id, txid, occurred_at, recorded_at, seq, prev_hash, row_hash
)
SELECT id, table_name, record_id, action, old_values, new_values, changed_fields, actor,
       session_id, txid, occurred_at, recorded_at, seq, prev_hash, row_hash
  FROM audit_log_unpartitioned
 ORDER BY seq;

DO $check$
BEGIN
    IF (SELECT count(*) FROM audit_log) <> (SELECT count(*) FROM audit_log_unpartitioned) THEN
        RAISE EXCEPTION 'audit_log: the partitioned copy lost rows';
    END IF;
END
$check$;

DROP TABLE audit_log_unpartitioned;

-- Created after the copy: the copied rows are no new changes. Row triggers
-- on the parent are cloned onto every partition, now and later.
CREATE TRIGGER audit_log_refuse_change
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_log_change();
CREATE TRIGGER audit_log_refuse_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_log_change();

ALTER TABLE audit_chain_head ADD COLUMN last_recorded_at timestamptz NOT NULL DEFAULT '-infinity';
COMMENT ON COLUMN audit_chain_head.last_recorded_at IS 'recorded_at of the entry at seq (-infinity before the first): where the audit trigger starts looking for the chain''s end.';
UPDATE audit_chain_head AS head
   SET last_recorded_at = entry.recorded_at
  FROM audit_log AS entry
 WHERE head.id = 1 AND entry.seq = head.seq;

-- At commit the head moves to the chain's end, once: the first deferred event
-- of the transaction finds the end (its highest seq; any later entry has a
-- recorded_at at least this one's, so the bound prunes older partitions) and
-- moves the head there; the transaction's other events then see the head at
-- or past their entry and return after one primary-key read of the head. The
-- version before asked audit_log for the highest seq at every event: on the
-- partitioned table that lookup was a quarter of an audited bulk insert's
-- time (2,000 rows: 273 ms against 240 ms with 7 partitions, plain table 221
-- ms). ORDER BY seq DESC LIMIT 1, not NOT EXISTS (... seq > NEW.seq): the
-- generic plan of the latter was a bitmap scan that collects every later
-- entry of the transaction, so a 20,000-row INSERT ... SELECT took 8 s at
-- commit.
CREATE OR REPLACE FUNCTION audit_chain_advance() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
    SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    end_seq bigint;
    end_hash bytea;
    end_recorded timestamptz;
BEGIN
    IF (SELECT seq FROM audit_chain_head WHERE id = 1) >= NEW.seq THEN
        RETURN NULL;
    END IF;
    SELECT seq, row_hash, recorded_at INTO end_seq, end_hash, end_recorded
      FROM audit_log
     WHERE recorded_at >= NEW.recorded_at
     ORDER BY seq DESC
     LIMIT 1;
    UPDATE audit_chain_head
       SET seq = end_seq, last_hash = end_hash, last_recorded_at = end_recorded
     WHERE id = 1;
    RETURN NULL;
END;
$$;

ALTER FUNCTION audit_log_partition_name(date) OWNER TO chipq_owner;

CREATE CONSTRAINT TRIGGER audit_log_advance_chain
    AFTER INSERT ON audit_log
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION audit_chain_advance();

-- The audit trigger: finds the chain's end without probing every partition.
-- force_generic_plan (here and in audit_chain_advance): with custom plans,
-- PostgreSQL re-planned each lookup of audit_log for every row, once per
-- partition: 5,000 audited inserts in one statement took 772 ms plus 1,351 ms
-- at commit; with one generic plan, pruned at executor start from the
-- parameters, 369 ms and 47 ms.
CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
    SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    old_row jsonb;
    new_row jsonb;
    changed text[];
    acting_role text;
    entry_actor text;
    entry_id uuid := gen_random_uuid();
    entry_txid bigint := pg_current_xact_id()::text::bigint;
    entry_occurred timestamptz := now();
    entry_recorded timestamptz;
    entry_session text := nullif(btrim(current_setting('app.session_id', true)), '');
    head_seq bigint;
    head_hash bytea;
    head_recorded timestamptz;
    end_seq bigint;
    end_hash bytea;
    end_recorded timestamptz;
    entry_hash bytea;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF new_row = old_row THEN
            RETURN NULL;  -- nothing changed: nothing to record
        END IF;
        SELECT array_agg(field.key ORDER BY field.key)
          INTO changed
          FROM jsonb_each(new_row) AS field
         WHERE field.value IS DISTINCT FROM old_row -> field.key;
    END IF;

    -- Inside SECURITY DEFINER current_user is the owner: the caller's role is
    -- SET ROLE's, or else the login's.
    acting_role := coalesce(nullif(current_setting('role'), 'none'), session_user);
    -- NFC, so that one name typed two ways is one actor; then the rule of
    -- audit_actor_is_readable (blank is handled below: the migrator's exemption).
    entry_actor := normalize(nullif(btrim(current_setting('app.actor', true)), ''), NFC);
    IF entry_actor IS NOT NULL AND NOT audit_actor_is_readable(entry_actor) THEN
        RAISE EXCEPTION 'app.actor names nobody a reviewer can read: it holds control, format or separator characters'
            USING ERRCODE = 'CQ002',
                  TABLE = TG_TABLE_NAME,
                  HINT = 'An actor needs a visible character and no control, format (zero-width, bidi) or separator characters but the space.';
    END IF;
    IF entry_actor IS NULL THEN
        IF NOT pg_has_role(acting_role, 'chipq_migrator', 'MEMBER') THEN
            RAISE EXCEPTION 'app.actor is not set: a write to % must name who makes it', TG_TABLE_NAME
                USING ERRCODE = 'CQ001',
                      TABLE = TG_TABLE_NAME,
                      HINT = 'Run it in chip_quality_db.transaction(..., actor=...), or SELECT set_config(''app.actor'', ''<user>'', true) first.';
        END IF;
        entry_actor := 'db:' || acting_role;
    END IF;

    -- The lock serialises appenders (a no-op for a transaction holding it
    -- already); under it, the row with the highest seq is the chain's end.
    -- The head row, locked, is the chain's end as of the last commit; rows this
    -- transaction appended since come after it. recorded_at never decreases along
    -- the chain (clamped below), so those rows lie at or after the head's
    -- recorded_at: the bound lets the planner skip every older partition instead
    -- of probing each one's index for the highest seq.
    SELECT seq, last_hash, last_recorded_at INTO head_seq, head_hash, head_recorded
      FROM audit_chain_head WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit_chain_head has no row: the audit chain cannot be appended to'
            USING ERRCODE = 'CQ003',
                  HINT = 'The chain head was deleted by its owner; restore it before writing.';
    END IF;
    SELECT seq, row_hash, recorded_at INTO end_seq, end_hash, end_recorded
      FROM audit_log
     WHERE recorded_at >= head_recorded AND seq > head_seq
     ORDER BY seq DESC
     LIMIT 1;
    IF FOUND THEN
        head_seq := end_seq;
        head_hash := end_hash;
        head_recorded := end_recorded;
    END IF;
    head_seq := head_seq + 1;
    -- Never before the entry it follows, even if the clock steps back: so each
    -- month's partition holds one unbroken run of seq, which archival relies on.
    entry_recorded := greatest(clock_timestamp(), head_recorded);
    entry_hash := audit_row_digest(
        head_hash, head_seq, entry_id, TG_TABLE_NAME, (coalesce(new_row, old_row) ->> 'id')::uuid,
        lower(TG_OP)::audit_action, old_row, new_row, changed, entry_actor, entry_session,
        entry_txid, entry_occurred, entry_recorded);
    INSERT INTO audit_log (
        id, table_name, record_id, action, old_values, new_values, changed_fields,
        actor, session_id, txid, occurred_at, recorded_at, seq, prev_hash, row_hash
    ) VALUES (
        entry_id, TG_TABLE_NAME, (coalesce(new_row, old_row) ->> 'id')::uuid,
        lower(TG_OP)::audit_action, old_row, new_row, changed, entry_actor, entry_session,
        entry_txid, entry_occurred, entry_recorded, head_seq, head_hash, entry_hash
    );
    RETURN NULL;
END;
$$;


-- migrate:down

-- squawk lints the up section only; the down rebuilds the plain table of
-- 20261125000700 under the same lock and copies every row back.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '30min';

LOCK TABLE audit_chain_head, audit_log IN ACCESS EXCLUSIVE MODE;

ALTER TABLE audit_log RENAME TO audit_log_partitioned;
ALTER INDEX audit_log_pkey RENAME TO audit_log_partitioned_pkey;
ALTER INDEX audit_log_seq_recorded_at_key RENAME TO audit_log_partitioned_seq_recorded_at_key;
ALTER INDEX audit_log_table_name_record_id_occurred_at_idx
    RENAME TO audit_log_partitioned_table_name_record_id_occurred_at_idx;
ALTER INDEX audit_log_occurred_at_idx RENAME TO audit_log_partitioned_occurred_at_idx;
ALTER INDEX audit_log_recorded_at_id_idx RENAME TO audit_log_partitioned_recorded_at_id_idx;
ALTER INDEX audit_log_actor_occurred_at_idx RENAME TO audit_log_partitioned_actor_occurred_at_idx;

CREATE TABLE audit_log (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    table_name text NOT NULL,
    record_id uuid NOT NULL,
    action audit_action NOT NULL,
    old_values jsonb,
    new_values jsonb,
    changed_fields text[],
    actor text NOT NULL,
    session_id text,
    txid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    occurred_at timestamptz NOT NULL DEFAULT now(),
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    seq bigint NOT NULL,
    prev_hash bytea NOT NULL,
    row_hash bytea NOT NULL,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id),
    CONSTRAINT audit_log_seq_key UNIQUE (seq),
    CONSTRAINT audit_log_table_name_check CHECK (table_name ~ '^[a-z_][a-z0-9_]*$'),
    CONSTRAINT audit_log_actor_check CHECK (btrim(actor) <> '' AND char_length(actor) <= 200),
    CONSTRAINT audit_log_session_id_check CHECK (
        btrim(session_id) <> '' AND char_length(session_id) <= 200
    ),
    CONSTRAINT audit_log_old_values_check CHECK (
        (old_values IS NULL) = (action = 'insert')
        AND (old_values IS NULL OR jsonb_typeof(old_values) = 'object')
    ),
    CONSTRAINT audit_log_new_values_check CHECK (
        (new_values IS NULL) = (action = 'delete')
        AND (new_values IS NULL OR jsonb_typeof(new_values) = 'object')
    ),
    CONSTRAINT audit_log_changed_fields_check CHECK (
        CASE
            WHEN action = 'update' THEN coalesce(cardinality(changed_fields), 0) > 0
            ELSE changed_fields IS NULL
        END
    ),
    CONSTRAINT audit_log_prev_hash_check CHECK (octet_length(prev_hash) = 32),
    CONSTRAINT audit_log_row_hash_check CHECK (octet_length(row_hash) = 32)
);
COMMENT ON TABLE audit_log IS 'Append-only trail of every insert, update and delete of the business tables, written by triggers in the changing transaction (21 CFR Part 11).';
COMMENT ON COLUMN audit_log.id IS 'Primary key, generated by the database.';
COMMENT ON COLUMN audit_log.table_name IS 'Table of the changed row, e.g. lots.';
COMMENT ON COLUMN audit_log.record_id IS 'Primary key (id) of the changed row.';
COMMENT ON COLUMN audit_log.action IS 'What happened to the row: insert, update or delete.';
COMMENT ON COLUMN audit_log.old_values IS 'The whole row before the change as a JSON object; NULL for inserts.';
COMMENT ON COLUMN audit_log.new_values IS 'The whole row after the change as a JSON object; NULL for deletes.';
COMMENT ON COLUMN audit_log.changed_fields IS 'Sorted names of the columns an update changed; NULL for inserts and deletes.';
COMMENT ON COLUMN audit_log.actor IS 'Who made the change: the app.actor setting of the transaction, else db:<database login>.';
COMMENT ON COLUMN audit_log.session_id IS 'The app.session_id setting of the transaction (e.g. the API request or user session), NULL when unset.';
COMMENT ON COLUMN audit_log.txid IS 'Id of the writing transaction: the rows of one transaction share it.';
COMMENT ON COLUMN audit_log.occurred_at IS 'Start time of the changing transaction (now()): all rows of a transaction share it.';
COMMENT ON COLUMN audit_log.recorded_at IS 'Wall-clock time the audit row was written (clock_timestamp()), ordering changes within a transaction.';
COMMENT ON COLUMN audit_log.seq IS 'Position in the hash chain: 1, 2, 3, ... without gaps.';
COMMENT ON COLUMN audit_log.prev_hash IS 'row_hash of the entry before (32 zero bytes for the first).';
COMMENT ON COLUMN audit_log.row_hash IS 'sha256(prev_hash || canonical JSON of this entry): audit_row_digest().';

INSERT INTO audit_log (
    id, table_name, record_id, action, old_values, new_values, changed_fields, actor,
    session_id, txid, occurred_at, recorded_at, seq, prev_hash, row_hash
)
SELECT id, table_name, record_id, action, old_values, new_values, changed_fields, actor,
       session_id, txid, occurred_at, recorded_at, seq, prev_hash, row_hash
  FROM audit_log_partitioned
 ORDER BY seq;

DROP TABLE audit_log_partitioned;

CREATE INDEX audit_log_table_name_record_id_occurred_at_idx
    ON audit_log (table_name, record_id, occurred_at);
CREATE INDEX audit_log_occurred_at_idx ON audit_log (occurred_at);
CREATE INDEX audit_log_recorded_at_id_idx ON audit_log (recorded_at, id);
CREATE INDEX audit_log_actor_occurred_at_idx ON audit_log (actor, occurred_at);

CREATE TRIGGER audit_log_refuse_change
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_log_change();
CREATE TRIGGER audit_log_refuse_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_log_change();

-- The functions as 20261125000700 and 20261130000900 left them.
CREATE OR REPLACE FUNCTION audit_chain_advance() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF NEW.seq = (SELECT max(seq) FROM audit_log) THEN
        UPDATE audit_chain_head SET seq = NEW.seq, last_hash = NEW.row_hash WHERE id = 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER audit_log_advance_chain
    AFTER INSERT ON audit_log
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION audit_chain_advance();

CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    old_row jsonb;
    new_row jsonb;
    changed text[];
    acting_role text;
    entry_actor text;
    entry_id uuid := gen_random_uuid();
    entry_txid bigint := pg_current_xact_id()::text::bigint;
    entry_occurred timestamptz := now();
    entry_recorded timestamptz;
    entry_session text := nullif(btrim(current_setting('app.session_id', true)), '');
    head_seq bigint;
    head_hash bytea;
    entry_hash bytea;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF new_row = old_row THEN
            RETURN NULL;  -- nothing changed: nothing to record
        END IF;
        SELECT array_agg(field.key ORDER BY field.key)
          INTO changed
          FROM jsonb_each(new_row) AS field
         WHERE field.value IS DISTINCT FROM old_row -> field.key;
    END IF;

    -- Inside SECURITY DEFINER current_user is the owner: the caller's role is
    -- SET ROLE's, or else the login's.
    acting_role := coalesce(nullif(current_setting('role'), 'none'), session_user);
    -- NFC, so that one name typed two ways is one actor; then the rule of
    -- audit_actor_is_readable (blank is handled below: the migrator's exemption).
    entry_actor := normalize(nullif(btrim(current_setting('app.actor', true)), ''), NFC);
    IF entry_actor IS NOT NULL AND NOT audit_actor_is_readable(entry_actor) THEN
        RAISE EXCEPTION 'app.actor names nobody a reviewer can read: it holds control, format or separator characters'
            USING ERRCODE = 'CQ002',
                  TABLE = TG_TABLE_NAME,
                  HINT = 'An actor needs a visible character and no control, format (zero-width, bidi) or separator characters but the space.';
    END IF;
    IF entry_actor IS NULL THEN
        IF NOT pg_has_role(acting_role, 'chipq_migrator', 'MEMBER') THEN
            RAISE EXCEPTION 'app.actor is not set: a write to % must name who makes it', TG_TABLE_NAME
                USING ERRCODE = 'CQ001',
                      TABLE = TG_TABLE_NAME,
                      HINT = 'Run it in chip_quality_db.transaction(..., actor=...), or SELECT set_config(''app.actor'', ''<user>'', true) first.';
        END IF;
        entry_actor := 'db:' || acting_role;
    END IF;

    -- The lock serialises appenders (a no-op for a transaction holding it
    -- already); under it, the row with the highest seq is the chain's end.
    PERFORM 1 FROM audit_chain_head WHERE id = 1 FOR UPDATE;
    SELECT seq, row_hash INTO head_seq, head_hash
      FROM audit_log ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        head_seq := 0;
        head_hash := '\x0000000000000000000000000000000000000000000000000000000000000000';
    END IF;
    head_seq := head_seq + 1;
    entry_recorded := clock_timestamp();
    entry_hash := audit_row_digest(
        head_hash, head_seq, entry_id, TG_TABLE_NAME, (coalesce(new_row, old_row) ->> 'id')::uuid,
        lower(TG_OP)::audit_action, old_row, new_row, changed, entry_actor, entry_session,
        entry_txid, entry_occurred, entry_recorded);
    INSERT INTO audit_log (
        id, table_name, record_id, action, old_values, new_values, changed_fields,
        actor, session_id, txid, occurred_at, recorded_at, seq, prev_hash, row_hash
    ) VALUES (
        entry_id, TG_TABLE_NAME, (coalesce(new_row, old_row) ->> 'id')::uuid,
        lower(TG_OP)::audit_action, old_row, new_row, changed, entry_actor, entry_session,
        entry_txid, entry_occurred, entry_recorded, head_seq, head_hash, entry_hash
    );
    RETURN NULL;
END;
$$;

ALTER TABLE audit_chain_head DROP COLUMN last_recorded_at;

DROP FUNCTION audit_log_create_partition(date);
DROP FUNCTION audit_log_guard_partition(text);
DROP FUNCTION audit_log_partition_name(date);

ALTER TABLE audit_log OWNER TO chipq_owner;
REVOKE ALL ON audit_log FROM PUBLIC;
GRANT SELECT ON audit_log TO chipq_app_rw, chipq_auditor_ro;
