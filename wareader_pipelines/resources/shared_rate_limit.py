"""Rate limits that hold across processes and machines, kept in PostgreSQL.

Dagster pools (`pool="llm"`, `pool="whatsapp_cloud_api"`) bound how many steps call a
service at once, across every run; they cannot say "10,000 tokens per minute" or
"150,000 tokens per day". Those quotas belong to the account, shared by every process
that calls it, so they are counted where every process sees the same numbers: a log of
granted units per key in PostgreSQL, read and written under a transaction-scoped
advisory lock per scope, with the database's clock as the one clock.

A request asks for units in one or more dimensions (`requests`, `tokens`, `emails`);
each `Limit` caps one dimension over a sliding window (a minute, a day). It is granted
only when every limit has room; otherwise the answer is how long until it would have,
and nothing is recorded, so a waiting caller never holds capacity. A grant whose real
size is known later (tokens) is settled to that size. A server's `Retry-After` pauses
the whole scope for everyone. One request larger than a limit is granted alone (in an
otherwise empty window), as the in-process limiters do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

# Grants are kept this long past the longest window (for inspection), then deleted.
RETENTION_SECONDS = 300.0

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS wareader_rate_grants (
    id bigserial PRIMARY KEY,
    scope text NOT NULL,
    dimension text NOT NULL,
    granted_at timestamptz NOT NULL,
    units bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS wareader_rate_grants_lookup
    ON wareader_rate_grants (scope, dimension, granted_at);
CREATE TABLE IF NOT EXISTS wareader_rate_pauses (
    scope text PRIMARY KEY,
    until timestamptz NOT NULL
);
"""


@dataclass(frozen=True)
class Limit:
    """At most `units` of `dimension` in any window of `window_seconds`."""

    dimension: str
    units: int
    window_seconds: float

    def __post_init__(self) -> None:
        if self.units < 1 or self.window_seconds <= 0:
            raise ValueError(f"limit on {self.dimension} must be positive")


@dataclass(frozen=True)
class Grant:
    """Ids of the recorded units, per dimension, so a grant can be settled; and when."""

    ids: Mapping[str, int]
    granted_at: datetime


