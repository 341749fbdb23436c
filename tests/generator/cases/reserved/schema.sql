-- Columns named like what the generated code uses itself: the function's own
-- arguments and locals, and pydantic's BaseModel attributes.
CREATE TABLE settings (
    id integer PRIMARY KEY,
    db text NOT NULL,
    conn text NOT NULL,
    prefetch integer NOT NULL,
    value integer NOT NULL,
    affected_rows integer NOT NULL,
    model_config jsonb NOT NULL,
    model_dump text,
    status text NOT NULL DEFAULT 'new',
    record text,
    error text,
    query_failed boolean,
    build_row integer
);
