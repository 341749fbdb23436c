-- The audit trigger remembers the chain's end within a transaction.
--
-- Every audited row had the trigger look up the chain's end in audit_log: on the
-- partitioned table a generic plan over the parent, pruned at run time, about
-- 10 us more per row than the plain table's index probe (a 2,000-row audited
-- INSERT ... SELECT ran at 0.87x of the plain table). A transaction that has
-- appended an entry holds the chain head's row lock, so nobody else appended
-- since: its own last entry is the end. The trigger now keeps it in the
-- transaction-local setting audit.chain_end (reset at commit and rollback, and
-- rolled back with a savepoint together with the entries it describes) and
-- looks in audit_log only for a transaction's first entry. recorded_at travels
-- as whole microseconds since 1970, exactly.
--
-- Locking: CREATE OR REPLACE FUNCTION only; writers pick the new body up at their
-- next call.

-- migrate:up
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

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

-- migrate:down
-- The body of 20261201000100: the chain's end looked up in audit_log for every row.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

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
