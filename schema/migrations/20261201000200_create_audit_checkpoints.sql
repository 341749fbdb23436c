-- Checkpoints of archived audit months: what `chip-quality-db audit archive`
-- records before it drops a month's partition, so the chain can be verified
-- from the newest checkpoint on and each archive file against its own.
--
-- One row per archived month: its first and last seq, the prev_hash of its
-- first entry (the link to the month before), the row_hash of its last entry
-- (the link to the month after), the row count, and the archive file's name
-- and SHA-256. The table is small and unpartitioned, append-only (UPDATE,
-- DELETE and TRUNCATE refused as for audit_log) and hash-chained itself:
-- checkpoint_hash = sha256(prev_hash || canonical JSON of the row), filled in
-- by a BEFORE INSERT trigger under a lock, so positions have no gaps.
--
-- The down migration refuses while any checkpoint exists and its month is
-- not back in audit_log: dropping the table would lose the only record of
-- what the archive files must contain.
--
-- Locking: creates a new table and functions; nothing existing is locked.

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

CREATE TABLE audit_checkpoints (
    ordinal bigint NOT NULL,
    month date NOT NULL,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    row_count bigint NOT NULL,
    first_prev_hash bytea NOT NULL,
    last_row_hash bytea NOT NULL,
    file_name text NOT NULL,
    file_sha256 bytea NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    archived_by text NOT NULL DEFAULT session_user,
    prev_hash bytea NOT NULL,
    checkpoint_hash bytea NOT NULL,
    CONSTRAINT audit_checkpoints_pkey PRIMARY KEY (ordinal),
    CONSTRAINT audit_checkpoints_month_key UNIQUE (month),
    CONSTRAINT audit_checkpoints_month_check CHECK (month = date_trunc('month', month)::date),
    CONSTRAINT audit_checkpoints_first_seq_check CHECK (first_seq >= 1),
    CONSTRAINT audit_checkpoints_row_count_check CHECK (row_count = last_seq - first_seq + 1),
    CONSTRAINT audit_checkpoints_first_prev_hash_check CHECK (octet_length(first_prev_hash) = 32),
    CONSTRAINT audit_checkpoints_last_row_hash_check CHECK (octet_length(last_row_hash) = 32),
    CONSTRAINT audit_checkpoints_file_name_check CHECK (file_name ~ '^audit_log_[0-9]{4}_[0-9]{2}\.csv\.gz$'),
    CONSTRAINT audit_checkpoints_file_sha256_check CHECK (octet_length(file_sha256) = 32),
    CONSTRAINT audit_checkpoints_prev_hash_check CHECK (octet_length(prev_hash) = 32),
    CONSTRAINT audit_checkpoints_checkpoint_hash_check CHECK (octet_length(checkpoint_hash) = 32)
);

COMMENT ON TABLE audit_checkpoints IS 'One row per archived month of audit_log: the seq range, its links to the chain before and after, and the archive file''s SHA-256. Append-only and hash-chained.';
COMMENT ON COLUMN audit_checkpoints.ordinal IS 'Order of the checkpoints: 1, 2, 3, ... without gaps.';
COMMENT ON COLUMN audit_checkpoints.month IS 'First day of the archived month (UTC).';
COMMENT ON COLUMN audit_checkpoints.first_seq IS 'seq of the month''s first audit entry.';
COMMENT ON COLUMN audit_checkpoints.last_seq IS 'seq of the month''s last audit entry.';
COMMENT ON COLUMN audit_checkpoints.row_count IS 'Number of audit entries of the month: last_seq - first_seq + 1.';
COMMENT ON COLUMN audit_checkpoints.first_prev_hash IS 'prev_hash of the month''s first entry: the row_hash of the entry before it.';
COMMENT ON COLUMN audit_checkpoints.last_row_hash IS 'row_hash of the month''s last entry: the next entry''s prev_hash.';
COMMENT ON COLUMN audit_checkpoints.file_name IS 'Name of the archive file (gzip-compressed CSV with a header row, as COPY writes it).';
COMMENT ON COLUMN audit_checkpoints.file_sha256 IS 'SHA-256 of the archive file as stored.';
COMMENT ON COLUMN audit_checkpoints.archived_at IS 'When the checkpoint was recorded.';
COMMENT ON COLUMN audit_checkpoints.archived_by IS 'Database login that recorded it.';
COMMENT ON COLUMN audit_checkpoints.prev_hash IS 'checkpoint_hash of the checkpoint before (32 zero bytes for the first).';
COMMENT ON COLUMN audit_checkpoints.checkpoint_hash IS 'sha256(prev_hash || canonical JSON of this checkpoint): audit_checkpoint_digest().';

