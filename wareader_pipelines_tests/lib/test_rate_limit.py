"""The rate limiter: its bookkeeping on a simulated clock, polled (LLM) and reserved ahead
(Graph API threads), and its limit across real threads."""

from __future__ import annotations

import threading
import time

import pytest

from wareader_pipelines.lib.rate_limit import RateLimiter, SlidingLog, slice_count


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


class _FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rate_limiter_reserves_future_slots_without_blocking_others() -> None:
    clock = _FakeClock()
    limiter = RateLimiter(
        requests_per_window=3, safety_seconds=0.0, slices=1, clock=clock.time, sleep=clock.sleep
    )
    waits = [limiter.reserve() for _ in range(7)]
    assert waits == [0.0, 0.0, 0.0, 60.0, 60.0, 60.0, 120.0]
    clock.now = 61.0
    assert limiter.reserve() == 59.0  # slots 3..5 are at 60; the next free one is at 120
    assert limiter.acquire() == 59.0  # the third call at 120; acquire sleeps until then
    assert clock.now == 120.0


def test_rate_limiter_holds_across_threads() -> None:
    """Ten threads share one limiter: the starts it hands out never put more than 50 calls in
    any 0.2 s window, and no call starts before its slot.

    The slots are what the limiter decides (its clock reading plus the wait it returns); a
    time read after `acquire` returns can be late by however long the thread waited for a
    core, which says nothing about the limiter.
    """
    readings = threading.local()

    def clock() -> float:
        readings.last = time.monotonic()
        return readings.last

    limiter = RateLimiter(
        requests_per_window=50, window_seconds=0.2, safety_seconds=0.0, slices=1, clock=clock
    )
    slots: list[float] = []
    early_starts: list[float] = []

    def call() -> None:
        for _ in range(10):
            wait = limiter.acquire()
            slot = readings.last + wait
            started = time.monotonic()
            slots.append(slot)
            if started < slot:
                early_starts.append(slot - started)

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slots.sort()
    assert len(slots) == 100
    assert early_starts == []
    # 100 calls at 50 per 0.2 s: the last ones had to wait for a second window.
    assert slots[-1] - slots[0] >= 0.2
    for index in range(len(slots) - 50):
        assert slots[index + 50] - slots[index] >= 0.2 - 1e-9  # float rounding only
