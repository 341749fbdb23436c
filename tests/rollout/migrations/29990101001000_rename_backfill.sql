-- Rollout test (tests/rollout): rename by expand/contract, step 2 of 3: backfill.
--
-- Copies output_location into output_uri for the rows written before the trigger
-- of step 1, 25 rows a transaction. One DO statement in a transaction:false
-- migration, so it may COMMIT between batches. Each batch is an audited write
-- (the audit trigger records every row it changes) and names its actor.
--
-- Batch size: an audited write holds the audit chain's head (one row, locked by
-- every audited transaction until it commits), so every audited write of every
-- table waits for the batch in progress. Measured under the test's workload:
-- 500 rows a batch took 150 ms and made writers wait as long (p99 18 ms before,
-- 176 ms during); 100 rows, 43 ms (p99 20 ms before, 79 ms during). So 25 rows a
-- batch, and a pause of 10 ms after each commit lets the writers queued behind it
-- through before the next one. Runs again safely: it only touches rows still
-- different.

-- migrate:up transaction:false
DO $$
DECLARE
    copied bigint;
BEGIN
    LOOP
        PERFORM set_config('app.actor', 'migration:29990101001000_rename_backfill', true);
        UPDATE reports SET output_uri = output_location
         WHERE id IN (SELECT id FROM reports
                       WHERE output_uri IS DISTINCT FROM output_location
                       LIMIT 25);
        GET DIAGNOSTICS copied = ROW_COUNT;
        COMMIT;
        EXIT WHEN copied = 0;
        PERFORM pg_sleep(0.01);
    END LOOP;
END
$$;

-- migrate:down
SELECT 1;
