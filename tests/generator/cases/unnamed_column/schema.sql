-- View columns PostgreSQL names ?column? (an expression without AS) become fields
-- column_<position>, as unnamed result columns do; the rest of the package is as usual.
CREATE TABLE readings (
    id bigserial PRIMARY KEY,
    value numeric NOT NULL
);

CREATE VIEW reading_checks AS SELECT id, value > 10, value AS reading FROM readings;

CREATE MATERIALIZED VIEW ones AS SELECT 1;
