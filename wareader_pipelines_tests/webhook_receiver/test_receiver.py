"""The receiver on a real uvicorn, called over loopback with httpx."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import httpx

from wareader_pipelines.landing.layout import WEBHOOK_PREFIX, parse_webhook_key
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.webhook_receiver.signature import sign
from wareader_pipelines_tests.servers.aws import FlakyProxy, MotoServer
from wareader_pipelines_tests.servers.receiver import (
    APP_SECRET,
    VERIFY_TOKEN,
    ReceiverProcess,
    RunningReceiver,
    serve_receiver,
)

SECRET = APP_SECRET.encode()


def _body(number: int) -> bytes:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": "106540352242922"},
                            "messages": [
                                {
                                    "from": "16505551234",
                                    "id": f"wamid.TEST{number:08d}",
                                    "timestamp": "1714550400",
                                    "type": "text",
                                    "text": {"body": f"olá número {number} ✓"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _post(client: httpx.Client, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-hub-signature-256"] = signature
    return client.post("/webhook", content=body, headers=headers)


def _landed(landing: str) -> list[Path]:
    root = Path(landing) / "webhooks"
    return sorted(root.rglob("*.json")) if root.exists() else []


def _leftovers(landing: str) -> list[Path]:
    root = Path(landing)
    return list(root.rglob(".incoming-*")) if root.exists() else []


def test_handshake_echoes_the_challenge_only_for_the_right_token(receiver: RunningReceiver) -> None:
    with httpx.Client(base_url=receiver.base_url) as client:
        good = client.get(
            "/webhook",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "1158201444",
            },
        )
        assert (good.status_code, good.text) == (200, "1158201444")
        for params in (
            {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
            {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
            {"hub.mode": "subscribe", "hub.challenge": "1"},
            {},
        ):
            assert client.get("/webhook", params=params).status_code == 403


def test_signed_body_is_stored_byte_exact_and_bad_signatures_write_nothing(
    receiver: RunningReceiver,
) -> None:
    body = _body(1)
    with httpx.Client(base_url=receiver.base_url) as client:
        assert _post(client, body, None).status_code == 401
        assert _post(client, body, sign(body, b"another secret")).status_code == 401
        assert _post(client, body, "sha256=" + "0" * 64).status_code == 401
        assert _post(client, body, sign(body + b" ", SECRET)).status_code == 401
        assert _post(client, body, "sha1=abc").status_code == 401
        assert _landed(receiver.landing) == []

        response = _post(client, body, sign(body, SECRET))
        assert response.status_code == 200

    (stored,) = _landed(receiver.landing)
    assert stored.read_bytes() == body
    key = parse_webhook_key(stored.relative_to(receiver.landing).as_posix())
    assert key is not None
    assert key.sha256 == hashlib.sha256(body).hexdigest()


def test_bodies_over_the_cap_are_413_and_not_stored(tmp_path: Path) -> None:
    with serve_receiver(str(tmp_path / "landing"), max_body_bytes=1000) as running:
        big = b'{"object": "whatsapp_business_account", "pad": "' + b"x" * 2000 + b'"}'
        with httpx.Client(base_url=running.base_url) as client:
            assert _post(client, big, sign(big, SECRET)).status_code == 413

            def chunks():  # no content-length: the cap must hold while streaming
                yield big[:900]
                yield big[900:]

            streamed = client.post(
                "/webhook",
                content=chunks(),
                headers={"x-hub-signature-256": sign(big, SECRET)},
            )
            assert streamed.status_code == 413
            small = _body(2)
            assert _post(client, small, sign(small, SECRET)).status_code == 200
        assert [path.read_bytes() for path in _landed(running.landing)] == [small]


def test_the_same_body_three_times_is_one_file(receiver: RunningReceiver) -> None:
    body = _body(3)
    with httpx.Client(base_url=receiver.base_url) as client:
        answers = [_post(client, body, sign(body, SECRET)).status_code for _ in range(3)]
        metrics = client.get("/metrics").text
    assert answers == [200, 200, 200]
    assert len(_landed(receiver.landing)) == 1
    assert "wareader_webhook_received_total 3.0" in metrics
    assert "wareader_webhook_duplicates_total 2.0" in metrics


def test_a_repeat_of_a_body_stored_before_a_restart_is_not_written_again(tmp_path: Path) -> None:
    landing = str(tmp_path / "landing")
    body = _body(4)
    for _ in range(2):  # two receiver lifetimes on the same landing zone
        with serve_receiver(landing) as running, httpx.Client(base_url=running.base_url) as client:
            assert _post(client, body, sign(body, SECRET)).status_code == 200
    assert len(_landed(landing)) == 1


def test_a_burst_of_2000_concurrent_posts_lands_2000_whole_files(
    receiver_process: ReceiverProcess,
) -> None:
    """Against the console command in its own process, so the client does not share its CPU."""
    bodies = [_body(10_000 + n) for n in range(2000)]

    async def burst() -> list[int]:
        # All 2,000 are started at once. A semaphore as wide as the pool (not httpx's pool
        # queue, whose waits count against a timeout and crawl with thousands of waiters)
        # keeps 100 connections busy, so no request ever waits for a connection. Timeouts
        # are generous for a loaded CI machine, and idle connections are dropped well
        # before uvicorn's 5 s keep-alive ends, so none is reused as the server closes it.
        gate = asyncio.Semaphore(100)
        limits = httpx.Limits(
            max_connections=100, max_keepalive_connections=100, keepalive_expiry=2
        )
        async with httpx.AsyncClient(
            base_url=receiver_process.base_url, limits=limits, timeout=httpx.Timeout(180)
        ) as client:

            async def post(body: bytes) -> int:
                async with gate:
                    response = await client.post(
                        "/webhook",
                        content=body,
                        headers={"x-hub-signature-256": sign(body, SECRET)},
                    )
                    return response.status_code

            return await asyncio.gather(*(post(body) for body in bodies))

    statuses = asyncio.run(burst())
    assert statuses.count(200) == 2000
    expected = {hashlib.sha256(body).hexdigest(): body for body in bodies}
    landed = {}
    for path in _landed(receiver_process.landing):
        key = parse_webhook_key(path.relative_to(receiver_process.landing).as_posix())
        assert key is not None
        if key.sha256 in expected:
            assert key.sha256 not in landed, "a body was stored twice"
            landed[key.sha256] = path.read_bytes()
    assert landed == expected  # every body, whole, exactly once
    assert _leftovers(receiver_process.landing) == []


def test_a_landing_zone_that_cannot_be_written_answers_5xx(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the landing folder should be")
    body = _body(5)
    with serve_receiver(str(blocked)) as running, httpx.Client(base_url=running.base_url) as client:
        response = _post(client, body, sign(body, SECRET))
        metrics = client.get("/metrics").text
    assert response.status_code == 503
    assert "wareader_webhook_write_failures_total 1.0" in metrics
    assert "wareader_webhook_received_total 0.0" in metrics


def test_health_and_metrics(receiver: RunningReceiver) -> None:
    body = _body(6)
    with httpx.Client(base_url=receiver.base_url) as client:
        assert client.get("/healthz").text == "ok"
        _post(client, body, sign(body, SECRET))
        _post(client, body, None)
        _post(client, body, sign(body, b"wrong"))
        metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert f"wareader_webhook_received_bytes_total {float(len(body))}" in text
    assert 'wareader_webhook_rejected_total{reason="signature_missing"} 1.0' in text
    assert 'wareader_webhook_rejected_total{reason="signature_invalid"} 1.0' in text
    assert "wareader_webhook_write_seconds_count 1.0" in text


def test_console_command_serves_from_the_environment_and_never_logs_secrets(
    receiver_process: ReceiverProcess,
) -> None:
    body = _body(7)
    with httpx.Client(base_url=receiver_process.base_url) as client:
        handshake = client.get(
            "/webhook",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "42",
            },
        )
        refused = client.get(
            "/webhook",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN + "x",
                "hub.challenge": "1",
            },
        )
        stored = _post(client, body, sign(body, SECRET))
    assert (handshake.text, refused.status_code, stored.status_code) == ("42", 403, 200)
    assert body in [path.read_bytes() for path in _landed(receiver_process.landing)]
    log = receiver_process.log.read_text()
    assert "webhook subscription verified" in log
    assert VERIFY_TOKEN not in log
    assert APP_SECRET not in log


def test_other_paths_and_methods_are_refused_without_writing(receiver: RunningReceiver) -> None:
    body = _body(8)
    with httpx.Client(base_url=receiver.base_url) as client:
        signed = {"x-hub-signature-256": sign(body, SECRET)}
        assert client.post("/webhooks", content=body, headers=signed).status_code == 404
        assert client.put("/webhook", content=body, headers=signed).status_code == 405
        assert client.post("/healthz", content=body, headers=signed).status_code == 404
    assert _landed(receiver.landing) == []


def test_on_s3_a_body_is_one_put_before_the_200_and_repeats_put_nothing(
    moto_server: MotoServer, flaky_s3: FlakyProxy
) -> None:
    bucket = moto_server.new_bucket()
    uri = f"s3://{bucket}/landing"
    zone = LandingZone(uri=uri, s3=moto_server.s3_resource(endpoint_url=flaky_s3.endpoint_url))
    body, other = _body(5), _body(6)
    with (
        serve_receiver(uri, zone=zone) as running,
        httpx.Client(base_url=running.base_url) as client,
    ):
        assert _post(client, body, None).status_code == 401
        assert flaky_s3.count("PUT") == 0
        answers = [_post(client, body, sign(body, SECRET)).status_code for _ in range(3)]
        assert answers == [200, 200, 200]
        assert flaky_s3.count("PUT") == 1  # stored before the first 200; repeats put nothing
        flaky_s3.failures, flaky_s3.matches = 10, lambda method, path: method == "PUT"
        assert _post(client, other, sign(other, SECRET)).status_code >= 500
        flaky_s3.failures = 0
        assert _post(client, other, sign(other, SECRET)).status_code == 200  # Meta's retry
    landed = list(zone.list(WEBHOOK_PREFIX))
    assert sorted(zone.read(item.key) for item in landed) == sorted([body, other])
    assert {parse_webhook_key(item.key).sha256 for item in landed} == {  # type: ignore[union-attr]
        hashlib.sha256(body).hexdigest(),
        hashlib.sha256(other).hexdigest(),
    }
