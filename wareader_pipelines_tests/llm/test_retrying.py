"""Backoff with jitter, Retry-After parsing, and when to give up."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from wareader_pipelines.llm.retrying import (
    RetryPolicy,
    TransientProviderError,
    is_retryable_status,
    retry_after_seconds,
)


def test_retryable_statuses() -> None:
    assert all(is_retryable_status(s) for s in (408, 409, 429, 500, 502, 503, 504, 529))
    assert not any(is_retryable_status(s) for s in (400, 401, 403, 404, 422))


def test_retry_after_in_seconds_milliseconds_and_dates() -> None:
    assert retry_after_seconds({"Retry-After": "3"}) == 3
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds({"Retry-After": "Wed, 01 May 2024 12:00:30 GMT"}, now) == 30
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base_seconds=1.0, max_seconds=8.0)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (9, 8)]:
        delays = {policy.delay(attempt, None, rng) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered


def test_retry_after_is_a_floor() -> None:
    policy = RetryPolicy(base_seconds=0.1)
    rng = random.Random(1)
    assert all(3 <= policy.delay(1, 3.0, rng) <= 3.35 for _ in range(50))


@pytest.mark.parametrize(
    ("attempt", "retry_after", "gives_up"),
    [(1, None, False), (4, None, False), (5, None, True), (1, 30.0, False), (1, 3600.0, True)],
)
def test_gives_up_after_the_last_attempt_or_on_a_far_retry_after(
    attempt: int, retry_after: float | None, gives_up: bool
) -> None:
    error = TransientProviderError("429", status=429, retry_after=retry_after)
    assert RetryPolicy(max_attempts=5).gives_up(attempt, error) is gives_up
