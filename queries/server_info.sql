-- name: ServerVersion :one
-- The server's version, as `SHOW server_version` says it (e.g. "16.2"): what the
-- health check reports.
SELECT current_setting('server_version') AS server_version;

-- name: ConstraintColumns :many
-- The columns of every constraint outside the system schemas, in key order and
-- joined by ", ", and its definition: read when a pool or connection opens, so that
-- an error naming a unique or foreign-key constraint can name its column too (the
-- server names it only in the detail text, which it translates), and a broken CHECK
-- can be told by the rule itself rather than the server's sentence.
SELECT n.nspname::text AS schema_name, t.relname::text AS table_name,
       c.conname::text AS constraint_name,
       string_agg(a.attname::text, ', ' ORDER BY k.ordinality)::text AS columns,
       pg_catalog.pg_get_constraintdef(c.oid)::text AS definition
FROM pg_catalog.pg_constraint AS c
JOIN pg_catalog.pg_class AS t ON t.oid = c.conrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = t.relnamespace
CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ordinality)
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
GROUP BY n.nspname, t.relname, c.conname, c.oid;

-- name: ServerAddress :one
-- The address and port of the server this connection reached (NULL over a Unix
-- socket): which node of a formation the health check found to be the primary.
SELECT host(inet_server_addr()) AS host, inet_server_port() AS port;
