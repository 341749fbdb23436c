"""The replicas of a cluster handle, and the router that picks one for a read.

Bounded staleness. The router measures each replica every DB_REPLICA_CHECK_INTERVAL
seconds (`check`): its replay position against the primary's positions sampled
before. A replica's staleness is the time since the primary was at a position the
replica has not replayed yet; past DB_REPLICA_MAX_LAG, or down, or not a standby,
it is out of rotation until a later check finds it well. Its role is what the check
finds: a node that is not in recovery (a promoted standby, or the primary itself
when DB_REPLICA_URLS lists every node of a formation) is out of rotation while it
is a primary.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from dataclasses import dataclass, field

from ._errors import DatabaseError
from ._pool import Pool
from ._read_floor import ReadFloor, lsn
from ._settings import DatabaseSettings

STANDBY_STATE = "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text"
PRIMARY_POSITION = "SELECT pg_current_wal_insert_lsn()::text"


@dataclass
class Replica:
    """One standby as the router last found it."""

    pool: Pool
    url: str  # for display: the password masked
    up: bool = False
    role: str = "unknown"  # "replica" (a standby), "primary", or "unknown" (not reached)
    replayed: int = 0  # WAL position replayed
    staleness: float = float("inf")  # seconds behind the primary, as measured
    error: str | None = "not checked yet"
    checked_at: float = 0.0


@dataclass
class PrimaryHistory:
    """The primary's WAL positions at recent checks: (monotonic time, position)."""

    samples: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=512))

    def staleness(self, replayed: int, now: float) -> float:
        """Seconds since the primary was first at a position the replica lacks."""
        for at, position in self.samples:
            if position > replayed:
                return now - at
        return 0.0


class Router:
    """Picks a replica for a read, and keeps the replicas' state current."""

    def __init__(self, replicas: list[Replica], settings: DatabaseSettings) -> None:
        self.replicas = replicas
        self.settings = settings
        self._history = PrimaryHistory()
        self._turn = itertools.count()

    def pick(self, floor: ReadFloor) -> Replica | None:
        """A replica in rotation that may serve a read with this floor (they take
        turns), or None: the primary must answer."""
        limit = self.settings.replica_max_lag
        usable = [
            r for r in self.replicas if r.up and r.staleness <= limit and floor.allows(r.replayed)
        ]
        if not usable:
            return None
        return usable[next(self._turn) % len(usable)]

    @staticmethod
    def went_away(replica: Replica, error: DatabaseError) -> None:
        """A read on `replica` failed because it is unavailable: out of rotation
        until a check finds it well again."""
        replica.up, replica.error = False, str(error)

    async def check(self, primary: Pool) -> None:
        """Measure the primary's position and each replica's replay and staleness."""
        timeout = min(self.settings.pool_timeout, max(self.settings.replica_check_interval, 1.0))
        try:
            answer = await asyncio.wait_for(primary.fetchval(PRIMARY_POSITION), timeout)
            position = lsn(answer)
        except (DatabaseError, TimeoutError):
            return  # the primary itself is away: leave the replicas as they were
        self._history.samples.append((time.monotonic(), position))
        await asyncio.gather(*(self._check(replica, timeout) for replica in self.replicas))

    async def _check(self, replica: Replica, timeout: float) -> None:
        try:
            row = await asyncio.wait_for(replica.pool.fetchrow(STANDBY_STATE), timeout)
        except (DatabaseError, TimeoutError) as exc:
            replica.up, replica.error = False, str(exc) or "no answer in time"
            replica.role = "unknown"
            return
        recovering, replayed = row[0], row[1]
        replica.checked_at = time.monotonic()
        if not recovering:
            # The primary itself (the same host list as DATABASE_URL) or a promoted
            # standby: reads there would load the primary, so it is out of rotation.
            replica.up, replica.role = False, "primary"
            replica.error = "not a standby (pg_is_in_recovery() is false): a primary"
            return
        replica.role = "replica"
        replica.replayed = lsn(replayed)
        replica.staleness = self._history.staleness(replica.replayed, replica.checked_at)
        lagging = replica.staleness > self.settings.replica_max_lag
        replica.up = not lagging
        replica.error = (
            f"{replica.staleness:.1f} s behind, past DB_REPLICA_MAX_LAG" if lagging else None
        )
