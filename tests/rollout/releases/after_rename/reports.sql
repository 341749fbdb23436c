-- name: GetReportOutput :one
-- Where a report's output went: the release after the rename reads output_uri.
SELECT id, output_uri FROM reports WHERE id = sqlc.arg(report_id);

-- name: SetReportOutput :execrows
-- Record where a report's output went (an audited write).
UPDATE reports SET output_uri = sqlc.arg(output_uri) WHERE id = sqlc.arg(report_id);
