-- name: AuditChainHead :one
-- Where the audit trail's hash chain ends: the last entry's seq and row_hash
-- (the single row of audit_chain_head).
SELECT seq, last_hash FROM audit_chain_head WHERE id = 1;

-- name: AuditChainBatch :many
-- The next `batch_size` audit entries after seq `after_seq`, in seq order, with each
-- entry's row_hash recomputed on the server from its contents (`recomputed`): one
-- batch of `audit verify`'s walk of the chain.
SELECT seq, prev_hash, row_hash,
       audit_row_digest(prev_hash, seq, id, table_name, record_id, action, old_values,
                        new_values, changed_fields, actor, session_id, txid, occurred_at,
                        recorded_at) AS recomputed
FROM audit_log
WHERE seq > sqlc.arg(after_seq)
ORDER BY seq
LIMIT sqlc.arg(batch_size);

-- name: AuditRowHashAt :one
-- The row_hash of the audit entry with this seq, or None when it is not in the
-- database (archived, or never written).
SELECT row_hash FROM audit_log WHERE seq = sqlc.arg(seq);

-- name: PublicTableExists :one
-- @primary
-- Whether a table (or partition) of this name exists in the public schema: a month's
-- partition, or audit_checkpoints on a database migrated to before archival.
SELECT (to_regclass('public.' || sqlc.arg(table_name)::text) IS NOT NULL)::boolean AS table_exists;

-- name: AuditCheckpoints :many
-- @primary
-- Every checkpoint of an archived audit month, in order, with its checkpoint_hash
-- recomputed on the server from its contents (`recomputed`).
SELECT ordinal, month, first_seq, last_seq, row_count, first_prev_hash, last_row_hash,
       file_name, file_sha256, prev_hash, checkpoint_hash,
       audit_checkpoint_digest(prev_hash, ordinal, month, first_seq, last_seq, row_count,
                               first_prev_hash, last_row_hash, file_name, file_sha256,
                               archived_at, archived_by) AS recomputed
FROM audit_checkpoints
ORDER BY ordinal;

-- name: AuditCheckRun :one
-- @primary
-- The chain of one run of audit entries (a partition, or an archive file loaded into
-- the session's temporary table): its extent, links and the first entry that does not
-- verify, walked on the server by audit_log_check_run(); one row, its seq fields and
-- hashes None for a run without entries. On the primary: the source may be a temporary
-- table of this session.
SELECT run.row_count::bigint AS row_count, run.first_seq::bigint AS first_seq,
       run.last_seq::bigint AS last_seq, run.first_prev_hash::bytea AS first_prev_hash,
       run.last_row_hash::bytea AS last_row_hash, run.broken_seq::bigint AS broken_seq,
       run.problem::text AS problem
FROM audit_log_check_run(sqlc.arg(source)::regclass)
    AS run(row_count, first_seq, last_seq, first_prev_hash, last_row_hash, broken_seq, problem);

-- name: SetLocalLockTimeout :exec
-- @primary
-- Set lock_timeout for the rest of the current transaction only (SET LOCAL takes no
-- bind parameter): DDL on audit_log gives up after it rather than block every
-- audited writer queued behind it.
SELECT set_config('lock_timeout', sqlc.arg(lock_timeout)::text, true);

-- name: CreateAuditPartition :one
-- Make the month's partition of audit_log (moving that month's rows out of
-- audit_log_default); the partition's name, or None when it exists already.
SELECT audit_log_create_partition(sqlc.arg(month)::date) AS created;

-- name: AuditMonthPartitions :many
-- @primary
-- The names of audit_log's monthly partitions (audit_log_YYYY_MM), oldest first;
-- not audit_log_default.
-- The parent is found by name, not as 'public.audit_log'::regclass: that constant
-- would be planned as the table's OID, which differs from one database to the next.
SELECT child.relname::text AS name
FROM pg_catalog.pg_inherits AS inheritance
JOIN pg_catalog.pg_class AS parent ON parent.oid = inheritance.inhparent
JOIN pg_catalog.pg_namespace AS schema ON schema.oid = parent.relnamespace
JOIN pg_catalog.pg_class AS child ON child.oid = inheritance.inhrelid
WHERE schema.nspname = 'public' AND parent.relname = 'audit_log'
  AND child.relname ~ '^audit_log_[0-9]{4}_[0-9]{2}$'
ORDER BY 1;

-- name: ExportAuditMonth :many
-- @primary
-- The audit entries recorded in [recorded_from, recorded_before), in seq order, every
-- column: the contents of a month's archive file. `audit archive` runs this SQL through
-- COPY (...) TO STDOUT (CSV), which streams the rows to the file without building them.
-- plan: full-scan An archive holds the whole month: its partition is read whole.
SELECT id, table_name, record_id, action, old_values, new_values, changed_fields, actor,
       session_id, txid, occurred_at, recorded_at, seq, prev_hash, row_hash
FROM audit_log
WHERE recorded_at >= sqlc.arg(recorded_from) AND recorded_at < sqlc.arg(recorded_before)
ORDER BY seq;

-- name: InsertAuditCheckpoint :exec
-- Record the checkpoint of an archived month. Its ordinal, prev_hash and
-- checkpoint_hash are the table's trigger's to set (it chains them), never the caller's.
INSERT INTO audit_checkpoints (
    month, first_seq, last_seq, row_count, first_prev_hash, last_row_hash, file_name,
    file_sha256
) VALUES (
    sqlc.arg(month), sqlc.arg(first_seq), sqlc.arg(last_seq), sqlc.arg(row_count),
    sqlc.arg(first_prev_hash), sqlc.arg(last_row_hash), sqlc.arg(file_name),
    sqlc.arg(file_sha256)
);

-- name: CreateAuditArchiveLoad :exec
-- Create the session's temporary table audit_archive_load, shaped like audit_log and
-- dropped at the end of the transaction: an archive file is loaded into it to be
-- checked or restored.
CREATE TEMP TABLE audit_archive_load (LIKE audit_log) ON COMMIT DROP;

-- name: DropArchivedAuditMonth :exec
-- Detach and drop the month's partition, refusing unless it holds exactly what the
-- month's checkpoint vouches for (audit_log_drop_archived()).
SELECT audit_log_drop_archived(sqlc.arg(month)::date);

-- name: RestoreAuditMonth :one
-- Attach the rows loaded into `source` (the session's audit_archive_load) as the
-- month's partition, after checking them against the month's checkpoint; the number
-- of entries restored.
SELECT audit_log_restore_month(sqlc.arg(month)::date, sqlc.arg(source)::regclass) AS restored;
