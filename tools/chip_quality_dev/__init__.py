"""Development tooling of chip-quality-db, never installed with the runtime.

The self-managed local PostgreSQL (localdb) and cluster (cluster), `make migrate`
(migrate), the migration and generated-code checks (migrations, generated), the
previous release's queries on the current schema (compat) and the demo (demo). Its own
distribution (tools/pyproject.toml, `chip-quality-db-dev`), installed by `make
install` beside the runtime; the wheel services install carries none of it.
"""