CREATE FUNCTION audit_checkpoint_digest(
    prev_hash bytea, ordinal bigint, month date, first_seq bigint, last_seq bigint,
    row_count bigint, first_prev_hash bytea, last_row_hash bytea, file_name text,
    file_sha256 bytea, archived_at timestamptz, archived_by text
) RETURNS bytea
    LANGUAGE sql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, public
AS $$
    SELECT sha256(prev_hash || convert_to(jsonb_build_array(
        ordinal, to_char(month, 'YYYY-MM-DD'), first_seq, last_seq, row_count,
        encode(first_prev_hash, 'hex'), encode(last_row_hash, 'hex'), file_name,
        encode(file_sha256, 'hex'),
        to_char(archived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), archived_by
    )::text, 'UTF8'))
$$;
COMMENT ON FUNCTION audit_checkpoint_digest(bytea, bigint, date, bigint, bigint, bigint, bytea, bytea, text, bytea, timestamptz, text) IS 'The hash of one checkpoint chained to the one before; the insert trigger and the verifier both use it.';

-- Position, link and hash come from the table, never from the inserter.
CREATE FUNCTION audit_checkpoint_chain() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    last_position bigint;
    last_hash bytea;
BEGIN
    -- One inserter at a time: concurrent archive runs would fork the chain.
    PERFORM pg_advisory_xact_lock(hashtext('audit_checkpoints'));
    SELECT ordinal, checkpoint_hash INTO last_position, last_hash
      FROM audit_checkpoints ORDER BY ordinal DESC LIMIT 1;
    NEW.ordinal := coalesce(last_position, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
    NEW.archived_at := clock_timestamp();
    NEW.archived_by := session_user;
    NEW.checkpoint_hash := audit_checkpoint_digest(
        NEW.prev_hash, NEW.ordinal, NEW.month, NEW.first_seq, NEW.last_seq, NEW.row_count,
        NEW.first_prev_hash, NEW.last_row_hash, NEW.file_name, NEW.file_sha256,
        NEW.archived_at, NEW.archived_by);
    RETURN NEW;
END;
$$;

CREATE FUNCTION refuse_audit_checkpoint_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public
AS $$
BEGIN
    RAISE EXCEPTION 'audit_checkpoints is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation',
              SCHEMA = TG_TABLE_SCHEMA,
              TABLE = TG_TABLE_NAME,
              HINT = 'A checkpoint vouches for an archive file for good; it is never changed.';
END;
$$;

CREATE TRIGGER audit_checkpoints_chain
    BEFORE INSERT ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_chain();
CREATE TRIGGER audit_checkpoints_refuse_change
    BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_checkpoint_change();
CREATE TRIGGER audit_checkpoints_refuse_truncate
    BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_checkpoint_change();


-- The chain of one run of entries (a partition, or an archive file loaded into
-- a table): its extent and links, and the first entry that does not verify
-- (a gap in seq, a prev_hash that is not the row_hash before, or a row_hash
-- that is not the entry's contents). One pass, on the server.
CREATE FUNCTION audit_log_check_run(source regclass)
RETURNS TABLE (
    row_count bigint, first_seq bigint, last_seq bigint, first_prev_hash bytea,
    last_row_hash bytea, broken_seq bigint, problem text
)
    LANGUAGE plpgsql
    STABLE
    SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY EXECUTE format($walk$
        WITH walk AS (
            SELECT seq, prev_hash, row_hash,
                   audit_row_digest(prev_hash, seq, id, table_name, record_id, action,
                                    old_values, new_values, changed_fields, actor, session_id,
                                    txid, occurred_at, recorded_at) AS recomputed,
                   lag(seq) OVER (ORDER BY seq) AS seq_before,
                   lag(row_hash) OVER (ORDER BY seq) AS hash_before
              FROM %s
        ),
        extent AS (
            SELECT count(*) AS row_count, min(seq) AS first_seq, max(seq) AS last_seq FROM walk
        ),
        first_problem AS (
            SELECT seq,
                   CASE
                       WHEN seq_before IS NOT NULL AND seq <> seq_before + 1
                           THEN format('entry %%s is missing (next is %%s)', seq_before + 1, seq)
                       WHEN hash_before IS NOT NULL AND prev_hash <> hash_before
                           THEN 'prev_hash is not the row_hash of the entry before'
                       ELSE 'row_hash does not match the entry''s contents'
                   END AS problem
              FROM walk
             WHERE (seq_before IS NOT NULL AND seq <> seq_before + 1)
                OR (hash_before IS NOT NULL AND prev_hash <> hash_before)
                OR recomputed <> row_hash
             ORDER BY seq
             LIMIT 1
        )
        SELECT extent.row_count, extent.first_seq, extent.last_seq,
               (SELECT prev_hash FROM walk WHERE seq = extent.first_seq ORDER BY seq LIMIT 1),
               (SELECT row_hash FROM walk WHERE seq = extent.last_seq ORDER BY seq LIMIT 1),
               (SELECT seq FROM first_problem), (SELECT problem FROM first_problem)
          FROM extent
    $walk$, source);
END;
$$;
COMMENT ON FUNCTION audit_log_check_run(regclass) IS 'Extent, links and first broken entry of the audit entries in this table or partition: what archival, restore and verify compare with a checkpoint.';

-- What `audit archive` does last: detach and drop a month's partition, in one
-- transaction, only when a checkpoint of the month exists and the partition
-- holds exactly the entries it vouches for. One transaction, because DETACH
-- drops the row triggers cloned from audit_log: a detached table left behind
-- would be an unguarded copy. Plain DETACH (ACCESS EXCLUSIVE on audit_log,
-- briefly): CONCURRENTLY is not allowed while audit_log_default exists.
CREATE FUNCTION audit_log_drop_archived(month date) RETURNS text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    partition_name text := audit_log_partition_name(month);
    partition regclass := to_regclass(format('public.%I', partition_name));
    checkpoint audit_checkpoints;
    run record;
BEGIN
    SELECT * INTO checkpoint FROM audit_checkpoints AS c WHERE c.month = audit_log_drop_archived.month;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no checkpoint for audit month %: archive it before dropping it', to_char(month, 'YYYY-MM')
            USING ERRCODE = 'CQ005';
    END IF;
    IF partition IS NULL THEN
        RETURN NULL;  -- dropped already
    END IF;
    SELECT * INTO run FROM audit_log_check_run(partition);
    IF run.row_count IS DISTINCT FROM checkpoint.row_count
       OR run.first_seq IS DISTINCT FROM checkpoint.first_seq
       OR run.last_seq IS DISTINCT FROM checkpoint.last_seq
       OR run.last_row_hash IS DISTINCT FROM checkpoint.last_row_hash THEN
        RAISE EXCEPTION '% does not hold what its checkpoint vouches for (seq %..%, % rows): it holds seq %..%, % rows',
            partition_name, checkpoint.first_seq, checkpoint.last_seq, checkpoint.row_count,
            run.first_seq, run.last_seq, run.row_count
            USING ERRCODE = 'CQ006';
    END IF;
    IF EXISTS (SELECT FROM pg_inherits WHERE inhrelid = partition AND inhparent = 'public.audit_log'::regclass) THEN
        EXECUTE format('ALTER TABLE public.audit_log DETACH PARTITION %s', partition);
    END IF;
    EXECUTE format('DROP TABLE %s', partition);
    RETURN partition_name;
END;
$$;
COMMENT ON FUNCTION audit_log_drop_archived(date) IS 'Detaches and drops an archived month''s partition in one transaction, refusing unless its checkpoint exists and matches the rows.';

-- What `audit restore` does once the archive file is loaded into `source` and
-- checked: the month's partition, made from those rows and attached in one
-- transaction (ATTACH clones the row triggers; audit_log_guard_partition adds
-- grants and the TRUNCATE refusal), refusing rows that are not the
-- checkpoint's.
CREATE FUNCTION audit_log_restore_month(month date, source regclass) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    first_day date := date_trunc('month', month)::date;
    partition_name text := audit_log_partition_name(first_day);
    lower_bound timestamptz := first_day::timestamp AT TIME ZONE 'UTC';
    upper_bound timestamptz := (first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    checkpoint audit_checkpoints;
    run record;
BEGIN
    SELECT * INTO checkpoint FROM audit_checkpoints AS c WHERE c.month = first_day;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit month % was never archived: there is nothing to restore', to_char(first_day, 'YYYY-MM')
            USING ERRCODE = 'CQ005';
    END IF;
    IF to_regclass(format('public.%I', partition_name)) IS NOT NULL THEN
        RAISE EXCEPTION '% exists already: audit month % is not archived now', partition_name, to_char(first_day, 'YYYY-MM')
            USING ERRCODE = 'duplicate_table';
    END IF;
    SELECT * INTO run FROM audit_log_check_run(source);
    IF run.broken_seq IS NOT NULL
       OR run.row_count IS DISTINCT FROM checkpoint.row_count
       OR run.first_seq IS DISTINCT FROM checkpoint.first_seq
       OR run.last_seq IS DISTINCT FROM checkpoint.last_seq
       OR run.first_prev_hash IS DISTINCT FROM checkpoint.first_prev_hash
       OR run.last_row_hash IS DISTINCT FROM checkpoint.last_row_hash THEN
        RAISE EXCEPTION 'the rows to restore are not audit month % as its checkpoint vouches for it (seq %..%)',
            to_char(first_day, 'YYYY-MM'), checkpoint.first_seq, checkpoint.last_seq
            USING ERRCODE = 'CQ006';
    END IF;
    EXECUTE format(
        'CREATE TABLE public.%I (LIKE public.audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
        partition_name);
    EXECUTE format('INSERT INTO public.%I SELECT * FROM %s ORDER BY seq', partition_name, source);
    EXECUTE format('ALTER TABLE public.%I OWNER TO chipq_owner', partition_name);
    EXECUTE format(
        'ALTER TABLE public.audit_log ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)',
        partition_name, lower_bound, upper_bound);
    PERFORM audit_log_guard_partition(partition_name);
    RETURN run.row_count;
END;
$$;
COMMENT ON FUNCTION audit_log_restore_month(date, regclass) IS 'Makes an archived month''s partition again from rows loaded from its archive file, refusing rows that differ from its checkpoint.';

ALTER FUNCTION audit_log_check_run(regclass) OWNER TO chipq_owner;
ALTER FUNCTION audit_log_drop_archived(date) OWNER TO chipq_owner;
ALTER FUNCTION audit_log_restore_month(date, regclass) OWNER TO chipq_owner;
REVOKE ALL ON FUNCTION audit_log_drop_archived(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_log_restore_month(date, regclass) FROM PUBLIC;

ALTER TABLE audit_checkpoints OWNER TO chipq_owner;
ALTER FUNCTION audit_checkpoint_digest(bytea, bigint, date, bigint, bigint, bigint, bytea, bytea, text, bytea, timestamptz, text) OWNER TO chipq_owner;
ALTER FUNCTION audit_checkpoint_chain() OWNER TO chipq_owner;
ALTER FUNCTION refuse_audit_checkpoint_change() OWNER TO chipq_owner;
REVOKE ALL ON audit_checkpoints FROM PUBLIC;
GRANT SELECT ON audit_checkpoints TO chipq_auditor_ro;

-- migrate:down

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

DO $refuse$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(to_char(month, 'YYYY-MM'), ', ' ORDER BY month) INTO missing
      FROM audit_checkpoints
     WHERE to_regclass(format('public.%I', audit_log_partition_name(month))) IS NULL;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'audit months % are archived: restore them (chip-quality-db audit restore) before rolling back', missing
            USING ERRCODE = 'object_in_use';
    END IF;
END
$refuse$;

DROP FUNCTION audit_log_restore_month(date, regclass);
DROP FUNCTION audit_log_drop_archived(date);
DROP FUNCTION audit_log_check_run(regclass);
DROP TABLE audit_checkpoints;
DROP FUNCTION refuse_audit_checkpoint_change();
DROP FUNCTION audit_checkpoint_chain();
DROP FUNCTION audit_checkpoint_digest(bytea, bigint, date, bigint, bigint, bigint, bytea, bytea, text, bytea, timestamptz, text);
