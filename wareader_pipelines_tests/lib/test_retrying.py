"""The one retry rule every HTTP client uses: statuses, Retry-After, equal-jitter backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import httpx

from wareader_pipelines.lib.retrying import (
    backoff_seconds,
    is_retryable_status,
    retry_after_seconds,
    wait_before_retry,
)


def test_retryable_statuses() -> None:
    assert all(is_retryable_status(s) for s in (408, 409, 425, 429, 500, 502, 503, 504, 529))
    assert not any(is_retryable_status(s) for s in (400, 401, 403, 404, 422))


def test_retry_after_in_seconds_milliseconds_and_dates() -> None:
    assert retry_after_seconds({"Retry-After": "3"}) == 3
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_seconds({"retry-after-ms": "x", "retry-after": "9"}) == 9
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    http_date = {"Retry-After": "Wed, 01 May 2024 12:00:30 GMT"}
    assert retry_after_seconds(http_date, now=now) == 30
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({"Retry-After": " "}) is None
    assert retry_after_seconds({}) is None
    # The clients pass httpx's headers as they come.
    assert retry_after_seconds(httpx.Headers({"RETRY-AFTER": "7"})) == 7.0


def test_backoff_is_exponential_with_equal_jitter_and_a_cap() -> None:
    """What the docstring promises: a uniform draw from [c/2, c], c = min(cap, base * 2**(n-1))."""
    rng = random.Random(7)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (9, 8)]:
        delays = [backoff_seconds(attempt, base=1.0, cap=8.0, rng=rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        # Spread over the whole upper half, not bunched: not full jitter, not fixed.
        assert min(delays) < ceiling * 0.6 and max(delays) > ceiling * 0.9


def test_wait_before_retry_honours_retry_after_up_to_the_cap() -> None:
    assert wait_before_retry(1, retry_after=3.0, base=0.5, cap=30) == 3.0
    assert wait_before_retry(1, retry_after=999.0, base=0.5, cap=10) == 10
    assert 2 <= wait_before_retry(3, retry_after=None, base=1, cap=8) <= 4
