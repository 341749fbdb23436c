-- The CHECK forms of cases/checks/schema.sql on columns at their types' limits: a
-- scale PostgreSQL rounds to before the CHECK, NaN (above every number to PostgreSQL),
-- integer widths, a length modifier. The rule pydantic gets must take what PostgreSQL
-- stores there (test_check_translation.py).
CREATE TABLE limits (
    confidence numeric(5,4) CONSTRAINT limits_confidence_check CHECK (confidence BETWEEN 0 AND 1),
    duration double precision CONSTRAINT limits_duration_check CHECK (duration >= 0),
    level smallint CONSTRAINT limits_level_check CHECK (level >= 0),
    batch int CONSTRAINT limits_batch_check CHECK (batch > 0),
    tag varchar(8) CONSTRAINT limits_tag_check CHECK (btrim(tag) <> '')
);
