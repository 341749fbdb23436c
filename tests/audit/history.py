"""A chained audit history in past months, for the partitioning and archival tests.

The audit trigger stamps entries with the clock, so months gone by cannot be
written through it. `forge_history` appends correctly chained entries (hashes
by audit_row_digest, as the trigger computes them) with recorded_at spread
over the given months, then moves the chain head to the last one. It needs an
empty chain and the superuser; entries written afterwards by the trigger
follow on as usual.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

_FUNCTION = """
CREATE FUNCTION pg_temp.forge_history(months date[], per_month int) RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    month date;
    position bigint := 0;
    previous bytea := decode(repeat('00', 32), 'hex');
    entry_id uuid;
    record uuid;
    stamp timestamptz;
    payload jsonb;
    digest bytea;
BEGIN
    IF EXISTS (SELECT FROM audit_log) THEN
        RAISE EXCEPTION 'forge_history needs an empty audit_log';
    END IF;
    FOREACH month IN ARRAY months LOOP
        FOR i IN 1..per_month LOOP
            position := position + 1;
            entry_id := gen_random_uuid();
            record := gen_random_uuid();
            stamp := (month::timestamp AT TIME ZONE 'UTC') + i * interval '1 second';
            payload := jsonb_build_object('id', record, 'part_number', 'HIST-' || position);
            digest := audit_row_digest(
                previous, position, entry_id, 'parts', record, 'insert', NULL, payload, NULL,
                'history-loader', NULL, 1, stamp, stamp);
            INSERT INTO audit_log (id, table_name, record_id, action, old_values, new_values,
                                   changed_fields, actor, session_id, txid, occurred_at,
                                   recorded_at, seq, prev_hash, row_hash)
            VALUES (entry_id, 'parts', record, 'insert', NULL, payload, NULL, 'history-loader',
                    NULL, 1, stamp, stamp, position, previous, digest);
            previous := digest;
        END LOOP;
    END LOOP;
    UPDATE audit_chain_head SET seq = position, last_hash = previous WHERE id = 1;
    -- Before the partitioning migration the head has no last_recorded_at.
    IF EXISTS (SELECT FROM information_schema.columns
                WHERE table_name = 'audit_chain_head' AND column_name = 'last_recorded_at') THEN
        EXECUTE 'UPDATE audit_chain_head SET last_recorded_at = $1 WHERE id = 1' USING stamp;
    END IF;
    RETURN position;
END;
$$
"""


async def forge_history(conn: asyncpg.Connection, months: list[dt.date], per_month: int) -> int:
    """Append `per_month` chained entries in each month; return the last seq."""
    async with conn.transaction():
        # Row triggers off for the load (superuser): the head is moved once, at the end.
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(_FUNCTION)
        last: int = await conn.fetchval("SELECT pg_temp.forge_history($1, $2)", months, per_month)
        await conn.execute("DROP FUNCTION pg_temp.forge_history(date[], int)")
    return last
