-- Network-address columns: asyncpg reads inet as an address or an interface (a prefix
-- shorter than the address), cidr as a network.
CREATE TABLE hosts (
    id serial PRIMARY KEY,
    name text NOT NULL,
    address inet NOT NULL,
    subnet cidr NOT NULL,
    gateway inet,
    aliases inet[] NOT NULL DEFAULT '{}',
    CONSTRAINT hosts_address_in_subnet CHECK (address << subnet OR address = subnet)
);
