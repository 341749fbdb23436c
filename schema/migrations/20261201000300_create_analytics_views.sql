-- Materialized analytics: lot yield, the defect Pareto per part and defect
-- type, and inference latency per model version. Computing them from the base
-- tables on every dashboard read scans every inspection, defect and job; the
-- views hold the answers, refreshed by `chip-quality-db analytics refresh`
-- (REFRESH MATERIALIZED VIEW CONCURRENTLY, so readers are never blocked and
-- always see a whole refresh). Each view has a unique index on plain,
-- never-NULL columns: CONCURRENTLY requires one, and it is the reads' key.
--
-- Staleness is visible: analytics_refreshes holds, per view, when its last
-- refresh finished and how long it took; the read queries return it with
-- every row (refreshed_at).
--
-- Locking: creating the views reads the base tables once (ACCESS SHARE:
-- writers go on). A CONCURRENTLY refresh takes EXCLUSIVE on its view only:
-- reads go on, a second refresh of the same view waits.

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '10min';

CREATE MATERIALIZED VIEW analytics_lot_yield AS
SELECT l.id AS lot_id,
       l.lot_number,
       l.part_id,
       count(i.id) FILTER (WHERE i.passed) AS passed,
       count(i.id) FILTER (WHERE NOT i.passed) AS failed,
       count(i.id) FILTER (WHERE i.passed IS NULL) AS undecided,
       round(count(i.id) FILTER (WHERE i.passed)::numeric / nullif(count(i.passed), 0), 4)
           AS yield_ratio
  FROM lots AS l
  LEFT JOIN inspections AS i ON i.lot_id = l.id
 GROUP BY l.id, l.lot_number, l.part_id;
-- The view was made just above, in this transaction: nobody can be reading it yet.
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX analytics_lot_yield_lot_id_key ON analytics_lot_yield (lot_id);
-- The view was made just above, in this transaction: nobody can be reading it yet.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX analytics_lot_yield_part_id_idx ON analytics_lot_yield (part_id);
COMMENT ON MATERIALIZED VIEW analytics_lot_yield IS 'Per lot: inspections passed, failed and undecided, and the share of decided ones that passed (NULL while none is decided). Refreshed by `chip-quality-db analytics refresh`.';

CREATE MATERIALIZED VIEW analytics_defect_pareto AS
SELECT p.id AS part_id,
       p.part_number,
       d.defect_type,
       count(*) AS defect_count,
       count(*) FILTER (WHERE d.severity IN ('high', 'critical')) AS severe_count,
       round(count(*)::numeric / sum(count(*)) OVER (PARTITION BY p.id), 4) AS share
  FROM defects AS d
  JOIN inspections AS i ON i.id = d.inspection_id
  JOIN lots AS l ON l.id = i.lot_id
  JOIN parts AS p ON p.id = l.part_id
 GROUP BY p.id, p.part_number, d.defect_type;
-- The view was made just above, in this transaction: nobody can be reading it yet.
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX analytics_defect_pareto_part_id_defect_type_key
    ON analytics_defect_pareto (part_id, defect_type);
COMMENT ON MATERIALIZED VIEW analytics_defect_pareto IS 'Per part and defect type: defects found, how many were high or critical, and their share of the part''s defects (a Pareto chart). Refreshed by `chip-quality-db analytics refresh`.';

CREATE MATERIALIZED VIEW analytics_inference_latency AS
SELECT model_name,
       model_version,
       count(*) AS jobs,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY inference_ms)::double precision AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY inference_ms)::double precision AS p95_ms,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY inference_ms)::double precision AS p99_ms,
       max(inference_ms)::bigint AS max_ms
  FROM inference_jobs
 WHERE status = 'completed' AND inference_ms IS NOT NULL
 GROUP BY model_name, model_version;
-- The view was made just above, in this transaction: nobody can be reading it yet.
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX analytics_inference_latency_model_name_model_version_key
    ON analytics_inference_latency (model_name, model_version);
COMMENT ON MATERIALIZED VIEW analytics_inference_latency IS 'Per model name and version: completed jobs and their inference time percentiles (ms). Refreshed by `chip-quality-db analytics refresh`.';

