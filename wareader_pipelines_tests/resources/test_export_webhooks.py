"""The export.completed webhook against a local receiver that checks the signature."""

from __future__ import annotations

import json
import time

from wareader_pipelines.archives.webhook_signature import verify
from wareader_pipelines.resources.export_webhooks import ExportWebhooks
from wareader_pipelines_tests.servers.http_recorder import HttpRecorder

SECRET = "whsec-test-0123456789"
EVENT = {
    "id": "conv-1/2024-05/abc",
    "type": "export.completed",
    "data": {
        "uri": "s3://b/k.zip",
        "period": "2024-05",
        "sha256": "abc",
        "counts": {"messages": 3},
    },
}


def _no_sleep(_seconds: float) -> None:
    pass


def test_event_is_signed_over_the_exact_body(http_recorder: HttpRecorder) -> None:
    hooks = ExportWebhooks(urls=[http_recorder.url("/hooks/export?token=t")], signing_secret=SECRET)

    [delivery] = hooks.deliver(EVENT, sleep=_no_sleep)

    assert delivery.delivered and delivery.attempts == 1 and delivery.status_code == 200
    assert delivery.url == http_recorder.url("/hooks/export")  # no query string shown
    [request] = http_recorder.requests
    assert request.headers["x-wareader-event"] == "export.completed"
    assert verify(
        request.body,
        secret=SECRET,
        timestamp=request.headers["x-wareader-timestamp"],
        received_signature=request.headers["x-wareader-signature"],
        now=time.time(),
    )
    assert not verify(
        json.dumps(json.loads(request.body), indent=1).encode(),  # re-serialized: no match
        secret=SECRET,
        timestamp=request.headers["x-wareader-timestamp"],
        received_signature=request.headers["x-wareader-signature"],
        now=time.time(),
    )
    assert json.loads(request.body) == EVENT


def test_server_errors_are_retried_with_backoff(http_recorder: HttpRecorder) -> None:
    http_recorder.script = [500, 503]
    waits: list[float] = []
    hooks = ExportWebhooks(urls=[http_recorder.url("/hook")], signing_secret=SECRET)

    [delivery] = hooks.deliver(EVENT, sleep=waits.append)

    assert delivery.delivered and delivery.attempts == 3
    assert len(waits) == 2 and 0 < waits[0] <= 0.5 and 0 < waits[1] <= 1.0
    bodies = {r.body for r in http_recorder.requests}
    assert len(bodies) == 1  # the same bytes every time


def test_a_receiver_that_keeps_failing_is_reported_not_raised(http_recorder: HttpRecorder) -> None:
    http_recorder.default_status = 500
    hooks = ExportWebhooks(
        urls=[http_recorder.url("/down"), "http://127.0.0.1:9/refused"],
        signing_secret=SECRET,
        max_attempts=3,
        timeout_seconds=2,
    )

    down, refused = hooks.deliver(EVENT, sleep=_no_sleep)

    assert not down.delivered and down.attempts == 3 and down.error == "HTTP 500"
    assert not refused.delivered and refused.attempts == 3 and refused.status_code is None
    assert len(http_recorder.requests) == 3


def test_a_client_error_is_not_retried(http_recorder: HttpRecorder) -> None:
    http_recorder.default_status = 410
    hooks = ExportWebhooks(urls=[http_recorder.url("/gone")], signing_secret=SECRET)
    [delivery] = hooks.deliver(EVENT, sleep=_no_sleep)
    assert not delivery.delivered and delivery.attempts == 1


def test_without_a_secret_nothing_is_sent(http_recorder: HttpRecorder) -> None:
    hooks = ExportWebhooks(urls=[http_recorder.url("/hook")])
    [delivery] = hooks.deliver(EVENT, sleep=_no_sleep)
    assert not delivery.delivered and "secret" in (delivery.error or "")
    assert http_recorder.requests == []
    assert ExportWebhooks().deliver(EVENT) == []
