\restrict dbmate

-- Dumped from database version 18.6
-- Dumped by pg_dump version 18.6

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: artifact_type; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.artifact_type AS ENUM (
    'image',
    'video',
    'point_cloud',
    'waveform',
    'thermal_map',
    'model_output',
    'log',
    'report',
    'other'
);


--
-- Name: TYPE artifact_type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.artifact_type IS 'Kind of stored file an artifact row describes.';


--
-- Name: audit_action; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.audit_action AS ENUM (
    'insert',
    'update',
    'delete'
);


--
-- Name: TYPE audit_action; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.audit_action IS 'Row operation recorded in the audit log.';


--
-- Name: defect_review_status; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.defect_review_status AS ENUM (
    'unreviewed',
    'confirmed',
    'false_positive',
    'reclassified'
);


--
-- Name: TYPE defect_review_status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.defect_review_status IS 'Outcome of a human review of a detected defect: unreviewed until someone looks at it; reclassified when the reviewer changed its type or severity.';


--
-- Name: defect_severity; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.defect_severity AS ENUM (
    'low',
    'medium',
    'high',
    'critical'
);


--
-- Name: TYPE defect_severity; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.defect_severity IS 'Impact of a defect, from cosmetic (low) to unit-killing or safety-relevant (critical).';


--
-- Name: defect_type; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.defect_type AS ENUM (
    'scratch',
    'void',
    'contamination',
    'particle',
    'misalignment',
    'short',
    'open',
    'bridging',
    'crack',
    'burn',
    'delamination',
    'discoloration',
    'missing_component',
    'solder_defect',
    'corrosion',
    'warpage',
    'other'
);


--
-- Name: TYPE defect_type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.defect_type IS 'Classification of a detected defect; other when none fits (describe it in the defect''s description).';


--
-- Name: inference_job_status; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.inference_job_status AS ENUM (
    'pending',
    'running',
    'completed',
    'failed',
    'cancelled'
);


--
-- Name: TYPE inference_job_status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.inference_job_status IS 'Lifecycle of a machine-learning inference job: pending in the queue, running on a worker, then completed, failed or cancelled.';


--
-- Name: inspection_status; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.inspection_status AS ENUM (
    'pending',
    'in_progress',
    'completed',
    'failed',
    'cancelled'
);


--
-- Name: TYPE inspection_status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.inspection_status IS 'Progress of an inspection run. failed means the run itself could not finish (equipment or process error) and gave no verdict; a part that fails inspection is a completed inspection with passed = false.';


--
-- Name: inspection_type; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.inspection_type AS ENUM (
    'visual',
    'electrical',
    'thermal',
    'dimensional',
    'functional',
    'optical'
);


--
-- Name: TYPE inspection_type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.inspection_type IS 'Method of a quality inspection.';


--
-- Name: lot_status; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.lot_status AS ENUM (
    'active',
    'completed',
    'quarantined',
    'released',
    'rejected'
);


--
-- Name: TYPE lot_status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.lot_status IS 'Where a production lot stands: active while produced and inspected, completed when production ends, quarantined while on hold, then released to customers or rejected.';


--
-- Name: part_type; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.part_type AS ENUM (
    'pcb',
    'semiconductor',
    'component',
    'assembly',
    'wafer'
);


--
-- Name: TYPE part_type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.part_type IS 'Kind of part a part number describes.';


--
-- Name: report_format; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.report_format AS ENUM (
    'pdf',
    'csv',
    'json',
    'xlsx',
    'html'
);


--
-- Name: TYPE report_format; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.report_format IS 'File format a report is rendered in.';


--
-- Name: report_status; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.report_status AS ENUM (
    'pending',
    'generating',
    'completed',
    'failed'
);


--
-- Name: TYPE report_status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.report_status IS 'Progress of a report generation request.';


--
-- Name: report_type; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.report_type AS ENUM (
    'lot_summary',
    'defect_pareto',
    'yield_trend',
    'inspection_detail',
    'compliance_audit'
);


--
-- Name: TYPE report_type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.report_type IS 'Kind of generated quality report.';


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: analytics_refreshes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_refreshes (
    view_name text NOT NULL,
    refreshed_at timestamp with time zone NOT NULL,
    duration_ms double precision NOT NULL,
    CONSTRAINT analytics_refreshes_duration_ms_check CHECK ((duration_ms >= (0)::double precision)),
    CONSTRAINT analytics_refreshes_view_name_check CHECK ((view_name = ANY (ARRAY['analytics_lot_yield'::text, 'analytics_defect_pareto'::text, 'analytics_inference_latency'::text])))
);


--
-- Name: TABLE analytics_refreshes; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.analytics_refreshes IS 'When each analytics view was last refreshed: how stale its rows may be.';


--
-- Name: COLUMN analytics_refreshes.view_name; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.analytics_refreshes.view_name IS 'The materialized view.';


--
-- Name: COLUMN analytics_refreshes.refreshed_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.analytics_refreshes.refreshed_at IS 'When its last refresh finished (its rows are the data as of then).';


--
-- Name: COLUMN analytics_refreshes.duration_ms; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.analytics_refreshes.duration_ms IS 'How long that refresh took.';