CREATE TABLE analytics_refreshes (
    view_name text NOT NULL,
    refreshed_at timestamptz NOT NULL,
    duration_ms double precision NOT NULL,
    CONSTRAINT analytics_refreshes_pkey PRIMARY KEY (view_name),
    CONSTRAINT analytics_refreshes_view_name_check CHECK (
        view_name IN ('analytics_lot_yield', 'analytics_defect_pareto', 'analytics_inference_latency')
    ),
    CONSTRAINT analytics_refreshes_duration_ms_check CHECK (duration_ms >= 0)
);
COMMENT ON TABLE analytics_refreshes IS 'When each analytics view was last refreshed: how stale its rows may be.';
COMMENT ON COLUMN analytics_refreshes.view_name IS 'The materialized view.';
COMMENT ON COLUMN analytics_refreshes.refreshed_at IS 'When its last refresh finished (its rows are the data as of then).';
COMMENT ON COLUMN analytics_refreshes.duration_ms IS 'How long that refresh took.';

-- Refreshes one view CONCURRENTLY and records when. SECURITY DEFINER: REFRESH
-- needs the view's owner; the caller needs only EXECUTE. The name is checked
-- against the list, never spliced unchecked.
CREATE FUNCTION analytics_refresh(view_name text) RETURNS analytics_refreshes
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    started timestamptz := clock_timestamp();
    recorded analytics_refreshes;
BEGIN
    IF view_name NOT IN ('analytics_lot_yield', 'analytics_defect_pareto', 'analytics_inference_latency') THEN
        RAISE EXCEPTION '% is not an analytics view', view_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'One of analytics_lot_yield, analytics_defect_pareto, analytics_inference_latency.';
    END IF;
    EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY public.%I', view_name);
    INSERT INTO analytics_refreshes AS r (view_name, refreshed_at, duration_ms)
    VALUES (view_name, clock_timestamp(),
            extract(epoch FROM clock_timestamp() - started) * 1000)
    ON CONFLICT ON CONSTRAINT analytics_refreshes_pkey DO UPDATE
        SET refreshed_at = excluded.refreshed_at, duration_ms = excluded.duration_ms
    RETURNING r.* INTO recorded;
    RETURN recorded;
END;
$$;
COMMENT ON FUNCTION analytics_refresh(text) IS 'REFRESH MATERIALIZED VIEW CONCURRENTLY of one analytics view, recording the time in analytics_refreshes.';

-- The views were filled by their creation just now.
INSERT INTO analytics_refreshes (view_name, refreshed_at, duration_ms)
VALUES ('analytics_lot_yield', clock_timestamp(), 0),
       ('analytics_defect_pareto', clock_timestamp(), 0),
       ('analytics_inference_latency', clock_timestamp(), 0);

ALTER MATERIALIZED VIEW analytics_lot_yield OWNER TO chipq_owner;
ALTER MATERIALIZED VIEW analytics_defect_pareto OWNER TO chipq_owner;
ALTER MATERIALIZED VIEW analytics_inference_latency OWNER TO chipq_owner;
ALTER TABLE analytics_refreshes OWNER TO chipq_owner;
ALTER FUNCTION analytics_refresh(text) OWNER TO chipq_owner;
REVOKE ALL ON analytics_lot_yield, analytics_defect_pareto, analytics_inference_latency,
    analytics_refreshes FROM PUBLIC;
GRANT SELECT ON analytics_lot_yield, analytics_defect_pareto, analytics_inference_latency,
    analytics_refreshes TO chipq_app_rw, chipq_reporting_ro, chipq_auditor_ro;
-- Refreshing is a reporting job's: it changes no business data.
REVOKE ALL ON FUNCTION analytics_refresh(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION analytics_refresh(text) TO chipq_app_rw, chipq_reporting_ro;

-- migrate:down

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

DROP FUNCTION analytics_refresh(text);
DROP TABLE analytics_refreshes;
DROP MATERIALIZED VIEW analytics_inference_latency;
DROP MATERIALIZED VIEW analytics_defect_pareto;
DROP MATERIALIZED VIEW analytics_lot_yield;
