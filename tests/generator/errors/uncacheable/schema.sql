CREATE TABLE things (id bigserial PRIMARY KEY, name text NOT NULL, seen_at timestamptz);
CREATE FUNCTION things_named(wanted text) RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT count(*) FROM things WHERE name = wanted $$;
