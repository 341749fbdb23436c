-- name: LotYieldsOfLots :many
-- Yield of each of these lots from analytics_lot_yield, lowest first (lots with no
-- decided inspection last), with the time of the view's last refresh: the rows are
-- the data as of then.
-- @cache 5m
SELECT y.lot_id, y.lot_number, y.part_id, y.passed, y.failed, y.undecided, y.yield_ratio,
       r.refreshed_at
FROM analytics_lot_yield AS y
JOIN analytics_refreshes AS r ON r.view_name = 'analytics_lot_yield'
WHERE y.lot_id = ANY(sqlc.arg(lot_ids)::uuid[])
ORDER BY y.yield_ratio NULLS LAST, y.lot_number;

-- name: DefectParetoOfPart :many
-- Defects of one part by type from analytics_defect_pareto, most frequent first (a
-- Pareto chart), with the time of the view's last refresh.
-- @cache 5m
SELECT p.part_id, p.part_number, p.defect_type, p.defect_count, p.severe_count, p.share,
       r.refreshed_at
FROM analytics_defect_pareto AS p
JOIN analytics_refreshes AS r ON r.view_name = 'analytics_defect_pareto'
WHERE p.part_id = sqlc.arg(part_id)
ORDER BY p.defect_count DESC, p.defect_type;

-- name: InferenceLatencyByModelVersion :many
-- Inference time percentiles (ms) of completed jobs per model name and version from
-- analytics_inference_latency, optionally of one model, with the time of the view's
-- last refresh.
-- @cache 5m
SELECT l.model_name, l.model_version, l.jobs, l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms,
       r.refreshed_at
FROM analytics_inference_latency AS l
JOIN analytics_refreshes AS r ON r.view_name = 'analytics_inference_latency'
WHERE (sqlc.narg(model_name)::text IS NULL OR l.model_name = sqlc.narg(model_name))
ORDER BY l.model_name, l.model_version;

-- name: AnalyticsRefreshes :many
-- When each analytics view was last refreshed and how long that took: how stale it is.
-- @cache 5m
SELECT view_name, refreshed_at, duration_ms FROM analytics_refreshes ORDER BY view_name;
