"""Development tooling: the self-managed local PostgreSQL and schema checks. Not used by services."""
