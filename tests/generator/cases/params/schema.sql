CREATE TABLE events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type text NOT NULL,
    "from" text,
    class text,
    tags text[] NOT NULL DEFAULT '{}',
    score integer
);

-- A column's comment is the description of a Params field that fills it (or is
-- compared with it under its own name); `id` of `sqlc.arg(id)` is no value to store.
COMMENT ON COLUMN events.type IS 'What happened, e.g. login.';
COMMENT ON COLUMN events."from" IS 'Who sent it.';
COMMENT ON COLUMN events.score IS 'How much it matters, 0 to 100.';
