-- A nullable column of each type whose scalar result is `T | None`, and a function
-- that returns void.
CREATE TABLE probes (
    id bigserial PRIMARY KEY,
    hits integer,
    seen_on date,
    seen_at timestamptz,
    logged_at timestamp,
    passed boolean,
    note text,
    batch uuid,
    origin inet,
    doc jsonb,
    reading numeric(8, 2)
);

CREATE FUNCTION forget_probe(probe_id bigint) RETURNS void
LANGUAGE sql AS $$ DELETE FROM probes WHERE id = probe_id $$;
