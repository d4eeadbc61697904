"""The ASGI app: Meta's subscription handshake, signed deliveries, health and metrics.

A POST is answered 200 only after its bytes are durably in the landing zone,
so an acknowledged delivery is never lost; if the write fails the answer is
503 and Meta retries. The signature is checked on the raw bytes before
anything parses them.

A plain ASGI callable rather than a framework: four fixed routes do not need a
router, and the POST path is the hot one (every message Meta sends).
"""

from __future__ import annotations

import gc
import hmac
import logging
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from anyio import to_thread
from dagster_aws.s3 import S3Resource
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from wareader_pipelines.observability import sentry, telemetry
from wareader_pipelines.resources.atomic_file import remove_orphaned_temporaries
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.secrets import load_secrets_into_environment
from wareader_pipelines.webhook_receiver.connection_limits import BodyBudget, ConnectionLimits
from wareader_pipelines.webhook_receiver.metrics import ReceiverMetrics
from wareader_pipelines.webhook_receiver.rotation import previous_secret_of
from wareader_pipelines.webhook_receiver.settings import ReceiverSettings
from wareader_pipelines.webhook_receiver.signature import signature_is_valid
from wareader_pipelines.webhook_receiver.store import WebhookStore
from wareader_pipelines.webhook_receiver.tracing import traced

WEBHOOK_PATH = "/webhook"
SIGNATURE_HEADER = b"x-hub-signature-256"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_TEXT = b"text/plain; charset=utf-8"

logger = logging.getLogger("wareader.webhook_receiver")


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


def landing_zone_of(settings: ReceiverSettings) -> LandingZone:
    """The landing zone the settings name, usable outside Dagster."""
    return LandingZone(
        uri=settings.landing_uri, s3=S3Resource(endpoint_url=settings.s3_endpoint_url)
    )


