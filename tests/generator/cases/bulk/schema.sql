CREATE TYPE color AS ENUM ('red', 'green', 'blue');
CREATE TABLE readings (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    sensor text NOT NULL,
    value double precision NOT NULL,
    color color NOT NULL,
    meta jsonb NOT NULL DEFAULT '{}'
);
