"""The LLM gate's slot discipline (asyncio): waiting for the limiter never holds a slot."""

from __future__ import annotations

import asyncio
import time

from wareader_pipelines.lib.rate_limit import RateLimiter
from wareader_pipelines.llm.call_gate import CallGate


def _most_in_any_window(starts: list[float], window: float) -> int:
    return max(sum(1 for t in starts if s <= t < s + window) for s in starts)


def test_the_gate_never_sleeps_holding_a_slot() -> None:
    """Rate-limited callers wait without slots, so slots held == calls really in flight."""

    async def scenario() -> tuple[int, list[tuple[int, int]], list[float]]:
        limiter = RateLimiter(requests_per_window=4, tokens_per_window=None, window_seconds=0.4)
        gate = CallGate(limiter, max_concurrency=3)
        in_flight = 0
        samples: list[tuple[int, int]] = []
        starts: list[float] = []

        async def call() -> None:
            nonlocal in_flight
            async with gate.admit(1):
                in_flight += 1
                starts.append(time.monotonic())
                await asyncio.sleep(0.02)
                in_flight -= 1

        async def watch() -> None:
            while True:
                samples.append((gate.slots_held, in_flight))
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        await asyncio.gather(*(call() for _ in range(12)))
        watcher.cancel()
        return gate.rate_waits, samples, starts

    rate_waits, samples, starts = asyncio.run(scenario())
    assert rate_waits > 0  # the limiter did make callers wait
    assert all(held == flying for held, flying in samples)
    assert _most_in_any_window(starts, 0.4) <= 4
