"""Development tooling: the self-managed local PostgreSQL and migration checks.

Not used by services.
"""
