CREATE SEQUENCE ticket_numbers;

CREATE TABLE tickets (
    id bigint PRIMARY KEY DEFAULT nextval('ticket_numbers'),
    title text NOT NULL,
    done boolean NOT NULL DEFAULT false
);

CREATE FUNCTION open_tickets() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT count(*) FROM tickets WHERE NOT done $$;

CREATE FUNCTION bump() RETURNS bigint LANGUAGE sql
    AS $$ SELECT nextval('ticket_numbers') $$;
