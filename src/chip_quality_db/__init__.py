"""chip_quality_db: the runtime that services import beside the generated queries.

from chip_quality_db import create_pool, transaction, AlreadyExistsError
from chip_quality_queries import lots

pool = await create_pool()                      # settings from the environment
async with transaction(pool, actor="alice") as conn:
    lot = await lots.get_lot_by_number(conn, lot_number="LOT-2025-001")
"""

from typing import TYPE_CHECKING

from chip_quality_queries import set_error_handler

from ._actor import check_actor
from ._artifacts import ChecksumMismatchError, register_artifact
from ._cache import CacheStats, QueryCache, enable_cache
from ._checksum import checksum_matches, sha256_of
from ._cluster import Database, Handle, consistency_token, create_database, reading_after
from ._connections import Connection
from ._errors import (
    AlreadyExistsError,
    AuditError,
    AuthenticationError,
    DatabaseError,
    IntegrityError,
    InvalidActorError,
    MissingReferenceError,
    NotFoundError,
    QueryTimeoutError,
    RetryableError,
    RuleViolationError,
    StillReferencedError,
    UnavailableError,
    mapped_errors,
    query_error,
    require,
    translate,
)
from ._health import Health, NodeHealth, health_check
from ._pool import Pool, acquire, create_pool
from ._retry import Outcome, retry, run_once
from ._settings import DatabaseSettings, SettingsError, load_settings
from ._transaction import transaction, transaction_dependency

# Every generated query function hands its failures to the project's error mapping.
set_error_handler(query_error)

__all__ = [
    "AlreadyExistsError",
    "AuditError",
    "AuthenticationError",
    "CacheStats",
    "ChecksumMismatchError",
    "Connection",
    "Database",
    "DatabaseError",
    "DatabaseSettings",
    "Handle",
    "Health",
    "IntegrityError",
    "InvalidActorError",
    "MissingReferenceError",
    "NodeHealth",
    "NotFoundError",
    "Outcome",
    "Pool",
    "QueryCache",
    "QueryTimeoutError",
    "RetryableError",
    "RuleViolationError",
    "SettingsError",
    "StillReferencedError",
    "UnavailableError",
    "acquire",
    "check_actor",
    "checksum_matches",
    "consistency_token",
    "create_database",
    "create_pool",
    "enable_cache",
    "health_check",
    "load_settings",
    "mapped_errors",
    "reading_after",
    "register_artifact",
    "require",
    "retry",
    "run_once",
    "sha256_of",
    "transaction",
    "transaction_dependency",
    "translate",
]

if TYPE_CHECKING:
    from chip_quality_queries import Executor

    def _executors(pool: Pool, db: Database, conn: Connection) -> tuple[Executor, ...]:
        """mypy's proof that the pool, the cluster handle and a connection are what the
        generated functions take (a Protocol: none of them inherits from it)."""
        return (pool, db, conn)
