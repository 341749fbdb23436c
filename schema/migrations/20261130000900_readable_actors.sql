-- Actors a reviewer can read: "every change names a person" held only formally
-- while an actor could be a zero-width space or a bidi override. The audit
-- trigger now stores the actor in Unicode NFC and refuses (SQLSTATE CQ002) one
-- that holds a control (Cc), format (Cf) or separator (Zs, Zl, Zp) character
-- other than the plain space. The runtime applies the same rule before a
-- transaction starts (chip_quality_db._actor); a test holds the two together.
-- The character class lists those categories as of Unicode 14 (Python 3.11's
-- unicodedata), NUL excluded (text cannot hold it).
--
-- Locking: replaces a function; no table is locked.

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

CREATE FUNCTION audit_actor_is_readable(actor text) RETURNS boolean
    LANGUAGE sql
    IMMUTABLE STRICT PARALLEL SAFE
    RETURN btrim(actor, ' ') <> ''
       AND actor !~ '[\u0001-\u001F\u007F-\u00A0\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890-\u0891\u08E2\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u2066-\u206F\u3000\uFEFF\uFFF9-\uFFFB\U000110BD\U000110CD\U00013430-\U00013438\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0001\U000E0020-\U000E007F]';

COMMENT ON FUNCTION audit_actor_is_readable(text) IS 'Whether an actor has a visible character and no control, format or separator character but the space.';

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

-- migrate:down

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

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

DROP FUNCTION audit_actor_is_readable(text);
