"""The receiver's requests as OpenTelemetry spans and metrics, only when telemetry is on.

Wraps an ASGI handler call, reads the status from the response start, and records a
span (`webhook.receive`), a request counter and a latency histogram by route and
status. Off by default, so the hot path pays nothing unless an OTLP endpoint is set.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from opentelemetry import trace

from wareader_pipelines.observability.telemetry import Telemetry

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]


async def traced(
    recorder: Telemetry,
    route: str,
    method: str,
    handle: Callable[[Send], Awaitable[None]],
    send: Send,
) -> None:
    """Run `handle(send)` inside a span, counting the answer's status."""
    status = 0

    async def recording_send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        await send(message)

    started = time.perf_counter()
    with recorder.span(
        "webhook.receive", {"http.request.method": method, "http.route": route}
    ) as span:
        await handle(recording_send)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(trace.Status(trace.StatusCode.ERROR, f"HTTP {status}"))
    attributes = {"route": route, "method": method, "status": status}
    recorder.receiver_requests.add(1, attributes)
    recorder.receiver_duration.record(time.perf_counter() - started, attributes)
