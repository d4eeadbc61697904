"""The LLM retry policy: its delays (shared backoff, Retry-After as a floor) and when to give up."""

from __future__ import annotations

import random

import pytest

from wareader_pipelines.llm.retrying import (
    RetryPolicy,
    TransientProviderError,
)


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
