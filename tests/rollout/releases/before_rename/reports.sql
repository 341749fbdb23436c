-- name: GetReportOutput :one
-- Where a report's output went: the release before the rename reads output_location.
SELECT id, output_location FROM reports WHERE id = sqlc.arg(report_id);

-- name: SetReportOutput :execrows
-- Record where a report's output went (an audited write).
UPDATE reports SET output_location = sqlc.arg(output_location) WHERE id = sqlc.arg(report_id);
