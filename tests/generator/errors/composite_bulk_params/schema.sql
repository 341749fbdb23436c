CREATE TYPE point3 AS (x float8, y float8, z float8);
CREATE TABLE things (id bigserial PRIMARY KEY, name text NOT NULL, location point3);
