CREATE TABLE events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type text NOT NULL,
    "from" text,
    class text,
    tags text[] NOT NULL DEFAULT '{}',
    score integer
);