class WebhookReceiver:
    """The receiver as an ASGI application (HTTP and lifespan)."""

    def __init__(
        self,
        settings: ReceiverSettings,
        *,
        zone: LandingZone | None = None,
        limits: ConnectionLimits | None = None,
        freeze_at_startup: bool = False,
    ) -> None:
        self._freeze_at_startup = freeze_at_startup
        self._budget = BodyBudget(limits or ConnectionLimits())
        self._orphan_age = (limits or ConnectionLimits()).orphan_age_seconds
        self._zone = zone if zone is not None else landing_zone_of(settings)
        self.store = WebhookStore(self._zone)
        self.metrics = ReceiverMetrics()
        self._secret = settings.app_secret.get_secret_value().encode("utf-8")
        self._previous = previous_secret_of(settings)
        self._verify_token = settings.verify_token.get_secret_value().encode("utf-8")
        self._limit = settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == WEBHOOK_PATH:
            if method == "POST":
                recorder = telemetry.current()
                if recorder.enabled:

                    async def handle(traced_send: Send) -> None:
                        await self._receive(scope, receive, traced_send)

                    await traced(recorder, WEBHOOK_PATH, method, handle, send)
                else:
                    await self._receive(scope, receive, send)
            elif method == "GET":
                await self._verify(scope, send)
            else:
                await _respond(send, 405, b"method not allowed")
        elif path == "/healthz" and method == "GET":
            await _respond(send, 200, b"ok")
        elif path == "/metrics" and method == "GET":
            page = generate_latest(self.metrics.registry)
            await _respond(send, 200, page, CONTENT_TYPE_LATEST.encode("ascii"))
        else:
            await _respond(send, 404, b"not found")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self._remove_orphans()
                if self._freeze_at_startup:
                    _freeze_startup_objects()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.store.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _remove_orphans(self) -> None:
        """Delete temporaries a killed receiver left in a local landing zone (never a body)."""
        if self._zone.is_s3:
            return  # S3 puts are atomic: nothing is left half written
        removed = await to_thread.run_sync(
            lambda: remove_orphaned_temporaries(Path(self._zone.uri), older_than=self._orphan_age)
        )
        if removed:
            logger.info(
                "removed %d orphaned temporary files older than %.0f s",
                len(removed),
                self._orphan_age,
            )

    async def _verify(self, scope: Scope, send: Send) -> None:
        params = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        challenge = params.get("hub.challenge")
        if (
            params.get("hub.mode") == "subscribe"
            and challenge is not None
            and hmac.compare_digest(
                params.get("hub.verify_token", "").encode("utf-8"), self._verify_token
            )
        ):
            logger.info("webhook subscription verified")
            await _respond(send, 200, challenge.encode("utf-8"))
            return
        self.metrics.rejected.labels(reason="verify_failed").inc()
        logger.warning("webhook verification refused (wrong mode or token)")
        await _respond(send, 403, b"forbidden")

    async def _receive(self, scope: Scope, receive: Receive, send: Send) -> None:
        received_at = datetime.now(UTC)
        declared: bytes | None = None
        signature: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == SIGNATURE_HEADER:
                signature = value
        if declared is not None:
            if not declared.isdigit():
                await self._reject(send, "bad_length", 400, b"bad content-length")
                return
            if int(declared) > self._limit:
                await self._reject(send, "too_large", 413, b"body too large")
                return
        if not signature:
            await self._reject(send, "signature_missing", 401, b"missing signature")
            return
        size = int(declared) if declared is not None else None
        with self._budget.reserve(size, self._limit) as admitted:
            if not admitted:  # large bodies already hold the buffer pool: Meta retries later
                await self._reject(send, "busy", 503, b"busy, retry later", retry_after=b"5")
                return
            await self._read_verify_store(receive, send, signature, received_at)

    async def _read_verify_store(
        self, receive: Receive, send: Send, signature: bytes, received_at: datetime
    ) -> None:
        try:
            body = await _read_capped(receive, self._limit)
        except _TooLarge:
            await self._reject(send, "too_large", 413, b"body too large")
            return
        except _Disconnected:
            return
        header = signature.decode("latin-1")
        if not signature_is_valid(body, header, self._secret):
            if not self._previous.verifies(body, header, time.time()):
                await self._reject(send, "signature_invalid", 401, b"bad signature")
                return
            self.metrics.previous_secret_used.inc()
        started = time.perf_counter()
        try:
            stored = await self.store.store(body, received_at)
        except Exception:
            self.metrics.write_failures.inc()
            logger.exception("could not store a verified webhook body; answering 503")
            await _respond(send, 503, b"storage unavailable")
            return
        self.metrics.write_seconds.observe(time.perf_counter() - started)
        self.metrics.received.inc()
        self.metrics.received_bytes.inc(len(body))
        if stored.duplicate:
            self.metrics.duplicates.inc()
        await _respond(send, 200, b"ok")

    async def _reject(
        self, send: Send, reason: str, status: int, text: bytes, *, retry_after: bytes | None = None
    ) -> None:
        self.metrics.rejected.labels(reason=reason).inc()
        await _respond(send, status, text, retry_after=retry_after)


def create_app(
    settings: ReceiverSettings,
    *,
    zone: LandingZone | None = None,
    limits: ConnectionLimits | None = None,
    freeze_at_startup: bool = False,
) -> WebhookReceiver:
    """The receiver for `settings`; `zone` overrides the landing zone the settings name.

    `freeze_at_startup` (the served process's choice, see `_freeze_startup_objects`)
    changes the whole process's garbage collector, so apps built inside tests leave it off.
    """
    return WebhookReceiver(settings, zone=zone, limits=limits, freeze_at_startup=freeze_at_startup)


def app_from_environment() -> WebhookReceiver:
    """Factory for `uvicorn --factory`: the app configured from the environment."""
    load_secrets_into_environment()
    sentry.configure_from_environment(component="webhook_receiver")
    telemetry.configure_from_environment()
    return create_app(
        ReceiverSettings.from_environ(),
        limits=ConnectionLimits.from_environ(os.environ),
        freeze_at_startup=True,
    )


def _freeze_startup_objects() -> None:
    """Keep the ~270,000 objects of the imports out of every later full garbage collection.

    Under load, objects of requests in flight are promoted to the oldest generation
    faster than they die, so a full collection ran every few seconds and walked every
    module, class and function loaded at startup: 80-440 ms with all requests stopped,
    the whole p99 (measured under wrk, benchmarks/README.md). Frozen objects are never
    collected, so this runs once, after startup, when they are all live for good.
    """
    gc.collect()
    gc.freeze()


async def _read_capped(receive: Receive, limit: int) -> bytes:
    """The whole body, refusing to buffer more than `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        if not message.get("more_body", False):
            if not chunks:
                return chunk
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = _TEXT,
    *,
    retry_after: bytes | None = None,
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", retry_after))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
