-- name: GetTicket :one
-- Reads only: takes a ReadExecutor, may be None.
SELECT * FROM tickets WHERE id = $1;

-- name: LockTicket :one
-- A locking clause makes it a write.
SELECT * FROM tickets WHERE id = $1 FOR UPDATE;

-- name: CloseAndCount :many
-- A data-modifying CTE makes it a write.
WITH closed AS (UPDATE tickets SET done = true WHERE id = $1 RETURNING id)
SELECT id FROM closed;

-- name: NextTicketNumber :one
-- nextval() writes: a write, and a SELECT without FROM always yields a row.
SELECT nextval('ticket_numbers');

-- name: OpenTickets :one
-- A STABLE function of the schema is safe to read on a replica.
SELECT open_tickets();

-- name: Bump :one
-- A VOLATILE function of the schema is not.
SELECT bump();

-- name: CountTicketsOnPrimary :one
-- A read that must see the primary.
-- @primary
SELECT count(*) FROM tickets;

-- name: CreateTicket :one
-- INSERT ... RETURNING always yields its row: returns Ticket.
INSERT INTO tickets (title) VALUES ($1) RETURNING *;

-- name: CreateTicketOnce :one
-- ON CONFLICT DO NOTHING may yield nothing: stays Optional.
INSERT INTO tickets (id, title) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING *;

-- name: TicketStats :one
-- Aggregates without GROUP BY always yield a row; count and coalesce are never NULL.
SELECT count(*) AS total, coalesce(max(id), 0)::bigint AS last_id FROM tickets;
