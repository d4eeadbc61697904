"""The LLM client's gate: a bound on concurrent calls, each started only when the rate limiter
allows. A caller that must wait for the limiter gives its concurrency slot back before
sleeping, so waiting never blocks calls that could run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from wareader_pipelines.lib.rate_limit import RateLimiter, Reservation


class CallGate:
    """At most `max_concurrency` calls in flight, each started only when the limiter allows."""

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        max_concurrency: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.limiter = limiter
        self._slots = asyncio.Semaphore(max_concurrency)
        self._clock = clock
        self.slots_held = 0  # observed by tests: never more than calls really in flight
        self.rate_waits = 0

    @asynccontextmanager
    async def admit(self, tokens: int) -> AsyncIterator[Reservation]:
        """Hold a slot and a rate-limit grant for the body of the `async with`."""
        while True:
            await self._slots.acquire()
            self.slots_held += 1
            wait, reservation = self.limiter.try_acquire(tokens, self._clock())
            if reservation is not None:
                break
            self.slots_held -= 1
            self._slots.release()  # never sleep while holding a slot
            self.rate_waits += 1
            await asyncio.sleep(wait)
        try:
            yield reservation
        finally:
            self.slots_held -= 1
            self._slots.release()
