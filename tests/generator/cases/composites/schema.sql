-- Composite types: a model per type (fields from its attributes, read from this file),
-- built from the Record asyncpg reads; as a parameter sent as its attributes.
CREATE TYPE point3 AS (x float8, y float8, z float8);
COMMENT ON TYPE point3 IS 'A point in space.';

CREATE TYPE grade AS ENUM ('a', 'b');

-- Attributes of every kind: another composite, an enum, an array, a keyword.
CREATE TYPE placement AS (label text, at point3, grade grade, tags text[], class text);

CREATE TABLE things (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    location point3,
    placements placement[]
);
