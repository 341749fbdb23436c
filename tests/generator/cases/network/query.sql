-- name: AddHost :one
INSERT INTO hosts (name, address, subnet, gateway, aliases)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: GetHost :one
SELECT * FROM hosts WHERE id = $1;

-- name: HostAddress :one
-- A NOT NULL inet column: a union of four classes, no class itself.
SELECT address FROM hosts WHERE name = $1;

-- name: HostGateway :one
SELECT gateway FROM hosts WHERE name = $1;

-- name: HostSubnets :many
SELECT subnet FROM hosts ORDER BY id;

-- name: HostGateways :many
SELECT gateway FROM hosts ORDER BY id;

-- name: HostAliases :one
SELECT aliases FROM hosts WHERE name = $1;

-- name: HostsIn :many
SELECT * FROM hosts WHERE address << $1::cidr ORDER BY id;

-- name: MoveHosts :batchone
UPDATE hosts SET address = $1 WHERE name = $2 RETURNING address;
