"""The rate limiter's bookkeeping (simulated clock) and the gate's slot discipline (asyncio)."""

from __future__ import annotations

import asyncio
import time

import pytest

from wareader_pipelines.llm.rate_limit import CallGate, RateLimiter, SlidingLog, slice_count


def _most_in_any_window(starts: list[float], window: float) -> int:
    return max(sum(1 for t in starts if s <= t < s + window) for s in starts)


def _simulate(limiter: RateLimiter, calls: int, tokens: int = 1) -> list[float]:
    """Start `calls` calls as early as the limiter allows; return their start times."""
    now, starts = 0.0, []
    while len(starts) < calls:
        wait, reservation = limiter.try_acquire(tokens, now)
        if reservation is None:
            assert wait > 0
            now += wait
        else:
            starts.append(now)
    return starts


def test_slice_count_divides_the_limit() -> None:
    assert slice_count(600) == 10
    assert slice_count(7) == 7
    assert slice_count(13) == 1
    assert slice_count(1) == 1


@pytest.mark.parametrize("limit", [1, 5, 13, 600])
def test_requests_never_exceed_the_limit_in_any_window_and_are_smoothed(limit: int) -> None:
    limiter = RateLimiter(requests_per_window=limit, tokens_per_window=None, window_seconds=60)
    starts = _simulate(limiter, limit * 3)
    assert _most_in_any_window(starts, 60) <= limit
    # It does not waste the quota either: 3 windows' worth takes about 2-3 windows.
    assert starts[-1] <= 3 * 60.2
    if slice_count(limit) == 10:
        assert _most_in_any_window(starts, 6) <= limit // 10  # bursts are a tenth


def test_tokens_never_exceed_the_limit_in_any_window() -> None:
    limiter = RateLimiter(requests_per_window=None, tokens_per_window=10_000, window_seconds=60)
    starts = _simulate(limiter, 20, tokens=3_000)
    windows = [sum(3_000 for t in starts if s <= t < s + 60) for s in starts]
    assert max(windows) <= 10_000
    assert len([t for t in starts if t < 60]) == 3


def test_a_call_larger_than_the_token_budget_goes_alone() -> None:
    log = SlidingLog(limit=100, window=60)
    assert log.wait_for(500, now=0) == 0  # empty window: it may go
    log.add(500, now=0)
    assert log.wait_for(1, now=1) == pytest.approx(59)


def test_settling_returns_unused_tokens() -> None:
    limiter = RateLimiter(requests_per_window=None, tokens_per_window=1_000, window_seconds=60)
    _, reservation = limiter.try_acquire(900, now=0)
    assert limiter.try_acquire(500, now=1)[1] is None
    limiter.settle(reservation, 300)
    assert limiter.try_acquire(500, now=1)[1] is not None


def test_pause_holds_every_caller() -> None:
    limiter = RateLimiter(requests_per_window=100, tokens_per_window=None, window_seconds=60)
    limiter.pause_until(5.0)
    wait, reservation = limiter.try_acquire(1, now=1.0)
    assert reservation is None and wait == pytest.approx(4.0)


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
