-- A table with a composite column that no query reads: it gets no model, and the
-- rest of the package is generated as usual.
CREATE TYPE point3 AS (x float8, y float8, z float8);
CREATE TABLE things (id bigserial PRIMARY KEY, name text NOT NULL, location point3);
CREATE TABLE others (id bigserial PRIMARY KEY, name text NOT NULL);