class SharedRateLimiter:
    """Limits on one scope (an account, a phone number) shared through PostgreSQL."""

    def __init__(self, url: str, scope: str, limits: Sequence[Limit]) -> None:
        if not limits:
            raise ValueError("a shared rate limiter needs at least one limit")
        self.url = url
        self.scope = scope
        self.limits = tuple(limits)
        self._longest = max(limit.window_seconds for limit in self.limits)
        self._connection: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self.waits = 0

    def _connect(self) -> psycopg.Connection:
        if self._connection is None or self._connection.closed:
            connection = psycopg.connect(self.url, connect_timeout=10)
            with connection.transaction():
                # Two processes creating the tables at once must not both try.
                connection.execute("SELECT pg_advisory_xact_lock(hashtext('wareader_rate_schema'))")
                connection.execute(SCHEMA_SQL)
            self._connection = connection
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def try_reserve(self, demand: Mapping[str, int]) -> tuple[float, Grant | None]:
        """(0, grant) when `demand` fits every limit now, else (seconds to wait, None)."""
        with self._lock:
            connection = self._connect()
            with connection.transaction():
                connection.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (self.scope,)
                )
                now, paused_until = connection.execute(
                    "SELECT clock_timestamp(), (SELECT until FROM wareader_rate_pauses "
                    "WHERE scope = %s)",
                    (self.scope,),
                ).fetchone()
                wait = (paused_until - now).total_seconds() if paused_until else 0.0
                for limit in self.limits:
                    wanted = demand.get(limit.dimension, 0)
                    if wanted:
                        wait = max(wait, self._wait_for(connection, limit, wanted, now))
                if wait > 0:
                    self.waits += 1
                    return wait, None
                ids = {}
                for dimension, units in demand.items():
                    if units:
                        [grant_id] = connection.execute(
                            "INSERT INTO wareader_rate_grants (scope, dimension, granted_at, "
                            "units) VALUES (%s, %s, %s, %s) RETURNING id",
                            (self.scope, dimension, now, units),
                        ).fetchone()
                        ids[dimension] = grant_id
                connection.execute(
                    "DELETE FROM wareader_rate_grants WHERE scope = %s AND granted_at < "
                    "%s - make_interval(secs => %s)",
                    (self.scope, now, self._longest + RETENTION_SECONDS),
                )
                return 0.0, Grant(ids, now)

    def _wait_for(
        self, connection: psycopg.Connection, limit: Limit, wanted: int, now: datetime
    ) -> float:
        rows = connection.execute(
            "SELECT granted_at, units FROM wareader_rate_grants WHERE scope = %s AND "
            "dimension = %s AND granted_at > %s - make_interval(secs => %s) ORDER BY granted_at",
            (self.scope, limit.dimension, now, limit.window_seconds),
        ).fetchall()
        used = sum(units for _, units in rows)
        if used + wanted <= limit.units or not rows:
            return 0.0
        for granted_at, units in rows:  # the oldest grants leave the window first
            used -= units
            if used + wanted <= limit.units:
                return (granted_at - now).total_seconds() + limit.window_seconds
        return (rows[-1][0] - now).total_seconds() + limit.window_seconds

    def acquire(self, demand: Mapping[str, int], *, sleep=time.sleep) -> Grant:
        """Block until `demand` is granted (sleeping without holding anything)."""
        while True:
            wait, grant = self.try_reserve(demand)
            if grant is not None:
                return grant
            sleep(min(wait, self._longest))

    def settle(self, grant: Grant, dimension: str, units: int) -> None:
        """Replace a granted estimate with the real count (e.g. tokens an answer used)."""
        grant_id = grant.ids.get(dimension)
        if grant_id is None:
            return
        with self._lock:
            connection = self._connect()
            with connection.transaction():
                connection.execute(
                    "UPDATE wareader_rate_grants SET units = %s WHERE id = %s", (units, grant_id)
                )

    def pause(self, seconds: float) -> None:
        """Grant nothing on this scope, to anyone, for `seconds` (a server's Retry-After)."""
        with self._lock:
            connection = self._connect()
            with connection.transaction():
                connection.execute(
                    "INSERT INTO wareader_rate_pauses (scope, until) VALUES (%s, clock_timestamp()"
                    " + make_interval(secs => %s)) ON CONFLICT (scope) DO UPDATE SET until = "
                    "greatest(wareader_rate_pauses.until, excluded.until)",
                    (self.scope, seconds),
                )


class SharedLLMLimiter:
    """The LLM client's limiter interface (`try_acquire`, `settle`, `pause_until`) on a
    shared limiter: requests and tokens per minute and per day for one provider account."""

    def __init__(self, shared: SharedRateLimiter) -> None:
        self.shared = shared

    def try_acquire(self, tokens: int, now: float) -> tuple[float, Grant | None]:
        return self.shared.try_reserve({"requests": 1, "tokens": tokens})

    def settle(self, reservation: Grant, actual_tokens: int) -> None:
        self.shared.settle(reservation, "tokens", actual_tokens)

    def pause_until(self, moment: float) -> None:
        self.shared.pause(max(0.0, moment - time.monotonic()))


class SharedCallLimiter:
    """The Cloud API client's limiter interface (`acquire()`) on a shared limiter."""

    def __init__(self, shared: SharedRateLimiter) -> None:
        self.shared = shared

    def acquire(self) -> float:
        started = time.monotonic()
        self.shared.acquire({"requests": 1})
        return time.monotonic() - started


def llm_limits(
    *,
    requests_per_minute: int | None,
    tokens_per_minute: int | None,
    requests_per_day: int | None,
    tokens_per_day: int | None,
    window_seconds: float = 60.0,
) -> list[Limit]:
    """The configured LLM quotas as limits (None or 0: not limited)."""
    pairs = [
        ("requests", requests_per_minute, window_seconds),
        ("tokens", tokens_per_minute, window_seconds),
        ("requests", requests_per_day, 86_400.0),
        ("tokens", tokens_per_day, 86_400.0),
    ]
    return [Limit(dimension, units, window) for dimension, units, window in pairs if units]
