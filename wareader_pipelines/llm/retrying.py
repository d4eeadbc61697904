"""When and how long to retry a model call: bounded attempts, exponential backoff with jitter.

Transient failures (429, 5xx, 408/409, timeouts, dropped connections) are retried up
to `max_attempts` in all, waiting at least what the server's `Retry-After` (or
`retry-after-ms`) asked; fatal ones (400, 401, 403, 404, 422) are not retried at all
and carry a message that names the provider and the setting to fix.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from wareader_pipelines.lib.retrying import backoff_seconds


class ProviderError(Exception):
    """A model call that did not produce an answer."""


class TransientProviderError(ProviderError):
    """Worth retrying: rate limited, overloaded, timed out or disconnected."""

    def __init__(self, message: str, *, status: int | None, retry_after: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class FatalProviderError(ProviderError):
    """Retrying cannot help: the key, the model name or the request is wrong."""

    def __init__(self, message: str, *, status: int | None) -> None:
        super().__init__(message)
        self.status = status


class RetriesExhausted(ProviderError):
    """Every attempt failed transiently; the last error is the cause."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded attempts, `backoff_seconds` between them; Retry-After is a floor, not a hint."""

    max_attempts: int = 5
    base_seconds: float = 1.0
    max_seconds: float = 60.0
    # A Retry-After longer than this means a quota that resets later (a daily limit, say):
    # the row fails with the reason instead of the run sleeping for an hour.
    longest_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before attempt `attempt + 1`, after `attempt` (1-based) failed."""
        jittered = backoff_seconds(attempt, base=self.base_seconds, cap=self.max_seconds, rng=rng)
        if retry_after is None:
            return jittered
        # Honour the server's wait, plus a little jitter so parallel callers do not all
        # return in the same millisecond.
        return retry_after + rng.uniform(0, min(jittered, retry_after * 0.1 + 0.05))

    def gives_up(self, attempt: int, error: TransientProviderError) -> bool:
        """Whether attempt `attempt` (1-based) was the last one worth making."""
        if attempt >= self.max_attempts:
            return True
        return error.retry_after is not None and error.retry_after > self.longest_retry_after
