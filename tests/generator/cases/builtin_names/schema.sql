-- Queries named like Python builtins and keywords: their functions get a trailing
-- underscore (list_, any_, in_, abs_), and the module's list[...] annotations still work.
CREATE TABLE items (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    score integer NOT NULL DEFAULT 0
);
