"""Client-side rate limiting for every client we run (LLM providers, the WhatsApp Graph API):
requests and tokens per window, in one process. No Dagster.

`RateLimiter` is bookkeeping over a clock: "may this call start now, and if not, how
long until it may". Requests are counted in a sliding log split into `slices`
sub-windows (each allows limit / slices), so any window holds at most the limit and
bursts stay a fraction of it; tokens are counted in a sliding log over the whole
window. Two ways to use it: `try_acquire` polls (the LLM's asyncio gate sleeps between
polls without holding a slot), `acquire` reserves the earliest free start and sleeps
until it outside the lock (threads of the Graph API client), so one waiting thread
never blocks the others from reserving. Across processes, see
`resources/shared_rate_limit.py`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_SLICES = 10


def slice_count(limit: int, most: int = MAX_SLICES) -> int:
    """The largest k <= `most` that divides `limit`, so limit / k is whole and nothing is lost."""
    return max(k for k in range(1, min(most, limit) + 1) if limit % k == 0)


@dataclass
class _Entry:
    started: float
    tokens: int


@dataclass
class SlidingLog:
    """At most `limit` units in any half-open window of `window` seconds."""

    limit: int
    window: float
    _entries: deque[_Entry] = field(default_factory=deque)
    _total: int = 0

    def _expire(self, now: float) -> None:
        while self._entries and self._entries[0].started <= now - self.window:
            self._total -= self._entries.popleft().tokens

    def wait_for(self, units: int, now: float) -> float:
        """Seconds until `units` more fit (0 if now). A unit count above the limit fits alone."""
        self._expire(now)
        if self._total + units <= self.limit or not self._entries:
            return 0.0
        running = self._total
        for entry in self._entries:
            running -= entry.tokens
            if running + units <= self.limit:
                return entry.started + self.window - now
        return self._entries[-1].started + self.window - now

    def add(self, units: int, now: float) -> _Entry:
        entry = _Entry(now, units)
        self._entries.append(entry)
        self._total += units
        return entry

    def correct(self, entry: _Entry, units: int) -> None:
        """Replace a reservation's estimate with the real count, if it is still in the log."""
        if any(item is entry for item in self._entries):
            self._total += units - entry.tokens
        entry.tokens = units


@dataclass(frozen=True, slots=True)
class Reservation:
    """A granted start: its token entry can be corrected once the real usage is known."""

    tokens_entry: _Entry | None


class RateLimiter:
    """Requests per window and tokens per window; either limit may be None (unlimited)."""

    def __init__(
        self,
        *,
        requests_per_window: int | None,
        tokens_per_window: int | None = None,
        window_seconds: float = 60.0,
        safety_seconds: float = 0.05,
        slices: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests_per_window is not None and requests_per_window < 1:
            raise ValueError("requests_per_window must be at least 1 (or None for no limit)")
        if tokens_per_window is not None and tokens_per_window < 1:
            raise ValueError("tokens_per_window must be at least 1 (or None for no limit)")
        # The safety margin widens every window a little, so the server (whose clock reads
        # our requests a few milliseconds later, in a slightly different order) never
        # counts more than the limit in its own window.
        self._requests: SlidingLog | None = None
        if requests_per_window is not None:
            if slices is None:
                slices = slice_count(requests_per_window)
            elif slices < 1 or requests_per_window % slices:
                raise ValueError("slices must be at least 1 and divide requests_per_window")
            self._requests = SlidingLog(
                requests_per_window // slices, window_seconds / slices + safety_seconds
            )
        self._tokens = (
            SlidingLog(tokens_per_window, window_seconds + safety_seconds)
            if tokens_per_window is not None
            else None
        )
        self._paused_until = 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    def pause_until(self, moment: float) -> None:
        """Start nothing before `moment` (a server said Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, moment)

    def try_acquire(self, tokens: int, now: float) -> tuple[float, Reservation | None]:
        """(0, reservation) if a call of ~`tokens` may start now, else (seconds to wait, None)."""
        with self._lock:
            wait = self._wait(tokens, now)
            if wait > 0:
                return wait, None
            return 0.0, self._add(tokens, now)

    def reserve(self, tokens: int = 0) -> float:
        """Reserve the earliest start a call of `tokens` may have and return the seconds until
        it (0: now). Never sleeps: the caller sleeps after the lock is released."""
        with self._lock:
            now = self._clock()
            wait = max(0.0, self._wait(tokens, now))
            # Entries are added in start order, so a later reservation never starts earlier.
            self._add(tokens, now + wait)
            return wait

    def acquire(self, tokens: int = 0) -> float:
        """Wait until a call may start (reserving its start first); returns the seconds waited."""
        wait = self.reserve(tokens)
        if wait > 0:
            self._sleep(wait)
        return wait

    def _wait(self, tokens: int, now: float) -> float:
        waits = [self._paused_until - now]
        if self._requests is not None:
            waits.append(self._requests.wait_for(1, now))
        if self._tokens is not None:
            waits.append(self._tokens.wait_for(tokens, now))
        return max(waits)

    def _add(self, tokens: int, at: float) -> Reservation:
        if self._requests is not None:
            self._requests.add(1, at)
        entry = self._tokens.add(tokens, at) if self._tokens is not None else None
        return Reservation(entry)

    def settle(self, reservation: Reservation, actual_tokens: int) -> None:
        """Count the tokens the call really used instead of the estimate."""
        if self._tokens is not None and reservation.tokens_entry is not None:
            with self._lock:
                self._tokens.correct(reservation.tokens_entry, actual_tokens)
