"""How long to wait before retrying an HTTP call: the server's Retry-After, else
exponential backoff with full jitter, always capped."""

from __future__ import annotations

import random

from wareader_pipelines.lib.retry_after import retry_after_seconds

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def is_retryable(status: int) -> bool:
    """Throttling, timeouts and server errors are worth another try; other 4xx are not."""
    return status in RETRYABLE_STATUSES


def backoff_delay(
    attempt: int,
    *,
    retry_after: str | None = None,
    base_seconds: float = 0.5,
    cap_seconds: float = 30.0,
    rng: random.Random | None = None,
) -> float:
    """The wait before retry number `attempt` (1 = first retry), at most `cap_seconds`."""
    asked = retry_after_seconds(retry_after)
    if asked is not None:
        return min(asked, cap_seconds)
    ceiling = min(cap_seconds, base_seconds * (2 ** (attempt - 1)))
    return (rng or random).uniform(ceiling / 2, ceiling)
