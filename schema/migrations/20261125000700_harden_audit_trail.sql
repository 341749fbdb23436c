-- Audit trail fit for 21 CFR Part 11: attributed, append-only, tamper-evident;
-- least-privilege roles with per-role timeouts.
--
-- 1. Roles (cluster-wide, so created only when missing). All but the owner
--    may log in; none gets a password here: the DBA gives each service its
--    password or certificate (ALTER ROLE chipq_app_rw PASSWORD ...) in pg_hba's
--    terms. Services log in as these roles themselves, so the per-role
--    timeouts below apply to their sessions:
--      chipq_owner         owns every object; never given LOGIN
--      chipq_migrator      runs migrations: a member of chipq_owner, so it
--                          has the owner's powers; may write to audited
--                          tables without naming an actor
--      chipq_app_rw        DML on the business tables, SELECT on audit_log
--      chipq_reporting_ro  SELECT on the business tables
--      chipq_auditor_ro    SELECT on everything, audit chain included
--    No role but the owner, its member chipq_migrator and superusers can
--    UPDATE, DELETE or TRUNCATE audit_log, disable a trigger, or run DDL here;
--    session_replication_role is a superuser-only setting. ALTER ROLE ... SET
--    applies to the role a session logs in as, not to the roles that one is a
--    member of: another login user made IN ROLE chipq_app_rw needs the same
--    settings copied onto it. This migration creates roles: it needs a
--    superuser (or CREATEROLE); later ones can run as chipq_migrator. Privileges are not in dbmate's dump:
--    tests/audit/test_roles.py checks the grant matrix.
-- 2. Attribution: a write to an audited table with no app.actor set is refused
--    (SQLSTATE CQ001) unless the acting role is a member of chipq_migrator
--    (superusers are members of every role).
-- 3. Tamper evidence: each audit row carries seq, prev_hash and row_hash =
--    sha256(prev_hash || canonical JSON of the row). The chain head is a
--    single row locked FOR UPDATE by every audited write, so concurrent
--    writers append one after another and the chain cannot fork (reading "the
--    previous row" instead forked under concurrency). The head is held until
--    the writing transaction ends: audited writes are serialised at commit.
--    The chain's end is the audit row with the highest seq, found by one
--    probe of audit_log_seq_key under that lock; a deferred constraint trigger
--    moves the head to it once, at commit (updating the head row for every
--    audited row made a 20,000-row COPY six times slower: each update of a row
--    already updated in the same transaction walks its version chain). Nothing
--    is taken from session settings, which any role could forge.
--    Costs: audited writers wait for each other from their first audited write
--    to commit; two transactions that lock rows in opposite orders now deadlock
--    (40P01) where one used to wait; a REPEATABLE READ or SERIALIZABLE
--    transaction whose snapshot predates another writer's commit gets 40001 at
--    its first audited write. Both are RetryableError in the runtime. A
--    transaction that wrote audited rows cannot ALTER audit_log afterwards
--    ("pending trigger events") without SET CONSTRAINTS ALL IMMEDIATE first.
--    Existing audit rows are chained in (recorded_at, id) order.
-- 4. TRUNCATE of a business table is refused: it would skip the row triggers
--    and so the audit trail.
--
-- Locking: ALTER TABLE audit_log takes an ACCESS EXCLUSIVE lock while it adds
-- three columns and rewrites nothing else; the backfill updates every
-- existing audit row once (its length is that of the audit log).

-- migrate:up

-- audit_log's new columns become NOT NULL and UNIQUE under the lock this
-- migration holds anyway (see the backfill below), so these rules, meant for
-- constraints added to busy tables, do not apply here.
-- squawk-ignore-file adding-not-nullable-field, constraint-missing-not-valid, disallowed-unique-constraint

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '10min';

DO $roles$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY[
        'chipq_owner', 'chipq_migrator', 'chipq_app_rw', 'chipq_reporting_ro', 'chipq_auditor_ro'
    ] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
        END IF;
    END LOOP;
END
$roles$;
-- The owner never logs in; the others do, as themselves.
ALTER ROLE chipq_owner NOLOGIN;
ALTER ROLE chipq_migrator LOGIN;
ALTER ROLE chipq_app_rw LOGIN;
ALTER ROLE chipq_reporting_ro LOGIN;
ALTER ROLE chipq_auditor_ro LOGIN;

GRANT chipq_owner TO chipq_migrator;

-- Per-role limits: a stuck application query or forgotten transaction ends
-- instead of holding locks; reports and audits may read for longer.
ALTER ROLE chipq_app_rw SET statement_timeout = '30s';
ALTER ROLE chipq_app_rw SET lock_timeout = '5s';
ALTER ROLE chipq_app_rw SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE chipq_reporting_ro SET statement_timeout = '5min';
ALTER ROLE chipq_reporting_ro SET lock_timeout = '5s';
ALTER ROLE chipq_reporting_ro SET idle_in_transaction_session_timeout = '5min';
ALTER ROLE chipq_auditor_ro SET statement_timeout = '15min';
ALTER ROLE chipq_auditor_ro SET lock_timeout = '5s';
ALTER ROLE chipq_auditor_ro SET idle_in_transaction_session_timeout = '5min';

-- The chain.
CREATE TABLE audit_chain_head (
    id bigint NOT NULL DEFAULT 1,
    seq bigint NOT NULL,
    last_hash bytea NOT NULL,
    CONSTRAINT audit_chain_head_pkey PRIMARY KEY (id),
    CONSTRAINT audit_chain_head_id_check CHECK (id = 1),
    CONSTRAINT audit_chain_head_seq_check CHECK (seq >= 0),
    CONSTRAINT audit_chain_head_last_hash_check CHECK (octet_length(last_hash) = 32)
);
COMMENT ON TABLE audit_chain_head IS 'The one row holding the audit chain''s last sequence number and hash; every audited write locks it (FOR UPDATE) to append to the chain.';

ALTER TABLE audit_log
    ADD COLUMN seq bigint,
    ADD COLUMN prev_hash bytea,
    ADD COLUMN row_hash bytea;
COMMENT ON COLUMN audit_log.seq IS 'Position in the hash chain: 1, 2, 3, ... without gaps.';
COMMENT ON COLUMN audit_log.prev_hash IS 'row_hash of the entry before (32 zero bytes for the first).';
COMMENT ON COLUMN audit_log.row_hash IS 'sha256(prev_hash || canonical JSON of this entry): audit_row_digest().';

-- The canonical form of an entry: a JSON array (unambiguous, unlike joined
-- text) with times in UTC at microsecond precision.
CREATE FUNCTION audit_row_digest(
    prev_hash bytea, seq bigint, id uuid, table_name text, record_id uuid, action audit_action,
    old_values jsonb, new_values jsonb, changed_fields text[], actor text, session_id text,
    txid bigint, occurred_at timestamptz, recorded_at timestamptz
) RETURNS bytea
    LANGUAGE sql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, public
AS $$
    SELECT sha256(prev_hash || convert_to(jsonb_build_array(
        seq, id, table_name, record_id, action, old_values, new_values, changed_fields, actor,
        session_id, txid,
        to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
    )::text, 'UTF8'))
$$;
COMMENT ON FUNCTION audit_row_digest(bytea, bigint, uuid, text, uuid, audit_action, jsonb, jsonb, text[], text, text, bigint, timestamptz, timestamptz) IS 'The hash of one audit entry chained to the previous one; the audit trigger and the verifier both use it.';

-- Chain the rows written before this migration, oldest first.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_refuse_change;
DO $backfill$
DECLARE
    entry record;
    position bigint := 0;
    previous bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
BEGIN
    FOR entry IN SELECT * FROM audit_log ORDER BY recorded_at, id LOOP
        position := position + 1;
        UPDATE audit_log
           SET seq = position,
               prev_hash = previous,
               row_hash = audit_row_digest(
                   previous, position, entry.id, entry.table_name, entry.record_id,
                   entry.action, entry.old_values, entry.new_values, entry.changed_fields,
                   entry.actor, entry.session_id, entry.txid, entry.occurred_at,
                   entry.recorded_at)
         WHERE id = entry.id
        RETURNING row_hash INTO previous;
    END LOOP;
    INSERT INTO audit_chain_head (id, seq, last_hash) VALUES (1, position, previous);
END
$backfill$;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_refuse_change;

-- Deliberately under the ACCESS EXCLUSIVE lock this migration holds on
-- audit_log since the ADD COLUMN above: no audit row may be written between
-- the backfill and these constraints, or it would escape the chain.
ALTER TABLE audit_log
    ALTER COLUMN seq SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN row_hash SET NOT NULL,
    ADD CONSTRAINT audit_log_seq_key UNIQUE (seq),
    ADD CONSTRAINT audit_log_prev_hash_check CHECK (octet_length(prev_hash) = 32),
    ADD CONSTRAINT audit_log_row_hash_check CHECK (octet_length(row_hash) = 32);

-- The audit trigger, now strict about the actor and appending to the chain.
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
    entry_actor := nullif(btrim(current_setting('app.actor', true)), '');
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

-- At commit (deferred), the transaction's last audit row moves the head to
-- itself; the rows before it return after one index probe. A savepoint rolled
-- back takes its rows and their pending events with it.
CREATE FUNCTION audit_chain_advance() RETURNS trigger
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
REVOKE ALL ON FUNCTION audit_chain_advance() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER audit_log_advance_chain
    AFTER INSERT ON audit_log
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION audit_chain_advance();

-- TRUNCATE skips row triggers, and so the audit trail: refuse it.
CREATE FUNCTION refuse_truncate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public
AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE of % is not allowed: it would bypass the audit trail', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation',
              TABLE = TG_TABLE_NAME,
              HINT = 'DELETE the rows instead, so each deletion is audited.';
END;
$$;

CREATE TRIGGER parts_refuse_truncate BEFORE TRUNCATE ON parts
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER lots_refuse_truncate BEFORE TRUNCATE ON lots
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER inspections_refuse_truncate BEFORE TRUNCATE ON inspections
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER defects_refuse_truncate BEFORE TRUNCATE ON defects
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER inference_jobs_refuse_truncate BEFORE TRUNCATE ON inference_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER artifacts_refuse_truncate BEFORE TRUNCATE ON artifacts
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER reports_refuse_truncate BEFORE TRUNCATE ON reports
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();

-- Ownership and privileges.
ALTER TABLE parts OWNER TO chipq_owner;
ALTER TABLE lots OWNER TO chipq_owner;
ALTER TABLE inspections OWNER TO chipq_owner;
ALTER TABLE defects OWNER TO chipq_owner;
ALTER TABLE inference_jobs OWNER TO chipq_owner;
ALTER TABLE artifacts OWNER TO chipq_owner;
ALTER TABLE reports OWNER TO chipq_owner;
ALTER TABLE audit_log OWNER TO chipq_owner;
ALTER TABLE audit_chain_head OWNER TO chipq_owner;
ALTER FUNCTION audit_row_change() OWNER TO chipq_owner;
ALTER FUNCTION audit_chain_advance() OWNER TO chipq_owner;
ALTER FUNCTION audit_row_digest(bytea, bigint, uuid, text, uuid, audit_action, jsonb, jsonb, text[], text, text, bigint, timestamptz, timestamptz) OWNER TO chipq_owner;
ALTER FUNCTION refuse_audit_log_change() OWNER TO chipq_owner;
ALTER FUNCTION refuse_truncate() OWNER TO chipq_owner;
ALTER FUNCTION set_updated_at() OWNER TO chipq_owner;
ALTER FUNCTION keep_created_at() OWNER TO chipq_owner;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- The owner creates the objects of later migrations; through it, chipq_migrator
-- can run them and record them in dbmate's table.
GRANT USAGE, CREATE ON SCHEMA public TO chipq_owner;
ALTER TABLE schema_migrations OWNER TO chipq_owner;
REVOKE ALL ON audit_log, audit_chain_head FROM PUBLIC;
REVOKE ALL ON parts, lots, inspections, defects, inference_jobs, artifacts, reports FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_row_change() FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO chipq_app_rw, chipq_reporting_ro, chipq_auditor_ro;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON parts, lots, inspections, defects, inference_jobs, artifacts, reports TO chipq_app_rw;
GRANT SELECT ON audit_log TO chipq_app_rw;
GRANT SELECT ON parts, lots, inspections, defects, inference_jobs, artifacts, reports
    TO chipq_reporting_ro, chipq_auditor_ro;
GRANT SELECT ON audit_log, audit_chain_head TO chipq_auditor_ro;

-- migrate:down

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '10min';

REVOKE ALL ON parts, lots, inspections, defects, inference_jobs, artifacts, reports
    FROM chipq_app_rw, chipq_reporting_ro, chipq_auditor_ro;
REVOKE ALL ON audit_log FROM chipq_app_rw, chipq_auditor_ro;
REVOKE ALL ON SCHEMA public FROM chipq_app_rw, chipq_reporting_ro, chipq_auditor_ro;

ALTER TABLE parts OWNER TO CURRENT_USER;
ALTER TABLE lots OWNER TO CURRENT_USER;
ALTER TABLE inspections OWNER TO CURRENT_USER;
ALTER TABLE defects OWNER TO CURRENT_USER;
ALTER TABLE inference_jobs OWNER TO CURRENT_USER;
ALTER TABLE artifacts OWNER TO CURRENT_USER;
ALTER TABLE reports OWNER TO CURRENT_USER;
ALTER TABLE audit_log OWNER TO CURRENT_USER;
ALTER FUNCTION refuse_audit_log_change() OWNER TO CURRENT_USER;
ALTER FUNCTION set_updated_at() OWNER TO CURRENT_USER;
ALTER FUNCTION keep_created_at() OWNER TO CURRENT_USER;
ALTER FUNCTION audit_row_change() OWNER TO CURRENT_USER;

DROP TRIGGER reports_refuse_truncate ON reports;
DROP TRIGGER artifacts_refuse_truncate ON artifacts;
DROP TRIGGER inference_jobs_refuse_truncate ON inference_jobs;
DROP TRIGGER defects_refuse_truncate ON defects;
DROP TRIGGER inspections_refuse_truncate ON inspections;
DROP TRIGGER lots_refuse_truncate ON lots;
DROP TRIGGER parts_refuse_truncate ON parts;
DROP FUNCTION refuse_truncate();
DROP TRIGGER audit_log_advance_chain ON audit_log;
DROP FUNCTION audit_chain_advance();

-- The trigger as migration 20261125000600 made it: falls back to the login.
CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    old_row jsonb;
    new_row jsonb;
    changed text[];
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
    INSERT INTO audit_log (
        table_name, record_id, action, old_values, new_values, changed_fields,
        actor, session_id, txid, occurred_at, recorded_at
    ) VALUES (
        TG_TABLE_NAME,
        (coalesce(new_row, old_row) ->> 'id')::uuid,
        lower(TG_OP)::audit_action,
        old_row,
        new_row,
        changed,
        coalesce(nullif(btrim(current_setting('app.actor', true)), ''),
                 'db:' || session_user),
        nullif(btrim(current_setting('app.session_id', true)), ''),
        pg_current_xact_id()::text::bigint,
        now(),
        clock_timestamp()
    );
    RETURN NULL;
END;
$$;

ALTER TABLE audit_log
    DROP CONSTRAINT audit_log_row_hash_check,
    DROP CONSTRAINT audit_log_prev_hash_check,
    DROP CONSTRAINT audit_log_seq_key,
    DROP COLUMN row_hash,
    DROP COLUMN prev_hash,
    DROP COLUMN seq;
DROP FUNCTION audit_row_digest(bytea, bigint, uuid, text, uuid, audit_action, jsonb, jsonb, text[], text, text, bigint, timestamptz, timestamptz);
DROP TABLE audit_chain_head;

-- The roles and their memberships stay: they are cluster-wide, and other
-- databases of this cluster (other environments, test databases) use them.
REVOKE ALL ON SCHEMA public FROM chipq_owner;
ALTER TABLE schema_migrations OWNER TO CURRENT_USER;
