"""A client-side rate limit that never sleeps while holding the lock.

Each caller reserves the earliest moment at which it may call (at most `calls`
calls in any `period` seconds), releases the lock, and only then sleeps until
its moment. So one waiting thread never blocks the others from reserving, and
the limit holds across threads.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most `calls` calls in any window of `period` seconds, shared by all threads."""

    def __init__(
        self,
        calls: int,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if calls <= 0 or period <= 0:
            raise ValueError("calls and period must be positive")
        self.calls = calls
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: deque[float] = deque()  # reserved call times, ascending

    def reserve(self) -> float:
        """Reserve the next free call time and return how long to wait for it (no sleeping)."""
        with self._lock:
            now = self._clock()
            while self._slots and self._slots[0] <= now - self.period:
                self._slots.popleft()
            at = now
            if len(self._slots) >= self.calls:
                at = max(now, self._slots[-self.calls] + self.period)
            self._slots.append(at)
            return at - now

    def acquire(self) -> float:
        """Wait until a call is allowed; returns the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait
