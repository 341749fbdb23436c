CREATE TABLE samples (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    n integer NOT NULL,
    note text,
    measured numeric(8, 2)
);
