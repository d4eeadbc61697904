"""Outgoing webhooks: the `export.completed` event POSTed, signed, to configured URLs.

A receiver that keeps failing is reported back, never raised: an archive that was
built and stored stays built because someone else's endpoint is down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from dagster import ConfigurableResource
from pydantic import Field

from wareader_pipelines.archives.notice import event_body
from wareader_pipelines.archives.webhook_signature import signed_headers
from wareader_pipelines.lib.retrying import (
    is_retryable_status,
    retry_after_seconds,
    wait_before_retry,
)

EVENT_HEADER = "X-Wareader-Event"


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """How delivering one event to one receiver went."""

    url: str  # without query string or credentials: safe to show
    delivered: bool
    attempts: int
    status_code: int | None
    error: str | None


def shown_url(url: str) -> str:
    """`url` without user info, query and fragment (they may carry tokens)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


class ExportWebhooks(ConfigurableResource):
    """POSTs events as JSON, signed with HMAC-SHA256 over the timestamp and exact body."""

    urls: list[str] = Field(default_factory=list, description="Receivers of export events.")
    urls_csv: str = Field(
        default="",
        description="More receivers, comma-separated (WAREADER_EXPORT_WEBHOOK_URLS, an EnvVar).",
    )
    signing_secret: str = Field(
        default="",
        description="HMAC key of the X-Wareader-Signature header; events are not sent without it.",
    )
    timeout_seconds: float = Field(default=10.0, description="Per-request timeout.")
    max_attempts: int = Field(default=4, description="Tries per receiver, the first included.")
    backoff_base_seconds: float = Field(default=0.5, description="First retry waits about this.")
    backoff_cap_seconds: float = Field(default=30.0, description="No wait is longer than this.")

    @property
    def receivers(self) -> list[str]:
        """Every receiver, from both settings, each once."""
        extra = [url.strip() for url in self.urls_csv.split(",") if url.strip()]
        return list(dict.fromkeys([*self.urls, *extra]))

    @property
    def enabled(self) -> bool:
        return bool(self.receivers)

    def deliver(
        self, event: dict[str, object], *, sleep: Callable[[float], None] = time.sleep
    ) -> list[WebhookDelivery]:
        """Send `event` to every receiver; one result per receiver, failures included."""
        if not self.receivers:
            return []
        if not self.signing_secret:
            return [
                WebhookDelivery(
                    url=shown_url(url),
                    delivered=False,
                    attempts=0,
                    status_code=None,
                    error="no signing secret configured: event not sent",
                )
                for url in self.receivers
            ]
        body = event_body(event)
        with httpx.Client(timeout=self.timeout_seconds, follow_redirects=False) as client:
            return [
                self._deliver_one(client, url, body, str(event["type"]), sleep)
                for url in self.receivers
            ]

    def _deliver_one(
        self,
        client: httpx.Client,
        url: str,
        body: bytes,
        event_type: str,
        sleep: Callable[[float], None],
    ) -> WebhookDelivery:
        status: int | None = None
        error: str | None = None
        attempts = 0
        for attempt in range(1, max(self.max_attempts, 1) + 1):
            attempts = attempt
            retry_after: float | None = None
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "wareader-pipelines",
                EVENT_HEADER: event_type,
                **signed_headers(body, secret=self.signing_secret, timestamp=int(time.time())),
            }
            try:
                response = client.post(url, content=body, headers=headers)
            except httpx.HTTPError as failure:
                status, error = None, f"{type(failure).__name__}"
                retryable = True
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return WebhookDelivery(shown_url(url), True, attempt, status, None)
                error = f"HTTP {status}"
                retryable = is_retryable_status(status)
                retry_after = retry_after_seconds(response.headers)
            if not retryable or attempt == self.max_attempts:
                break
            sleep(
                wait_before_retry(
                    attempt,
                    retry_after=retry_after,
                    base=self.backoff_base_seconds,
                    cap=self.backoff_cap_seconds,
                )
            )
        return WebhookDelivery(shown_url(url), False, attempts, status, error)
