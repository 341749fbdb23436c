CREATE TYPE gauge_kind AS ENUM ('small', 'large');
CREATE TABLE gauges (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    serial_no integer NOT NULL UNIQUE,
    label text,
    kind gauge_kind NOT NULL DEFAULT 'small',
    reading numeric(10, 3) NOT NULL DEFAULT 1.25,
    tags text[] NOT NULL DEFAULT '{}',
    span int4range NOT NULL DEFAULT '[1,5)'
);
