-- Class names: a table's model is the English singular of its name, irregular
-- and invariable plurals included; a query's classes keep the query's own casing.
CREATE TABLE warehouses (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    city text
);

CREATE TABLE series (
    id bigserial PRIMARY KEY,
    title text NOT NULL,
    warehouse_id bigint REFERENCES warehouses (id)
);

CREATE TABLE people (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    born date
);

CREATE TABLE books (
    id bigserial PRIMARY KEY,
    title text NOT NULL,
    isbn text,
    pages integer,
    series_id bigint REFERENCES series (id)
);
