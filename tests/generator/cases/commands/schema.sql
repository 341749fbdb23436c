CREATE TABLE widgets (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    weight numeric(8, 3),
    created_at timestamptz NOT NULL DEFAULT now()
);
