"""Retrying an HTTP call, one rule for every client we run (archive e-mail and webhooks,
the WhatsApp Graph API, the LLM providers): which answers are worth another try, what
the server's `Retry-After` asks, and the backoff used when it asks nothing. No Dagster."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Timeout, conflict, too early, throttled; every 5xx (Anthropic's 529 "overloaded" too) as well.
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})


def is_retryable_status(status: int) -> bool:
    """Timeouts, conflicts, throttling and server errors are worth another try; other 4xx are not."""
    return status in RETRYABLE_STATUSES or status >= 500


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds the server asks to wait, or None if it asks nothing readable.

    `retry-after-ms` (OpenAI, Anthropic) wins over `Retry-After`, which is delta-seconds
    or an HTTP date; header names are matched without regard to case.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    milliseconds = lowered.get("retry-after-ms")
    if milliseconds:
        try:
            return max(float(milliseconds) / 1000.0, 0.0)
        except ValueError:
            pass
    header = (lowered.get("retry-after") or "").strip()
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_seconds(
    attempt: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with equal jitter before retry `attempt` (1 = the first retry).

    With ceiling c = min(cap, base * 2 ** (attempt - 1)) the wait is drawn uniformly from
    [c / 2, c]: half of it is guaranteed, the other half spreads parallel callers apart.
    """
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def wait_before_retry(
    attempt: int,
    *,
    retry_after: float | None,
    base: float,
    cap: float,
    rng: random.Random | None = None,
) -> float:
    """The server's `Retry-After` if it gave one, else `backoff_seconds`; never more than `cap`."""
    if retry_after is not None:
        return min(retry_after, cap)
    return backoff_seconds(attempt, base=base, cap=cap, rng=rng)