--
-- Name: analytics_refresh(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.analytics_refresh(view_name text) RETURNS public.analytics_refreshes
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
DECLARE
    started timestamptz := clock_timestamp();
    recorded analytics_refreshes;
BEGIN
    IF view_name NOT IN ('analytics_lot_yield', 'analytics_defect_pareto', 'analytics_inference_latency') THEN
        RAISE EXCEPTION '% is not an analytics view', view_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'One of analytics_lot_yield, analytics_defect_pareto, analytics_inference_latency.';
    END IF;
    EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY public.%I', view_name);
    INSERT INTO analytics_refreshes AS r (view_name, refreshed_at, duration_ms)
    VALUES (view_name, clock_timestamp(),
            extract(epoch FROM clock_timestamp() - started) * 1000)
    ON CONFLICT ON CONSTRAINT analytics_refreshes_pkey DO UPDATE
        SET refreshed_at = excluded.refreshed_at, duration_ms = excluded.duration_ms
    RETURNING r.* INTO recorded;
    RETURN recorded;
END;
$$;


--
-- Name: FUNCTION analytics_refresh(view_name text); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.analytics_refresh(view_name text) IS 'REFRESH MATERIALIZED VIEW CONCURRENTLY of one analytics view, recording the time in analytics_refreshes.';


--
-- Name: audit_actor_is_readable(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_actor_is_readable(actor text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ((btrim(actor, ' '::text) <> ''::text) AND (actor !~ '[\u0001-\u001F\u007F-\u00A0\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890-\u0891\u08E2\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u2066-\u206F\u3000\uFEFF\uFFF9-\uFFFB\U000110BD\U000110CD\U00013430-\U00013438\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0001\U000E0020-\U000E007F]'::text));


--
-- Name: FUNCTION audit_actor_is_readable(actor text); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.audit_actor_is_readable(actor text) IS 'Whether an actor has a visible character and no control, format or separator character but the space.';


--
-- Name: audit_chain_advance(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_chain_advance() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
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


--
-- Name: audit_checkpoint_chain(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_checkpoint_chain() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
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


--
-- Name: audit_checkpoint_digest(bytea, bigint, date, bigint, bigint, bigint, bytea, bytea, text, bytea, timestamp with time zone, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_checkpoint_digest(prev_hash bytea, ordinal bigint, month date, first_seq bigint, last_seq bigint, row_count bigint, first_prev_hash bytea, last_row_hash bytea, file_name text, file_sha256 bytea, archived_at timestamp with time zone, archived_by text) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    SELECT sha256(prev_hash || convert_to(jsonb_build_array(
        ordinal, to_char(month, 'YYYY-MM-DD'), first_seq, last_seq, row_count,
        encode(first_prev_hash, 'hex'), encode(last_row_hash, 'hex'), file_name,
        encode(file_sha256, 'hex'),
        to_char(archived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), archived_by
    )::text, 'UTF8'))
$$;


--
-- Name: FUNCTION audit_checkpoint_digest(prev_hash bytea, ordinal bigint, month date, first_seq bigint, last_seq bigint, row_count bigint, first_prev_hash bytea, last_row_hash bytea, file_name text, file_sha256 bytea, archived_at timestamp with time zone, archived_by text); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.audit_checkpoint_digest(prev_hash bytea, ordinal bigint, month date, first_seq bigint, last_seq bigint, row_count bigint, first_prev_hash bytea, last_row_hash bytea, file_name text, file_sha256 bytea, archived_at timestamp with time zone, archived_by text) IS 'The hash of one checkpoint chained to the one before; the insert trigger and the verifier both use it.';


--
-- Name: audit_log_check_run(regclass); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_log_check_run(source regclass) RETURNS TABLE(row_count bigint, first_seq bigint, last_seq bigint, first_prev_hash bytea, last_row_hash bytea, broken_seq bigint, problem text)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
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
$_$;


--
-- Name: FUNCTION audit_log_check_run(source regclass); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.audit_log_check_run(source regclass) IS 'Extent, links and first broken entry of the audit entries in this table or partition: what archival, restore and verify compare with a checkpoint.';


--
-- Name: audit_log_create_partition(date); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_log_create_partition(month date) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
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
$_$;


--
-- Name: FUNCTION audit_log_create_partition(month date); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.audit_log_create_partition(month date) IS 'Makes the audit_log partition of the month of this date (moving in its rows from audit_log_default) and returns its name; NULL when it exists. Idempotent; run by `chip-quality-db audit maintain`.';


--
-- Name: audit_log_drop_archived(date); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_log_drop_archived(month date) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
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


--
-- Name: FUNCTION audit_log_drop_archived(month date); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.audit_log_drop_archived(month date) IS 'Detaches and drops an archived month''s partition in one transaction, refusing unless its checkpoint exists and matches the rows.';


--
-- Name: audit_log_guard_partition(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_log_guard_partition(partition_name text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
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


--
-- Name: FUNCTION audit_log_guard_partition(partition_name text); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.audit_log_guard_partition(partition_name text) IS 'Gives a new audit_log partition the parent''s grants and its own TRUNCATE refusal (statement triggers are not cloned to partitions).';


--
-- Name: audit_log_partition_name(date); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_log_partition_name(month date) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ('audit_log_'::text || to_char((month)::timestamp with time zone, 'YYYY_MM'::text));


--
-- Name: FUNCTION audit_log_partition_name(month date); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.audit_log_partition_name(month date) IS 'Name of the audit_log partition of the month of this date: audit_log_YYYY_MM.';


--
-- Name: audit_log_restore_month(date, regclass); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_log_restore_month(month date, source regclass) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
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


--
-- Name: FUNCTION audit_log_restore_month(month date, source regclass); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.audit_log_restore_month(month date, source regclass) IS 'Makes an archived month''s partition again from rows loaded from its archive file, refusing rows that differ from its checkpoint.';


--
-- Name: audit_row_change(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_row_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
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
    -- '<txid> <seq> <row_hash hex> <recorded_at in microseconds since 1970>' of
    -- the last entry this transaction appended, or empty.
    chain_end text := current_setting('audit.chain_end', true);
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
    IF split_part(chain_end, ' ', 1) = entry_txid::text THEN
        -- This transaction appended before (the head lock held since then): its
        -- last entry is the chain's end, with no lookup in audit_log. A savepoint
        -- rolled back takes its entries and this setting back together.
        head_seq := split_part(chain_end, ' ', 2)::bigint;
        head_hash := decode(split_part(chain_end, ' ', 3), 'hex');
        head_recorded := 'epoch'::timestamptz
            + make_interval(secs => split_part(chain_end, ' ', 4)::numeric / 1000000);
    ELSE
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
    PERFORM set_config(
        'audit.chain_end',
        concat_ws(' ', entry_txid, head_seq, encode(entry_hash, 'hex'),
                  (extract(epoch FROM entry_recorded) * 1000000)::bigint),
        true);
    RETURN NULL;
END;
$$;


--
-- Name: FUNCTION audit_row_change(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.audit_row_change() IS 'AFTER INSERT/UPDATE/DELETE row trigger: writes the change to audit_log with actor app.actor (else db:<session_user>) and session app.session_id; an update that changes nothing writes nothing.';


--
-- Name: audit_row_digest(bytea, bigint, uuid, text, uuid, public.audit_action, jsonb, jsonb, text[], text, text, bigint, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_row_digest(prev_hash bytea, seq bigint, id uuid, table_name text, record_id uuid, action public.audit_action, old_values jsonb, new_values jsonb, changed_fields text[], actor text, session_id text, txid bigint, occurred_at timestamp with time zone, recorded_at timestamp with time zone) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    SELECT sha256(prev_hash || convert_to(jsonb_build_array(
        seq, id, table_name, record_id, action, old_values, new_values, changed_fields, actor,
        session_id, txid,
        to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
    )::text, 'UTF8'))
$$;


--
-- Name: FUNCTION audit_row_digest(prev_hash bytea, seq bigint, id uuid, table_name text, record_id uuid, action public.audit_action, old_values jsonb, new_values jsonb, changed_fields text[], actor text, session_id text, txid bigint, occurred_at timestamp with time zone, recorded_at timestamp with time zone); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.audit_row_digest(prev_hash bytea, seq bigint, id uuid, table_name text, record_id uuid, action public.audit_action, old_values jsonb, new_values jsonb, changed_fields text[], actor text, session_id text, txid bigint, occurred_at timestamp with time zone, recorded_at timestamp with time zone) IS 'The hash of one audit entry chained to the previous one; the audit trigger and the verifier both use it.';


--
-- Name: keep_created_at(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.keep_created_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    IF NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION '%.created_at is immutable', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation',
                  SCHEMA = TG_TABLE_SCHEMA,
                  TABLE = TG_TABLE_NAME,
                  COLUMN = 'created_at',
                  DETAIL = format('Row %s was created at %s; the update would set %s.',
                                  OLD.id, OLD.created_at, NEW.created_at),
                  HINT = 'Leave created_at out of the UPDATE.';
    END IF;
    RETURN NEW;
END;
$$;


--
-- Name: FUNCTION keep_created_at(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.keep_created_at() IS 'BEFORE UPDATE row trigger: raises restrict_violation (SQLSTATE 23001, column created_at) when an update would change created_at.';


--
-- Name: name_is_clean(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.name_is_clean(name text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ((btrim(name, ' '::text) <> ''::text) AND (name !~ '[\u0001-\u001F\u007F-\u00A0\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890-\u0891\u08E2\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u2066-\u206F\u3000\uFEFF\uFFF9-\uFFFB\U000110BD\U000110CD\U00013430-\U00013438\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0001\U000E0020-\U000E007F]'::text));


--
-- Name: FUNCTION name_is_clean(name text); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.name_is_clean(name text) IS 'Whether a name has a visible character and no control, format or separator character but the space (the class of audit_actor_is_readable, Unicode 14).';


--
-- Name: notify_cache_of_write(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.notify_cache_of_write() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
BEGIN
    PERFORM pg_notify('chip_quality_cache', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;


--
-- Name: FUNCTION notify_cache_of_write(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.notify_cache_of_write() IS 'Statement-level trigger: announces a write to the table at commit (channel chip_quality_cache, payload the table name) for the query result cache.';


--
-- Name: refuse_audit_checkpoint_change(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.refuse_audit_checkpoint_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    RAISE EXCEPTION 'audit_checkpoints is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation',
              SCHEMA = TG_TABLE_SCHEMA,
              TABLE = TG_TABLE_NAME,
              HINT = 'A checkpoint vouches for an archive file for good; it is never changed.';
END;
$$;


--
-- Name: refuse_audit_log_change(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.refuse_audit_log_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation',
              SCHEMA = TG_TABLE_SCHEMA,
              TABLE = TG_TABLE_NAME,
              HINT = 'Retention or repair is a reviewed migration that disables this trigger.';
END;
$$;


--
-- Name: FUNCTION refuse_audit_log_change(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.refuse_audit_log_change() IS 'BEFORE UPDATE/DELETE/TRUNCATE trigger of audit_log: raises restrict_violation (SQLSTATE 23001), keeping the audit trail append-only.';


--
-- Name: refuse_truncate(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.refuse_truncate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE of % is not allowed: it would bypass the audit trail', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation',
              TABLE = TG_TABLE_NAME,
              HINT = 'DELETE the rows instead, so each deletion is audited.';
END;
$$;


--
-- Name: set_updated_at(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;


--
-- Name: FUNCTION set_updated_at(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.set_updated_at() IS 'BEFORE UPDATE row trigger: sets updated_at to the transaction time. Attached with WHEN (OLD.* IS DISTINCT FROM NEW.*), so an update that changes nothing keeps updated_at.';


--
-- Name: defects; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.defects (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    inspection_id uuid NOT NULL,
    defect_type public.defect_type NOT NULL,
    severity public.defect_severity NOT NULL,
    location jsonb DEFAULT '{}'::jsonb NOT NULL,
    confidence numeric(5,4),
    description text,
    detected_by text NOT NULL,
    review_status public.defect_review_status DEFAULT 'unreviewed'::public.defect_review_status NOT NULL,
    reviewed_by text,
    reviewed_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT defects_confidence_check CHECK (((confidence >= (0)::numeric) AND (confidence <= (1)::numeric))),
    CONSTRAINT defects_detected_by_check CHECK ((public.name_is_clean(detected_by) AND (char_length(detected_by) <= 200))),
    CONSTRAINT defects_location_check CHECK ((jsonb_typeof(location) = 'object'::text)),
    CONSTRAINT defects_review_status_check CHECK (
CASE
    WHEN (review_status = 'unreviewed'::public.defect_review_status) THEN ((reviewed_by IS NULL) AND (reviewed_at IS NULL))
    ELSE ((reviewed_by IS NOT NULL) AND (reviewed_at IS NOT NULL))
END),
    CONSTRAINT defects_reviewed_by_check CHECK ((public.name_is_clean(reviewed_by) AND (char_length(reviewed_by) <= 200)))
);


--
-- Name: TABLE defects; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.defects IS 'A defect found by an inspection, by an operator or a model; removed with its inspection.';


--
-- Name: COLUMN defects.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.defects.id IS 'Primary key, generated by the database.';


--
-- Name: COLUMN defects.inspection_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.defects.inspection_id IS 'The inspection that found the defect; deleting the inspection deletes its defects.';


--
-- Name: COLUMN defects.defect_type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.defects.defect_type IS 'Classification, e.g. scratch, void, short; other when none fits.';


--
-- Name: COLUMN defects.severity; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.defects.severity IS 'Impact: low, medium, high or critical.';


--
-- Name: COLUMN defects.location; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.defects.location IS 'Where the defect is, as a JSON object, e.g. {"x": 12.5, "y": 40.1, "unit": "mm"} or {"die": "R3C7"}; {} when unknown.';


--
-- Name: COLUMN defects.confidence; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.defects.confidence IS 'Detection confidence between 0 and 1 (4 decimals) for model detections; NULL for defects an operator recorded.';


--
-- Name: COLUMN defects.description; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.defects.description IS 'Free-text description of the defect.';


--
-- Name: COLUMN defects.detected_by; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.defects.detected_by IS 'Who found the defect: an operator (operator:<id>) or a model (model:<name>@<version>).';


--
-- Name: COLUMN defects.review_status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.defects.review_status IS 'Outcome of human review: unreviewed, confirmed, false_positive or reclassified.';


--
-- Name: COLUMN defects.reviewed_by; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.defects.reviewed_by IS 'Who reviewed the defect; set exactly when review_status is not unreviewed.';


--
-- Name: COLUMN defects.reviewed_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.defects.reviewed_at IS 'When the defect was reviewed; set exactly when review_status is not unreviewed.';


--
-- Name: COLUMN defects.created_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.defects.created_at IS 'When the row was inserted; immutable.';


--
-- Name: COLUMN defects.updated_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.defects.updated_at IS 'When the row last changed; maintained by a trigger.';


--
-- Name: inspections; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.inspections (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    lot_id uuid NOT NULL,
    inspection_type public.inspection_type NOT NULL,
    status public.inspection_status DEFAULT 'pending'::public.inspection_status NOT NULL,
    station_id text,
    operator_id text,
    started_at timestamp with time zone,
    completed_at timestamp with time zone,
    passed boolean,
    results jsonb DEFAULT '{}'::jsonb NOT NULL,
    notes text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT inspections_completed_at_check CHECK ((completed_at >= started_at)),
    CONSTRAINT inspections_metadata_check CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT inspections_operator_id_check CHECK ((public.name_is_clean(operator_id) AND (char_length(operator_id) <= 64))),
    CONSTRAINT inspections_passed_check CHECK (((passed IS NOT NULL) = (status = 'completed'::public.inspection_status))),
    CONSTRAINT inspections_results_check CHECK ((jsonb_typeof(results) = 'object'::text)),
    CONSTRAINT inspections_station_id_check CHECK ((public.name_is_clean(station_id) AND (char_length(station_id) <= 64))),
    CONSTRAINT inspections_status_check CHECK ((((status <> 'pending'::public.inspection_status) OR ((started_at IS NULL) AND (completed_at IS NULL))) AND ((status <> 'in_progress'::public.inspection_status) OR ((started_at IS NOT NULL) AND (completed_at IS NULL))) AND ((status <> 'completed'::public.inspection_status) OR ((started_at IS NOT NULL) AND (completed_at IS NOT NULL)))))
);


--
-- Name: TABLE inspections; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.inspections IS 'One quality inspection of a lot: its method, progress, verdict and measured results.';


--
-- Name: COLUMN inspections.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inspections.id IS 'Primary key, generated by the database.';


--
-- Name: COLUMN inspections.lot_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inspections.lot_id IS 'The inspected lot; a lot with inspections cannot be deleted.';


--
-- Name: COLUMN inspections.inspection_type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inspections.inspection_type IS 'Method: visual, electrical, thermal, dimensional, functional or optical.';


--
-- Name: COLUMN inspections.status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inspections.status IS 'Progress: pending, in_progress, completed, failed (the run broke down, no verdict) or cancelled.';


--
-- Name: COLUMN inspections.station_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inspections.station_id IS 'Inspection station or tool that ran it, e.g. AOI-03.';


--
-- Name: COLUMN inspections.operator_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inspections.operator_id IS 'Operator responsible for the inspection, as known to the identity system.';


--
-- Name: COLUMN inspections.started_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inspections.started_at IS 'When the inspection started; NULL while pending, required from in_progress on.';


--
-- Name: COLUMN inspections.completed_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inspections.completed_at IS 'When the inspection finished; required when completed, never before started_at.';


--
-- Name: COLUMN inspections.passed; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inspections.passed IS 'Verdict: true when the lot passed, false when it failed; NULL unless status is completed.';


--
-- Name: COLUMN inspections.results; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inspections.results IS 'Measured results as a JSON object, e.g. {"resistance_ohm": 47.2}; indexed for JSON searches.';


--
-- Name: COLUMN inspections.notes; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inspections.notes IS 'Free-text notes of the operator or engineer.';


--
-- Name: COLUMN inspections.metadata; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inspections.metadata IS 'Further attributes as a JSON object (recipe, tool settings, ...).';


--
-- Name: COLUMN inspections.created_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inspections.created_at IS 'When the row was inserted; immutable.';


--
-- Name: COLUMN inspections.updated_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inspections.updated_at IS 'When the row last changed; maintained by a trigger.';


--
-- Name: lots; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.lots (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    lot_number text NOT NULL,
    part_id uuid NOT NULL,
    production_date date NOT NULL,
    batch_size bigint NOT NULL,
    production_line text NOT NULL,
    status public.lot_status DEFAULT 'active'::public.lot_status NOT NULL,
    supplier text,
    quantity_inspected bigint DEFAULT 0 NOT NULL,
    quantity_rejected bigint DEFAULT 0 NOT NULL,
    notes text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT lots_batch_size_check CHECK ((batch_size > 0)),
    CONSTRAINT lots_lot_number_check CHECK (((lot_number ~ '^LOT-[A-Z0-9]+(-[A-Z0-9]+)*$'::text) AND (char_length(lot_number) <= 64))),
    CONSTRAINT lots_metadata_check CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT lots_production_line_check CHECK ((public.name_is_clean(production_line) AND (char_length(production_line) <= 64))),
    CONSTRAINT lots_quantity_inspected_check CHECK (((quantity_inspected >= 0) AND (quantity_inspected <= batch_size))),
    CONSTRAINT lots_quantity_rejected_check CHECK (((quantity_rejected >= 0) AND (quantity_rejected <= quantity_inspected))),
    CONSTRAINT lots_supplier_check CHECK ((public.name_is_clean(supplier) AND (char_length(supplier) <= 200)))
);


--
-- Name: TABLE lots; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.lots IS 'A production lot (batch) of one part, made on one line; inspections are run against lots.';


--
-- Name: COLUMN lots.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.lots.id IS 'Primary key, generated by the database.';


--
-- Name: COLUMN lots.lot_number; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.lots.lot_number IS 'Unique lot number, e.g. LOT-2025-001: LOT- then upper-case letters and digits in groups joined by -, at most 64 characters.';


--
-- Name: COLUMN lots.part_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.lots.part_id IS 'The part this lot produces; the part cannot be deleted while it has lots.';


--
-- Name: COLUMN lots.production_date; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.lots.production_date IS 'Day the lot was produced.';


--
-- Name: COLUMN lots.batch_size; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.lots.batch_size IS 'Number of units in the lot; greater than zero.';


--
-- Name: COLUMN lots.production_line; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.lots.production_line IS 'Line that produced the lot, e.g. LINE-A.';


--
-- Name: COLUMN lots.status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.lots.status IS 'Where the lot stands: active, completed, quarantined, released or rejected.';


--
-- Name: COLUMN lots.supplier; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.lots.supplier IS 'Supplier of the lot when it was bought in; NULL for in-house production.';


--
-- Name: COLUMN lots.quantity_inspected; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.lots.quantity_inspected IS 'Units of the lot inspected so far, between 0 and batch_size.';


--
-- Name: COLUMN lots.quantity_rejected; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.lots.quantity_rejected IS 'Units rejected so far, between 0 and quantity_inspected; yield is 1 - quantity_rejected / quantity_inspected.';


--
-- Name: COLUMN lots.notes; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.lots.notes IS 'Free-text notes for the quality team.';


--
-- Name: COLUMN lots.metadata; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.lots.metadata IS 'Further attributes as a JSON object (equipment settings, material batches, ...).';


--
-- Name: COLUMN lots.created_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.lots.created_at IS 'When the row was inserted; immutable.';


--
-- Name: COLUMN lots.updated_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.lots.updated_at IS 'When the row last changed; maintained by a trigger.';


--
-- Name: parts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.parts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    part_number text NOT NULL,
    part_name text NOT NULL,
    part_type public.part_type NOT NULL,
    revision text DEFAULT 'A'::text NOT NULL,
    manufacturer text,
    description text,
    specifications jsonb DEFAULT '{}'::jsonb NOT NULL,
    tolerance_requirements jsonb DEFAULT '{}'::jsonb NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT parts_manufacturer_check CHECK ((public.name_is_clean(manufacturer) AND (char_length(manufacturer) <= 200))),
    CONSTRAINT parts_part_name_check CHECK ((public.name_is_clean(part_name) AND (char_length(part_name) <= 200))),
    CONSTRAINT parts_part_number_check CHECK (((part_number ~ '^[A-Z0-9]+([.-][A-Z0-9]+)*$'::text) AND ((char_length(part_number) >= 3) AND (char_length(part_number) <= 64)))),
    CONSTRAINT parts_revision_check CHECK (((revision ~ '^[A-Z0-9]+([.-][A-Z0-9]+)*$'::text) AND (char_length(revision) <= 16))),
    CONSTRAINT parts_specifications_check CHECK ((jsonb_typeof(specifications) = 'object'::text)),
    CONSTRAINT parts_tolerance_requirements_check CHECK ((jsonb_typeof(tolerance_requirements) = 'object'::text))
);


--
-- Name: TABLE parts; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.parts IS 'A part the fab makes or inspects, identified by its part number; the parent of production lots.';


--
-- Name: COLUMN parts.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.parts.id IS 'Primary key, generated by the database.';


--
-- Name: COLUMN parts.part_number; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.parts.part_number IS 'Unique part number, e.g. PCB-2025-001: upper-case letters and digits in groups joined by - or ., 3 to 64 characters.';


--
-- Name: COLUMN parts.part_name; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.parts.part_name IS 'Human-readable name, e.g. High-Density PCB (1 to 200 characters, not blank).';


--
-- Name: COLUMN parts.part_type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.parts.part_type IS 'Kind of part: pcb, semiconductor, component, assembly or wafer.';


--
-- Name: COLUMN parts.revision; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.parts.revision IS 'Current engineering revision, e.g. A, B2 or 1.3 (upper-case, at most 16 characters); new parts start at A.';


--
-- Name: COLUMN parts.manufacturer; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.parts.manufacturer IS 'Who makes the part when it is bought in; NULL for parts made in-house.';


--
-- Name: COLUMN parts.description; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.parts.description IS 'Free-text description for engineers.';


--
-- Name: COLUMN parts.specifications; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.parts.specifications IS 'Design specifications as a JSON object, e.g. {"layers": 8, "thickness": "1.6mm"}; indexed for containment (@>) searches.';


--
-- Name: COLUMN parts.tolerance_requirements; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.parts.tolerance_requirements IS 'Tolerances inspections are judged against, as a JSON object, e.g. {"dimensional": "±0.1mm"}.';


--
-- Name: COLUMN parts.is_active; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.parts.is_active IS 'False once the part is retired; retired parts keep their lots and history (a part with lots cannot be deleted).';


--
-- Name: COLUMN parts.created_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.parts.created_at IS 'When the row was inserted; immutable.';


--
-- Name: COLUMN parts.updated_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.parts.updated_at IS 'When the row last changed; maintained by a trigger.';


--
-- Name: analytics_defect_pareto; Type: MATERIALIZED VIEW; Schema: public; Owner: -
--

CREATE MATERIALIZED VIEW public.analytics_defect_pareto AS
 SELECT p.id AS part_id,
    p.part_number,
    d.defect_type,
    count(*) AS defect_count,
    count(*) FILTER (WHERE (d.severity = ANY (ARRAY['high'::public.defect_severity, 'critical'::public.defect_severity]))) AS severe_count,
    round(((count(*))::numeric / sum(count(*)) OVER (PARTITION BY p.id)), 4) AS share
   FROM (((public.defects d
     JOIN public.inspections i ON ((i.id = d.inspection_id)))
     JOIN public.lots l ON ((l.id = i.lot_id)))
     JOIN public.parts p ON ((p.id = l.part_id)))
  GROUP BY p.id, p.part_number, d.defect_type
  WITH NO DATA;


--
-- Name: MATERIALIZED VIEW analytics_defect_pareto; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON MATERIALIZED VIEW public.analytics_defect_pareto IS 'Per part and defect type: defects found, how many were high or critical, and their share of the part''s defects (a Pareto chart). Refreshed by `chip-quality-db analytics refresh`.';


--
-- Name: inference_jobs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.inference_jobs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    inspection_id uuid NOT NULL,
    model_name text NOT NULL,
    model_version text NOT NULL,
    status public.inference_job_status DEFAULT 'pending'::public.inference_job_status NOT NULL,
    priority bigint DEFAULT 5 NOT NULL,
    attempts bigint DEFAULT 0 NOT NULL,
    worker_id text,
    started_at timestamp with time zone,
    completed_at timestamp with time zone,
    inference_ms bigint,
    results jsonb DEFAULT '{}'::jsonb NOT NULL,
    error_message text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT inference_jobs_attempts_check CHECK ((attempts >= 0)),
    CONSTRAINT inference_jobs_completed_at_check CHECK ((completed_at >= started_at)),
    CONSTRAINT inference_jobs_error_message_check CHECK ((((status <> 'failed'::public.inference_job_status) OR (error_message IS NOT NULL)) AND ((error_message IS NULL) OR (btrim(error_message) <> ''::text)))),
    CONSTRAINT inference_jobs_inference_ms_check CHECK ((inference_ms >= 0)),
    CONSTRAINT inference_jobs_model_name_check CHECK ((public.name_is_clean(model_name) AND (char_length(model_name) <= 200))),
    CONSTRAINT inference_jobs_model_version_check CHECK ((public.name_is_clean(model_version) AND (char_length(model_version) <= 64))),
    CONSTRAINT inference_jobs_priority_check CHECK (((priority >= 1) AND (priority <= 10))),
    CONSTRAINT inference_jobs_results_check CHECK ((jsonb_typeof(results) = 'object'::text)),
    CONSTRAINT inference_jobs_status_check CHECK ((((status <> 'pending'::public.inference_job_status) OR ((worker_id IS NULL) AND (started_at IS NULL) AND (completed_at IS NULL))) AND ((status <> 'running'::public.inference_job_status) OR ((worker_id IS NOT NULL) AND (started_at IS NOT NULL) AND (completed_at IS NULL))) AND ((status <> 'completed'::public.inference_job_status) OR ((started_at IS NOT NULL) AND (completed_at IS NOT NULL))))),
    CONSTRAINT inference_jobs_worker_id_check CHECK ((public.name_is_clean(worker_id) AND (char_length(worker_id) <= 200)))
);


--
-- Name: TABLE inference_jobs; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.inference_jobs IS 'A machine-learning inference run over an inspection''s data, queued for workers by priority; deleted with its inspection.';


--
-- Name: COLUMN inference_jobs.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.id IS 'Primary key, generated by the database.';


--
-- Name: COLUMN inference_jobs.inspection_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.inspection_id IS 'The inspection whose data the model runs on; deleting the inspection deletes its jobs.';


--
-- Name: COLUMN inference_jobs.model_name; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.model_name IS 'Name of the model to run, e.g. defect-detector.';


--
-- Name: COLUMN inference_jobs.model_version; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.model_version IS 'Exact model version, e.g. 2.3.1, so results can be traced to a model.';


--
-- Name: COLUMN inference_jobs.status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.status IS 'Lifecycle: pending (queued, unclaimed), running (claimed by worker_id), completed, failed or cancelled.';


--
-- Name: COLUMN inference_jobs.priority; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.priority IS 'Queue priority from 1 (lowest) to 10 (highest), default 5; workers take the highest priority first, then the oldest.';


--
-- Name: COLUMN inference_jobs.attempts; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.attempts IS 'How many times a worker has claimed the job, counting retries.';


--
-- Name: COLUMN inference_jobs.worker_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.worker_id IS 'Worker that claimed the job; required while running, NULL while pending.';


--
-- Name: COLUMN inference_jobs.started_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.started_at IS 'When the current or last attempt started; NULL while pending.';


--
-- Name: COLUMN inference_jobs.completed_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.completed_at IS 'When the job finished; required when completed, never before started_at.';


--
-- Name: COLUMN inference_jobs.inference_ms; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.inference_ms IS 'Model inference time in milliseconds as reported by the worker (excludes queueing and loading); NULL until known.';


--
-- Name: COLUMN inference_jobs.results; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.results IS 'Model output as a JSON object, e.g. {"defects": [...], "score": 0.97}; indexed for JSON searches.';


--
-- Name: COLUMN inference_jobs.error_message; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.error_message IS 'Why the job failed; required when failed, may keep the last error of a retried job.';


--
-- Name: COLUMN inference_jobs.created_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.created_at IS 'When the job was queued (row inserted); immutable.';


--
-- Name: COLUMN inference_jobs.updated_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.inference_jobs.updated_at IS 'When the row last changed; maintained by a trigger.';


--
-- Name: analytics_inference_latency; Type: MATERIALIZED VIEW; Schema: public; Owner: -
--

CREATE MATERIALIZED VIEW public.analytics_inference_latency AS
 SELECT model_name,
    model_version,
    count(*) AS jobs,
    percentile_cont((0.5)::double precision) WITHIN GROUP (ORDER BY ((inference_ms)::double precision)) AS p50_ms,
    percentile_cont((0.95)::double precision) WITHIN GROUP (ORDER BY ((inference_ms)::double precision)) AS p95_ms,
    percentile_cont((0.99)::double precision) WITHIN GROUP (ORDER BY ((inference_ms)::double precision)) AS p99_ms,
    max(inference_ms) AS max_ms
   FROM public.inference_jobs
  WHERE ((status = 'completed'::public.inference_job_status) AND (inference_ms IS NOT NULL))
  GROUP BY model_name, model_version
  WITH NO DATA;


--
-- Name: MATERIALIZED VIEW analytics_inference_latency; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON MATERIALIZED VIEW public.analytics_inference_latency IS 'Per model name and version: completed jobs and their inference time percentiles (ms). Refreshed by `chip-quality-db analytics refresh`.';


--
-- Name: analytics_lot_yield; Type: MATERIALIZED VIEW; Schema: public; Owner: -
--

CREATE MATERIALIZED VIEW public.analytics_lot_yield AS
 SELECT l.id AS lot_id,
    l.lot_number,
    l.part_id,
    count(i.id) FILTER (WHERE i.passed) AS passed,
    count(i.id) FILTER (WHERE (NOT i.passed)) AS failed,
    count(i.id) FILTER (WHERE (i.passed IS NULL)) AS undecided,
    round(((count(i.id) FILTER (WHERE i.passed))::numeric / (NULLIF(count(i.passed), 0))::numeric), 4) AS yield_ratio
   FROM (public.lots l
     LEFT JOIN public.inspections i ON ((i.lot_id = l.id)))
  GROUP BY l.id, l.lot_number, l.part_id
  WITH NO DATA;


--
-- Name: MATERIALIZED VIEW analytics_lot_yield; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON MATERIALIZED VIEW public.analytics_lot_yield IS 'Per lot: inspections passed, failed and undecided, and the share of decided ones that passed (NULL while none is decided). Refreshed by `chip-quality-db analytics refresh`.';


--
-- Name: artifacts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.artifacts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    inspection_id uuid,
    inference_job_id uuid,
    artifact_type public.artifact_type NOT NULL,
    storage_uri text NOT NULL,
    content_type text DEFAULT 'application/octet-stream'::text NOT NULL,
    size_bytes bigint NOT NULL,
    checksum_sha256 text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT artifacts_checksum_sha256_check CHECK ((checksum_sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT artifacts_content_type_check CHECK (((content_type ~ '^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*([[:space:]]*;.*)?$'::text) AND (char_length(content_type) <= 255))),
    CONSTRAINT artifacts_inspection_id_inference_job_id_check CHECK (((inspection_id IS NOT NULL) OR (inference_job_id IS NOT NULL))),
    CONSTRAINT artifacts_metadata_check CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT artifacts_size_bytes_check CHECK ((size_bytes >= 0)),
    CONSTRAINT artifacts_storage_uri_check CHECK (((storage_uri ~ '^[a-z][a-z0-9+.-]*://[^[:space:]]+$'::text) AND (char_length(storage_uri) <= 2048)))
);


--
-- Name: TABLE artifacts; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.artifacts IS 'Metadata of a file kept in object storage (image, point cloud, model output, log), belonging to an inspection, an inference job, or both.';


--
-- Name: COLUMN artifacts.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.artifacts.id IS 'Primary key, generated by the database.';


--
-- Name: COLUMN artifacts.inspection_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.artifacts.inspection_id IS 'The inspection the file belongs to; NULL for a file that belongs to a job only. Deleting the inspection deletes the row (not the stored file).';


--
-- Name: COLUMN artifacts.inference_job_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.artifacts.inference_job_id IS 'The inference job that produced the file; NULL for files not produced by a job. Deleting the job deletes the row (not the stored file).';


--
-- Name: COLUMN artifacts.artifact_type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.artifacts.artifact_type IS 'Kind of file, e.g. image, point_cloud, model_output, log.';


--
-- Name: COLUMN artifacts.storage_uri; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.artifacts.storage_uri IS 'Where the file is stored, as scheme://location, e.g. s3://inspections/2025/11/img-0001.png.';


--
-- Name: COLUMN artifacts.content_type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.artifacts.content_type IS 'MIME type of the file, e.g. image/png; application/octet-stream when unknown.';


--
-- Name: COLUMN artifacts.size_bytes; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.artifacts.size_bytes IS 'File size in bytes, zero or more.';


--
-- Name: COLUMN artifacts.checksum_sha256; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.artifacts.checksum_sha256 IS 'SHA-256 of the file content as 64 lower-case hex digits, to prove the file is unaltered.';


--
-- Name: COLUMN artifacts.metadata; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.artifacts.metadata IS 'Further attributes as a JSON object (camera, resolution, exposure, ...).';


--
-- Name: COLUMN artifacts.created_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.artifacts.created_at IS 'When the row was inserted; immutable.';


--
-- Name: COLUMN artifacts.updated_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.artifacts.updated_at IS 'When the row last changed; maintained by a trigger.';


--
-- Name: audit_chain_head; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_chain_head (
    id bigint DEFAULT 1 NOT NULL,
    seq bigint NOT NULL,
    last_hash bytea NOT NULL,
    last_recorded_at timestamp with time zone DEFAULT '-infinity'::timestamp with time zone NOT NULL,
    CONSTRAINT audit_chain_head_id_check CHECK ((id = 1)),
    CONSTRAINT audit_chain_head_last_hash_check CHECK ((octet_length(last_hash) = 32)),
    CONSTRAINT audit_chain_head_seq_check CHECK ((seq >= 0))
);


--
-- Name: TABLE audit_chain_head; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.audit_chain_head IS 'The one row holding the audit chain''s last sequence number and hash; every audited write locks it (FOR UPDATE) to append to the chain.';


--
-- Name: COLUMN audit_chain_head.last_recorded_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_chain_head.last_recorded_at IS 'recorded_at of the entry at seq (-infinity before the first): where the audit trigger starts looking for the chain''s end.';


--
-- Name: audit_checkpoints; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_checkpoints (
    ordinal bigint NOT NULL,
    month date NOT NULL,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    row_count bigint NOT NULL,
    first_prev_hash bytea NOT NULL,
    last_row_hash bytea NOT NULL,
    file_name text NOT NULL,
    file_sha256 bytea NOT NULL,
    archived_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    archived_by text DEFAULT SESSION_USER NOT NULL,
    prev_hash bytea NOT NULL,
    checkpoint_hash bytea NOT NULL,
    CONSTRAINT audit_checkpoints_checkpoint_hash_check CHECK ((octet_length(checkpoint_hash) = 32)),
    CONSTRAINT audit_checkpoints_file_name_check CHECK ((file_name ~ '^audit_log_[0-9]{4}_[0-9]{2}\.csv\.gz$'::text)),
    CONSTRAINT audit_checkpoints_file_sha256_check CHECK ((octet_length(file_sha256) = 32)),
    CONSTRAINT audit_checkpoints_first_prev_hash_check CHECK ((octet_length(first_prev_hash) = 32)),
    CONSTRAINT audit_checkpoints_first_seq_check CHECK ((first_seq >= 1)),
    CONSTRAINT audit_checkpoints_last_row_hash_check CHECK ((octet_length(last_row_hash) = 32)),
    CONSTRAINT audit_checkpoints_month_check CHECK ((month = (date_trunc('month'::text, (month)::timestamp with time zone))::date)),
    CONSTRAINT audit_checkpoints_prev_hash_check CHECK ((octet_length(prev_hash) = 32)),
    CONSTRAINT audit_checkpoints_row_count_check CHECK ((row_count = ((last_seq - first_seq) + 1)))
);


--
-- Name: TABLE audit_checkpoints; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.audit_checkpoints IS 'One row per archived month of audit_log: the seq range, its links to the chain before and after, and the archive file''s SHA-256. Append-only and hash-chained.';


--
-- Name: COLUMN audit_checkpoints.ordinal; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_checkpoints.ordinal IS 'Order of the checkpoints: 1, 2, 3, ... without gaps.';


--
-- Name: COLUMN audit_checkpoints.month; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_checkpoints.month IS 'First day of the archived month (UTC).';


--
-- Name: COLUMN audit_checkpoints.first_seq; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_checkpoints.first_seq IS 'seq of the month''s first audit entry.';


--
-- Name: COLUMN audit_checkpoints.last_seq; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_checkpoints.last_seq IS 'seq of the month''s last audit entry.';


--
-- Name: COLUMN audit_checkpoints.row_count; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_checkpoints.row_count IS 'Number of audit entries of the month: last_seq - first_seq + 1.';


--
-- Name: COLUMN audit_checkpoints.first_prev_hash; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_checkpoints.first_prev_hash IS 'prev_hash of the month''s first entry: the row_hash of the entry before it.';


--
-- Name: COLUMN audit_checkpoints.last_row_hash; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_checkpoints.last_row_hash IS 'row_hash of the month''s last entry: the next entry''s prev_hash.';


--
-- Name: COLUMN audit_checkpoints.file_name; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_checkpoints.file_name IS 'Name of the archive file (gzip-compressed CSV with a header row, as COPY writes it).';


--
-- Name: COLUMN audit_checkpoints.file_sha256; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_checkpoints.file_sha256 IS 'SHA-256 of the archive file as stored.';


--
-- Name: COLUMN audit_checkpoints.archived_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_checkpoints.archived_at IS 'When the checkpoint was recorded.';


--
-- Name: COLUMN audit_checkpoints.archived_by; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_checkpoints.archived_by IS 'Database login that recorded it.';


--
-- Name: COLUMN audit_checkpoints.prev_hash; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_checkpoints.prev_hash IS 'checkpoint_hash of the checkpoint before (32 zero bytes for the first).';


--
-- Name: COLUMN audit_checkpoints.checkpoint_hash; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_checkpoints.checkpoint_hash IS 'sha256(prev_hash || canonical JSON of this checkpoint): audit_checkpoint_digest().';


--
-- Name: audit_log; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_log (
    id uuid DEFAULT gen_random_uuid() CONSTRAINT audit_log_id_not_null1 NOT NULL,
    table_name text CONSTRAINT audit_log_table_name_not_null1 NOT NULL,
    record_id uuid CONSTRAINT audit_log_record_id_not_null1 NOT NULL,
    action public.audit_action CONSTRAINT audit_log_action_not_null1 NOT NULL,
    old_values jsonb,
    new_values jsonb,
    changed_fields text[],
    actor text CONSTRAINT audit_log_actor_not_null1 NOT NULL,
    session_id text,
    txid bigint DEFAULT ((pg_current_xact_id())::text)::bigint CONSTRAINT audit_log_txid_not_null1 NOT NULL,
    occurred_at timestamp with time zone DEFAULT now() CONSTRAINT audit_log_occurred_at_not_null1 NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() CONSTRAINT audit_log_recorded_at_not_null1 NOT NULL,
    seq bigint CONSTRAINT audit_log_seq_not_null1 NOT NULL,
    prev_hash bytea CONSTRAINT audit_log_prev_hash_not_null1 NOT NULL,
    row_hash bytea CONSTRAINT audit_log_row_hash_not_null1 NOT NULL,
    CONSTRAINT audit_log_actor_check CHECK (((btrim(actor) <> ''::text) AND (char_length(actor) <= 200))),
    CONSTRAINT audit_log_changed_fields_check CHECK (
CASE
    WHEN (action = 'update'::public.audit_action) THEN (COALESCE(cardinality(changed_fields), 0) > 0)
    ELSE (changed_fields IS NULL)
END),
    CONSTRAINT audit_log_new_values_check CHECK ((((new_values IS NULL) = (action = 'delete'::public.audit_action)) AND ((new_values IS NULL) OR (jsonb_typeof(new_values) = 'object'::text)))),
    CONSTRAINT audit_log_old_values_check CHECK ((((old_values IS NULL) = (action = 'insert'::public.audit_action)) AND ((old_values IS NULL) OR (jsonb_typeof(old_values) = 'object'::text)))),
    CONSTRAINT audit_log_prev_hash_check CHECK ((octet_length(prev_hash) = 32)),
    CONSTRAINT audit_log_row_hash_check CHECK ((octet_length(row_hash) = 32)),
    CONSTRAINT audit_log_session_id_check CHECK (((btrim(session_id) <> ''::text) AND (char_length(session_id) <= 200))),
    CONSTRAINT audit_log_table_name_check CHECK ((table_name ~ '^[a-z_][a-z0-9_]*$'::text))
)
PARTITION BY RANGE (recorded_at);


--
-- Name: TABLE audit_log; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.audit_log IS 'Append-only trail of every insert, update and delete of the business tables, written by triggers in the changing transaction (21 CFR Part 11). Partitioned by month of recorded_at (audit_log_YYYY_MM, audit_log_default).';


--
-- Name: COLUMN audit_log.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.id IS 'Generated by the database; unique (the primary key is (id, recorded_at): a partitioned table''s keys hold its partition key).';


--
-- Name: COLUMN audit_log.table_name; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.table_name IS 'Table of the changed row, e.g. lots.';


--
-- Name: COLUMN audit_log.record_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.record_id IS 'Primary key (id) of the changed row.';


--
-- Name: COLUMN audit_log.action; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.action IS 'What happened to the row: insert, update or delete.';


--
-- Name: COLUMN audit_log.old_values; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.old_values IS 'The whole row before the change as a JSON object; NULL for inserts.';


--
-- Name: COLUMN audit_log.new_values; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.new_values IS 'The whole row after the change as a JSON object; NULL for deletes.';


--
-- Name: COLUMN audit_log.changed_fields; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.changed_fields IS 'Sorted names of the columns an update changed; NULL for inserts and deletes.';


--
-- Name: COLUMN audit_log.actor; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.actor IS 'Who made the change: the app.actor setting of the transaction, else db:<database login>.';


--
-- Name: COLUMN audit_log.session_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.session_id IS 'The app.session_id setting of the transaction (e.g. the API request or user session), NULL when unset.';


--
-- Name: COLUMN audit_log.txid; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.txid IS 'Id of the writing transaction: the rows of one transaction share it.';


--
-- Name: COLUMN audit_log.occurred_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.occurred_at IS 'Start time of the changing transaction (now()): all rows of a transaction share it.';


--
-- Name: COLUMN audit_log.recorded_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.recorded_at IS 'Wall-clock time the audit row was written (clock_timestamp(), never before the previous entry''s), ordering changes within a transaction; the partition key.';


--
-- Name: COLUMN audit_log.seq; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.seq IS 'Position in the hash chain: 1, 2, 3, ... without gaps.';


--
-- Name: COLUMN audit_log.prev_hash; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.prev_hash IS 'row_hash of the entry before (32 zero bytes for the first).';


--
-- Name: COLUMN audit_log.row_hash; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_log.row_hash IS 'sha256(prev_hash || canonical JSON of this entry): audit_row_digest().';


--
-- Name: audit_log_default; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_log_default (
    id uuid DEFAULT gen_random_uuid() CONSTRAINT audit_log_id_not_null1 NOT NULL,
    table_name text CONSTRAINT audit_log_table_name_not_null1 NOT NULL,
    record_id uuid CONSTRAINT audit_log_record_id_not_null1 NOT NULL,
    action public.audit_action CONSTRAINT audit_log_action_not_null1 NOT NULL,
    old_values jsonb,
    new_values jsonb,
    changed_fields text[],
    actor text CONSTRAINT audit_log_actor_not_null1 NOT NULL,
    session_id text,
    txid bigint DEFAULT ((pg_current_xact_id())::text)::bigint CONSTRAINT audit_log_txid_not_null1 NOT NULL,
    occurred_at timestamp with time zone DEFAULT now() CONSTRAINT audit_log_occurred_at_not_null1 NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() CONSTRAINT audit_log_recorded_at_not_null1 NOT NULL,
    seq bigint CONSTRAINT audit_log_seq_not_null1 NOT NULL,
    prev_hash bytea CONSTRAINT audit_log_prev_hash_not_null1 NOT NULL,
    row_hash bytea CONSTRAINT audit_log_row_hash_not_null1 NOT NULL,
    CONSTRAINT audit_log_actor_check CHECK (((btrim(actor) <> ''::text) AND (char_length(actor) <= 200))),
    CONSTRAINT audit_log_changed_fields_check CHECK (
CASE
    WHEN (action = 'update'::public.audit_action) THEN (COALESCE(cardinality(changed_fields), 0) > 0)
    ELSE (changed_fields IS NULL)
END),
    CONSTRAINT audit_log_new_values_check CHECK ((((new_values IS NULL) = (action = 'delete'::public.audit_action)) AND ((new_values IS NULL) OR (jsonb_typeof(new_values) = 'object'::text)))),
    CONSTRAINT audit_log_old_values_check CHECK ((((old_values IS NULL) = (action = 'insert'::public.audit_action)) AND ((old_values IS NULL) OR (jsonb_typeof(old_values) = 'object'::text)))),
    CONSTRAINT audit_log_prev_hash_check CHECK ((octet_length(prev_hash) = 32)),
    CONSTRAINT audit_log_row_hash_check CHECK ((octet_length(row_hash) = 32)),
    CONSTRAINT audit_log_session_id_check CHECK (((btrim(session_id) <> ''::text) AND (char_length(session_id) <= 200))),
    CONSTRAINT audit_log_table_name_check CHECK ((table_name ~ '^[a-z_][a-z0-9_]*$'::text))
);


--
-- Name: idempotency_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.idempotency_keys (
    key text NOT NULL,
    actor text NOT NULL,
    result jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT idempotency_keys_actor_check CHECK ((public.name_is_clean(actor) AND (char_length(actor) <= 200))),
    CONSTRAINT idempotency_keys_key_check CHECK ((key ~ '^[A-Za-z0-9._:-]{8,200}$'::text))
);


--
-- Name: TABLE idempotency_keys; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.idempotency_keys IS 'Keys of writes that clients may retry: present once the write committed, with its result.';


--
-- Name: COLUMN idempotency_keys.key; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.idempotency_keys.key IS 'Client-chosen key of one logical write: 8 to 200 of A-Z a-z 0-9 . _ : -.';


--
-- Name: COLUMN idempotency_keys.actor; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.idempotency_keys.actor IS 'Who made the write.';


--
-- Name: COLUMN idempotency_keys.result; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.idempotency_keys.result IS 'What the write returned, as JSON, handed back to retries.';


--
-- Name: COLUMN idempotency_keys.created_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.idempotency_keys.created_at IS 'When the write committed; old keys can be deleted after the retry window.';


--
-- Name: reports; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.reports (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    report_type public.report_type NOT NULL,
    status public.report_status DEFAULT 'pending'::public.report_status NOT NULL,
    title text NOT NULL,
    parameters jsonb DEFAULT '{}'::jsonb NOT NULL,
    format public.report_format DEFAULT 'pdf'::public.report_format NOT NULL,
    output_location text,
    generated_by text NOT NULL,
    error_message text,
    completed_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT reports_completed_at_check CHECK (((completed_at IS NOT NULL) = (status = ANY (ARRAY['completed'::public.report_status, 'failed'::public.report_status])))),
    CONSTRAINT reports_error_message_check CHECK ((((status <> 'failed'::public.report_status) OR (error_message IS NOT NULL)) AND ((error_message IS NULL) OR (btrim(error_message) <> ''::text)))),
    CONSTRAINT reports_generated_by_check CHECK ((public.name_is_clean(generated_by) AND (char_length(generated_by) <= 200))),
    CONSTRAINT reports_output_location_check CHECK ((((status <> 'completed'::public.report_status) OR (output_location IS NOT NULL)) AND ((output_location IS NULL) OR (btrim(output_location) <> ''::text)))),
    CONSTRAINT reports_parameters_check CHECK ((jsonb_typeof(parameters) = 'object'::text)),
    CONSTRAINT reports_title_check CHECK ((public.name_is_clean(title) AND (char_length(title) <= 200)))
);


--
-- Name: TABLE reports; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.reports IS 'A request for a generated quality report, its progress and where the output is stored.';


--
-- Name: COLUMN reports.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.reports.id IS 'Primary key, generated by the database.';


--
-- Name: COLUMN reports.report_type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.reports.report_type IS 'Kind of report, e.g. lot_summary, defect_pareto, yield_trend.';


--
-- Name: COLUMN reports.status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.reports.status IS 'Progress: pending, generating, completed or failed.';


--
-- Name: COLUMN reports.title; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.reports.title IS 'Title shown to readers (1 to 200 characters, not blank).';


--
-- Name: COLUMN reports.parameters; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.reports.parameters IS 'What the report covers, as a JSON object, e.g. {"lot_ids": [...], "from": "2025-11-01", "to": "2025-11-30"}.';


--
-- Name: COLUMN reports.format; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.reports.format IS 'Output file format: pdf, csv, json, xlsx or html.';


--
-- Name: COLUMN reports.output_location; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.reports.output_location IS 'Where the generated file is stored, e.g. s3://reports/2025/11/lot-summary.pdf; required when completed.';


--
-- Name: COLUMN reports.generated_by; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.reports.generated_by IS 'Who requested the report (user or service name).';


--
-- Name: COLUMN reports.error_message; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.reports.error_message IS 'Why generation failed; required when failed.';


--
-- Name: COLUMN reports.completed_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.reports.completed_at IS 'When generation finished; set exactly when status is completed or failed.';


--
-- Name: COLUMN reports.created_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.reports.created_at IS 'When the report was requested (row inserted); immutable.';


--
-- Name: COLUMN reports.updated_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.reports.updated_at IS 'When the row last changed; maintained by a trigger.';


--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version character varying NOT NULL
);


--
-- Name: audit_log_default; Type: TABLE ATTACH; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log ATTACH PARTITION public.audit_log_default DEFAULT;


--
-- Name: analytics_refreshes analytics_refreshes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_refreshes
    ADD CONSTRAINT analytics_refreshes_pkey PRIMARY KEY (view_name);


--
-- Name: artifacts artifacts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.artifacts
    ADD CONSTRAINT artifacts_pkey PRIMARY KEY (id);


--
-- Name: audit_chain_head audit_chain_head_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_chain_head
    ADD CONSTRAINT audit_chain_head_pkey PRIMARY KEY (id);


--
-- Name: audit_checkpoints audit_checkpoints_month_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_checkpoints
    ADD CONSTRAINT audit_checkpoints_month_key UNIQUE (month);


--
-- Name: audit_checkpoints audit_checkpoints_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_checkpoints
    ADD CONSTRAINT audit_checkpoints_pkey PRIMARY KEY (ordinal);


--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id, recorded_at);


--
-- Name: audit_log_default audit_log_default_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log_default
    ADD CONSTRAINT audit_log_default_pkey PRIMARY KEY (id, recorded_at);


--
-- Name: audit_log audit_log_seq_recorded_at_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_seq_recorded_at_key UNIQUE (seq, recorded_at);


--
-- Name: audit_log_default audit_log_default_seq_recorded_at_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log_default
    ADD CONSTRAINT audit_log_default_seq_recorded_at_key UNIQUE (seq, recorded_at);


--
-- Name: defects defects_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.defects
    ADD CONSTRAINT defects_pkey PRIMARY KEY (id);


--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (key);


--
-- Name: inference_jobs inference_jobs_inspection_id_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.inference_jobs
    ADD CONSTRAINT inference_jobs_inspection_id_id_key UNIQUE (inspection_id, id);


--
-- Name: inference_jobs inference_jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.inference_jobs
    ADD CONSTRAINT inference_jobs_pkey PRIMARY KEY (id);


--
-- Name: inspections inspections_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.inspections
    ADD CONSTRAINT inspections_pkey PRIMARY KEY (id);


--
-- Name: lots lots_lot_number_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lots
    ADD CONSTRAINT lots_lot_number_key UNIQUE (lot_number);


--
-- Name: lots lots_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lots
    ADD CONSTRAINT lots_pkey PRIMARY KEY (id);


--
-- Name: parts parts_part_number_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.parts
    ADD CONSTRAINT parts_part_number_key UNIQUE (part_number);


--
-- Name: parts parts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.parts
    ADD CONSTRAINT parts_pkey PRIMARY KEY (id);


--
-- Name: reports reports_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.reports
    ADD CONSTRAINT reports_pkey PRIMARY KEY (id);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: analytics_defect_pareto_part_id_defect_type_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX analytics_defect_pareto_part_id_defect_type_key ON public.analytics_defect_pareto USING btree (part_id, defect_type);


--
-- Name: analytics_inference_latency_model_name_model_version_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX analytics_inference_latency_model_name_model_version_key ON public.analytics_inference_latency USING btree (model_name, model_version);


--
-- Name: analytics_lot_yield_lot_id_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX analytics_lot_yield_lot_id_key ON public.analytics_lot_yield USING btree (lot_id);


--
-- Name: analytics_lot_yield_part_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX analytics_lot_yield_part_id_idx ON public.analytics_lot_yield USING btree (part_id);


--
-- Name: artifacts_checksum_sha256_created_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX artifacts_checksum_sha256_created_at_id_idx ON public.artifacts USING btree (checksum_sha256, created_at, id);


--
-- Name: artifacts_created_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX artifacts_created_at_id_idx ON public.artifacts USING btree (created_at, id);


--
-- Name: artifacts_inference_job_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX artifacts_inference_job_id_idx ON public.artifacts USING btree (inference_job_id);


--
-- Name: artifacts_inspection_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX artifacts_inspection_id_idx ON public.artifacts USING btree (inspection_id);


--
-- Name: artifacts_storage_uri_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX artifacts_storage_uri_idx ON public.artifacts USING btree (storage_uri);


--
-- Name: audit_log_actor_occurred_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_log_actor_occurred_at_idx ON ONLY public.audit_log USING btree (actor, occurred_at);


--
-- Name: audit_log_default_actor_occurred_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_log_default_actor_occurred_at_idx ON public.audit_log_default USING btree (actor, occurred_at);


--
-- Name: audit_log_occurred_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_log_occurred_at_idx ON ONLY public.audit_log USING btree (occurred_at);


--
-- Name: audit_log_default_occurred_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_log_default_occurred_at_idx ON public.audit_log_default USING btree (occurred_at);


--
-- Name: audit_log_recorded_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_log_recorded_at_id_idx ON ONLY public.audit_log USING btree (recorded_at, id);


--
-- Name: audit_log_default_recorded_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_log_default_recorded_at_id_idx ON public.audit_log_default USING btree (recorded_at, id);


--
-- Name: audit_log_table_name_record_id_occurred_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_log_table_name_record_id_occurred_at_idx ON ONLY public.audit_log USING btree (table_name, record_id, occurred_at);


--
-- Name: audit_log_default_table_name_record_id_occurred_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_log_default_table_name_record_id_occurred_at_idx ON public.audit_log_default USING btree (table_name, record_id, occurred_at);


--
-- Name: defects_created_at_critical_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX defects_created_at_critical_idx ON public.defects USING btree (created_at) WHERE (severity = 'critical'::public.defect_severity);


--
-- Name: defects_created_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX defects_created_at_id_idx ON public.defects USING btree (created_at, id);


--
-- Name: defects_inspection_id_severity_defect_type_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX defects_inspection_id_severity_defect_type_idx ON public.defects USING btree (inspection_id, severity) INCLUDE (defect_type);


--
-- Name: defects_location_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX defects_location_idx ON public.defects USING gin (location);


--
-- Name: idempotency_keys_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idempotency_keys_created_at_idx ON public.idempotency_keys USING btree (created_at);


--
-- Name: inference_jobs_created_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX inference_jobs_created_at_id_idx ON public.inference_jobs USING btree (created_at, id);


--
-- Name: inference_jobs_priority_created_at_pending_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX inference_jobs_priority_created_at_pending_idx ON public.inference_jobs USING btree (priority DESC, created_at) WHERE (status = 'pending'::public.inference_job_status);


--
-- Name: inference_jobs_results_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX inference_jobs_results_idx ON public.inference_jobs USING gin (results);


--
-- Name: inference_jobs_started_at_running_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX inference_jobs_started_at_running_idx ON public.inference_jobs USING btree (started_at) WHERE (status = 'running'::public.inference_job_status);


--
-- Name: inspections_completed_at_completed_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX inspections_completed_at_completed_idx ON public.inspections USING btree (completed_at) WHERE (status = 'completed'::public.inspection_status);


--
-- Name: inspections_created_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX inspections_created_at_id_idx ON public.inspections USING btree (created_at, id);


--
-- Name: inspections_created_at_open_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX inspections_created_at_open_idx ON public.inspections USING btree (created_at) WHERE (status = ANY (ARRAY['pending'::public.inspection_status, 'in_progress'::public.inspection_status]));


--
-- Name: inspections_lot_id_status_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX inspections_lot_id_status_idx ON public.inspections USING btree (lot_id, status);


--
-- Name: inspections_results_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX inspections_results_idx ON public.inspections USING gin (results);


--
-- Name: lots_created_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX lots_created_at_id_idx ON public.lots USING btree (created_at, id);


--
-- Name: lots_part_id_status_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX lots_part_id_status_idx ON public.lots USING btree (part_id, status);


--
-- Name: lots_production_date_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX lots_production_date_idx ON public.lots USING btree (production_date);


--
-- Name: parts_created_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX parts_created_at_id_idx ON public.parts USING btree (created_at, id);


--
-- Name: parts_specifications_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX parts_specifications_idx ON public.parts USING gin (specifications jsonb_path_ops);


--
-- Name: reports_created_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX reports_created_at_id_idx ON public.reports USING btree (created_at, id);


--
-- Name: reports_created_at_pending_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX reports_created_at_pending_idx ON public.reports USING btree (created_at) WHERE (status = 'pending'::public.report_status);


--
-- Name: reports_report_type_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX reports_report_type_created_at_idx ON public.reports USING btree (report_type, created_at);


--
-- Name: audit_log_default_actor_occurred_at_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.audit_log_actor_occurred_at_idx ATTACH PARTITION public.audit_log_default_actor_occurred_at_idx;


--
-- Name: audit_log_default_occurred_at_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.audit_log_occurred_at_idx ATTACH PARTITION public.audit_log_default_occurred_at_idx;


--
-- Name: audit_log_default_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.audit_log_pkey ATTACH PARTITION public.audit_log_default_pkey;


--
-- Name: audit_log_default_recorded_at_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.audit_log_recorded_at_id_idx ATTACH PARTITION public.audit_log_default_recorded_at_id_idx;


--
-- Name: audit_log_default_seq_recorded_at_key; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.audit_log_seq_recorded_at_key ATTACH PARTITION public.audit_log_default_seq_recorded_at_key;


--
-- Name: audit_log_default_table_name_record_id_occurred_at_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.audit_log_table_name_record_id_occurred_at_idx ATTACH PARTITION public.audit_log_default_table_name_record_id_occurred_at_idx;


--
-- Name: analytics_refreshes analytics_refreshes_notify_cache; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER analytics_refreshes_notify_cache AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.analytics_refreshes FOR EACH STATEMENT EXECUTE FUNCTION public.notify_cache_of_write();


--
-- Name: artifacts artifacts_audit_row_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER artifacts_audit_row_change AFTER INSERT OR DELETE OR UPDATE ON public.artifacts FOR EACH ROW EXECUTE FUNCTION public.audit_row_change();


--
-- Name: artifacts artifacts_keep_created_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER artifacts_keep_created_at BEFORE UPDATE ON public.artifacts FOR EACH ROW WHEN ((new.created_at IS DISTINCT FROM old.created_at)) EXECUTE FUNCTION public.keep_created_at();


--
-- Name: artifacts artifacts_notify_cache; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER artifacts_notify_cache AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.artifacts FOR EACH STATEMENT EXECUTE FUNCTION public.notify_cache_of_write();


--
-- Name: artifacts artifacts_refuse_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER artifacts_refuse_truncate BEFORE TRUNCATE ON public.artifacts FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_truncate();


--
-- Name: artifacts artifacts_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER artifacts_set_updated_at BEFORE UPDATE ON public.artifacts FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION public.set_updated_at();


--
-- Name: audit_checkpoints audit_checkpoints_chain; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_checkpoints_chain BEFORE INSERT ON public.audit_checkpoints FOR EACH ROW EXECUTE FUNCTION public.audit_checkpoint_chain();


--
-- Name: audit_checkpoints audit_checkpoints_notify_cache; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_checkpoints_notify_cache AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION public.notify_cache_of_write();


--
-- Name: audit_checkpoints audit_checkpoints_refuse_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_checkpoints_refuse_change BEFORE DELETE OR UPDATE ON public.audit_checkpoints FOR EACH ROW EXECUTE FUNCTION public.refuse_audit_checkpoint_change();


--
-- Name: audit_checkpoints audit_checkpoints_refuse_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_checkpoints_refuse_truncate BEFORE TRUNCATE ON public.audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_audit_checkpoint_change();


--
-- Name: audit_log audit_log_advance_chain; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER audit_log_advance_chain AFTER INSERT ON public.audit_log DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.audit_chain_advance();


--
-- Name: audit_log audit_log_notify_cache; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_log_notify_cache AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.audit_log FOR EACH STATEMENT EXECUTE FUNCTION public.notify_cache_of_write();


--
-- Name: audit_log audit_log_refuse_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_log_refuse_change BEFORE DELETE OR UPDATE ON public.audit_log FOR EACH ROW EXECUTE FUNCTION public.refuse_audit_log_change();


--
-- Name: audit_log audit_log_refuse_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_log_refuse_truncate BEFORE TRUNCATE ON public.audit_log FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_audit_log_change();


--
-- Name: audit_log_default audit_log_refuse_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_log_refuse_truncate BEFORE TRUNCATE ON public.audit_log_default FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_audit_log_change();


--
-- Name: defects defects_audit_row_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER defects_audit_row_change AFTER INSERT OR DELETE OR UPDATE ON public.defects FOR EACH ROW EXECUTE FUNCTION public.audit_row_change();


--
-- Name: defects defects_keep_created_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER defects_keep_created_at BEFORE UPDATE ON public.defects FOR EACH ROW WHEN ((new.created_at IS DISTINCT FROM old.created_at)) EXECUTE FUNCTION public.keep_created_at();


--
-- Name: defects defects_notify_cache; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER defects_notify_cache AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.defects FOR EACH STATEMENT EXECUTE FUNCTION public.notify_cache_of_write();


--
-- Name: defects defects_refuse_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER defects_refuse_truncate BEFORE TRUNCATE ON public.defects FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_truncate();


--
-- Name: defects defects_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER defects_set_updated_at BEFORE UPDATE ON public.defects FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION public.set_updated_at();


--
-- Name: idempotency_keys idempotency_keys_notify_cache; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER idempotency_keys_notify_cache AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.idempotency_keys FOR EACH STATEMENT EXECUTE FUNCTION public.notify_cache_of_write();


--
-- Name: inference_jobs inference_jobs_audit_row_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER inference_jobs_audit_row_change AFTER INSERT OR DELETE OR UPDATE ON public.inference_jobs FOR EACH ROW EXECUTE FUNCTION public.audit_row_change();


--
-- Name: inference_jobs inference_jobs_keep_created_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER inference_jobs_keep_created_at BEFORE UPDATE ON public.inference_jobs FOR EACH ROW WHEN ((new.created_at IS DISTINCT FROM old.created_at)) EXECUTE FUNCTION public.keep_created_at();


--
-- Name: inference_jobs inference_jobs_notify_cache; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER inference_jobs_notify_cache AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.inference_jobs FOR EACH STATEMENT EXECUTE FUNCTION public.notify_cache_of_write();


--
-- Name: inference_jobs inference_jobs_refuse_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER inference_jobs_refuse_truncate BEFORE TRUNCATE ON public.inference_jobs FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_truncate();


--
-- Name: inference_jobs inference_jobs_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER inference_jobs_set_updated_at BEFORE UPDATE ON public.inference_jobs FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION public.set_updated_at();


--
-- Name: inspections inspections_audit_row_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER inspections_audit_row_change AFTER INSERT OR DELETE OR UPDATE ON public.inspections FOR EACH ROW EXECUTE FUNCTION public.audit_row_change();


--
-- Name: inspections inspections_keep_created_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER inspections_keep_created_at BEFORE UPDATE ON public.inspections FOR EACH ROW WHEN ((new.created_at IS DISTINCT FROM old.created_at)) EXECUTE FUNCTION public.keep_created_at();


--
-- Name: inspections inspections_notify_cache; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER inspections_notify_cache AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.inspections FOR EACH STATEMENT EXECUTE FUNCTION public.notify_cache_of_write();


--
-- Name: inspections inspections_refuse_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER inspections_refuse_truncate BEFORE TRUNCATE ON public.inspections FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_truncate();


--
-- Name: inspections inspections_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER inspections_set_updated_at BEFORE UPDATE ON public.inspections FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION public.set_updated_at();


--
-- Name: lots lots_audit_row_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER lots_audit_row_change AFTER INSERT OR DELETE OR UPDATE ON public.lots FOR EACH ROW EXECUTE FUNCTION public.audit_row_change();


--
-- Name: lots lots_keep_created_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER lots_keep_created_at BEFORE UPDATE ON public.lots FOR EACH ROW WHEN ((new.created_at IS DISTINCT FROM old.created_at)) EXECUTE FUNCTION public.keep_created_at();


--
-- Name: lots lots_notify_cache; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER lots_notify_cache AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.lots FOR EACH STATEMENT EXECUTE FUNCTION public.notify_cache_of_write();


--
-- Name: lots lots_refuse_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER lots_refuse_truncate BEFORE TRUNCATE ON public.lots FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_truncate();


--
-- Name: lots lots_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER lots_set_updated_at BEFORE UPDATE ON public.lots FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION public.set_updated_at();


--
-- Name: parts parts_audit_row_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER parts_audit_row_change AFTER INSERT OR DELETE OR UPDATE ON public.parts FOR EACH ROW EXECUTE FUNCTION public.audit_row_change();


--
-- Name: parts parts_keep_created_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER parts_keep_created_at BEFORE UPDATE ON public.parts FOR EACH ROW WHEN ((new.created_at IS DISTINCT FROM old.created_at)) EXECUTE FUNCTION public.keep_created_at();


--
-- Name: parts parts_notify_cache; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER parts_notify_cache AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.parts FOR EACH STATEMENT EXECUTE FUNCTION public.notify_cache_of_write();


--
-- Name: parts parts_refuse_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER parts_refuse_truncate BEFORE TRUNCATE ON public.parts FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_truncate();


--
-- Name: parts parts_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER parts_set_updated_at BEFORE UPDATE ON public.parts FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION public.set_updated_at();


--
-- Name: reports reports_audit_row_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER reports_audit_row_change AFTER INSERT OR DELETE OR UPDATE ON public.reports FOR EACH ROW EXECUTE FUNCTION public.audit_row_change();


--
-- Name: reports reports_keep_created_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER reports_keep_created_at BEFORE UPDATE ON public.reports FOR EACH ROW WHEN ((new.created_at IS DISTINCT FROM old.created_at)) EXECUTE FUNCTION public.keep_created_at();


--
-- Name: reports reports_notify_cache; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER reports_notify_cache AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.reports FOR EACH STATEMENT EXECUTE FUNCTION public.notify_cache_of_write();


--
-- Name: reports reports_refuse_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER reports_refuse_truncate BEFORE TRUNCATE ON public.reports FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_truncate();


--
-- Name: reports reports_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER reports_set_updated_at BEFORE UPDATE ON public.reports FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION public.set_updated_at();


--
-- Name: artifacts artifacts_inference_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.artifacts
    ADD CONSTRAINT artifacts_inference_job_id_fkey FOREIGN KEY (inference_job_id) REFERENCES public.inference_jobs(id) ON DELETE CASCADE;


--
-- Name: artifacts artifacts_inspection_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.artifacts
    ADD CONSTRAINT artifacts_inspection_id_fkey FOREIGN KEY (inspection_id) REFERENCES public.inspections(id) ON DELETE CASCADE;


--
-- Name: artifacts artifacts_inspection_id_inference_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.artifacts
    ADD CONSTRAINT artifacts_inspection_id_inference_job_id_fkey FOREIGN KEY (inspection_id, inference_job_id) REFERENCES public.inference_jobs(inspection_id, id) ON DELETE CASCADE;


--
-- Name: defects defects_inspection_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.defects
    ADD CONSTRAINT defects_inspection_id_fkey FOREIGN KEY (inspection_id) REFERENCES public.inspections(id) ON DELETE CASCADE;


--
-- Name: inference_jobs inference_jobs_inspection_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.inference_jobs
    ADD CONSTRAINT inference_jobs_inspection_id_fkey FOREIGN KEY (inspection_id) REFERENCES public.inspections(id) ON DELETE CASCADE;


--
-- Name: inspections inspections_lot_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.inspections
    ADD CONSTRAINT inspections_lot_id_fkey FOREIGN KEY (lot_id) REFERENCES public.lots(id) ON DELETE RESTRICT;


--
-- Name: lots lots_part_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lots
    ADD CONSTRAINT lots_part_id_fkey FOREIGN KEY (part_id) REFERENCES public.parts(id) ON DELETE RESTRICT;


--
-- PostgreSQL database dump complete
--

\unrestrict dbmate


--
-- Dbmate schema migrations
--

INSERT INTO public.schema_migrations (version) VALUES
    ('20261125000100'),
    ('20261125000200'),
    ('20261125000300'),
    ('20261125000400'),
    ('20261125000500'),
    ('20261125000600'),
    ('20261125000700'),
    ('20261125000800'),
    ('20261130000900'),
    ('20261201000100'),
    ('20261201000200'),
    ('20261201000300'),
    ('20261201000500'),
    ('20261201000600'),
    ('20261201000700'),
    ('20261207000100'),
    ('20261207000200'),
    ('20261207000300');
