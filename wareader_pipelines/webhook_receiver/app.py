"""The ASGI app: Meta's subscription handshake, signed deliveries, health and metrics.

A POST is answered 200 only after its bytes are durably in the landing zone,
so an acknowledged delivery is never lost; if the write fails the answer is
503 and Meta retries. The signature is checked on the raw bytes before
anything parses them.
"""

from __future__ import annotations

import hmac
import logging
import time
from datetime import UTC, datetime

from dagster_aws.s3 import S3Resource
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.webhook_receiver.metrics import ReceiverMetrics
from wareader_pipelines.webhook_receiver.settings import ReceiverSettings
from wareader_pipelines.webhook_receiver.signature import signature_is_valid
from wareader_pipelines.webhook_receiver.store import WebhookStore

WEBHOOK_PATH = "/webhook"
SIGNATURE_HEADER = "x-hub-signature-256"

logger = logging.getLogger("wareader.webhook_receiver")


class _TooLarge(Exception):
    pass


def landing_zone_of(settings: ReceiverSettings) -> LandingZone:
    """The landing zone the settings name, usable outside Dagster."""
    return LandingZone(
        uri=settings.landing_uri, s3=S3Resource(endpoint_url=settings.s3_endpoint_url)
    )


async def _read_capped(request: Request, limit: int) -> bytes:
    """The whole body, refusing to buffer more than `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(settings: ReceiverSettings, *, zone: LandingZone | None = None) -> Starlette:
    """The receiver for `settings`; `zone` overrides the landing zone the settings name."""
    store = WebhookStore(zone if zone is not None else landing_zone_of(settings))
    metrics = ReceiverMetrics()
    secret = settings.app_secret.get_secret_value().encode("utf-8")
    verify_token = settings.verify_token.get_secret_value()
    limit = settings.max_body_bytes

    async def verify(request: Request) -> Response:
        params = request.query_params
        if (
            params.get("hub.mode") == "subscribe"
            and params.get("hub.challenge") is not None
            and _same(params.get("hub.verify_token", ""), verify_token)
        ):
            logger.info("webhook subscription verified")
            return PlainTextResponse(params["hub.challenge"])
        metrics.rejected.labels(reason="verify_failed").inc()
        logger.warning("webhook verification refused (wrong mode or token)")
        return PlainTextResponse("forbidden", status_code=403)

    async def receive(request: Request) -> Response:
        received_at = datetime.now(UTC)
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                return _reject(metrics, "bad_length", 400, "bad content-length")
            if int(declared) > limit:
                return _reject(metrics, "too_large", 413, "body too large")
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return _reject(metrics, "signature_missing", 401, "missing signature")
        try:
            body = await _read_capped(request, limit)
        except _TooLarge:
            return _reject(metrics, "too_large", 413, "body too large")
        if not signature_is_valid(body, signature, secret):
            return _reject(metrics, "signature_invalid", 401, "bad signature")
        started = time.perf_counter()
        try:
            stored = await store.store(body, received_at)
        except Exception:
            metrics.write_failures.inc()
            logger.exception("could not store a verified webhook body; answering 503")
            return PlainTextResponse("storage unavailable", status_code=503)
        metrics.write_seconds.observe(time.perf_counter() - started)
        metrics.received.inc()
        metrics.received_bytes.inc(len(body))
        if stored.duplicate:
            metrics.duplicates.inc()
        return PlainTextResponse("ok")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def metrics_page(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route(WEBHOOK_PATH, verify, methods=["GET"]),
            Route(WEBHOOK_PATH, receive, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics_page, methods=["GET"]),
        ]
    )


def app_from_environment() -> Starlette:
    """Factory for `uvicorn --factory`: the app configured from the environment."""
    return create_app(ReceiverSettings.from_environ())


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _reject(metrics: ReceiverMetrics, reason: str, status: int, text: str) -> Response:
    metrics.rejected.labels(reason=reason).inc()
    return PlainTextResponse(text, status_code=status)
