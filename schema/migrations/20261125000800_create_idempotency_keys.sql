-- Idempotency keys: a write that a client may retry (after a timeout or a lost
-- connection, when it cannot know whether the first attempt committed) carries
-- a key; the key is inserted in the same transaction as the write, so a retry
-- finds it and returns the stored result instead of writing again.
-- chip_quality_db.run_once() is the way to use it.
--
-- Locking: a new, empty table.

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

CREATE TABLE idempotency_keys (
    key text NOT NULL,
    actor text NOT NULL,
    result jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (key),
    CONSTRAINT idempotency_keys_key_check CHECK (key ~ '^[A-Za-z0-9._:-]{8,200}$'),
    CONSTRAINT idempotency_keys_actor_check CHECK (btrim(actor) <> '' AND char_length(actor) <= 200)
);

COMMENT ON TABLE idempotency_keys IS 'Keys of writes that clients may retry: present once the write committed, with its result.';
COMMENT ON COLUMN idempotency_keys.key IS 'Client-chosen key of one logical write: 8 to 200 of A-Z a-z 0-9 . _ : -.';
COMMENT ON COLUMN idempotency_keys.actor IS 'Who made the write.';
COMMENT ON COLUMN idempotency_keys.result IS 'What the write returned, as JSON, handed back to retries.';
COMMENT ON COLUMN idempotency_keys.created_at IS 'When the write committed; old keys can be deleted after the retry window.';

-- Retention deletes by age.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

ALTER TABLE idempotency_keys OWNER TO chipq_owner;
REVOKE ALL ON idempotency_keys FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO chipq_app_rw;
GRANT SELECT ON idempotency_keys TO chipq_auditor_ro;

-- migrate:down

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

DROP TABLE idempotency_keys;
