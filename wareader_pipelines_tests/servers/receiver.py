"""The webhook receiver on a real uvicorn: in a thread, or as the console command in a process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.webhook_receiver.app import create_app
from wareader_pipelines.webhook_receiver.connection_limits import ConnectionLimits, uvicorn_options
from wareader_pipelines.webhook_receiver.settings import ReceiverSettings
from wareader_testkit.loopback import port_from_log, serving_asgi_on_loopback

APP_SECRET = "test-app-secret-0123456789"
VERIFY_TOKEN = "test-verify-token-abcdef"


@dataclass(frozen=True)
class RunningReceiver:
    """A receiver listening on 127.0.0.1."""

    base_url: str
    landing: str


@contextmanager
def serve_receiver(
    landing_uri: str,
    *,
    max_body_bytes: int = 64 * 1024,
    zone: LandingZone | None = None,
    limits: ConnectionLimits | None = None,
) -> Iterator[RunningReceiver]:
    """Serve a receiver for `landing_uri` (or `zone`, e.g. S3) in a background thread;
    with `limits`, behind the connection limits the console command applies."""
    settings = ReceiverSettings(
        landing_uri=landing_uri,
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        max_body_bytes=max_body_bytes,
    )
    with serving_asgi_on_loopback(
        create_app(settings, zone=zone or LandingZone(uri=landing_uri), limits=limits),
        backlog=4096,
        **(uvicorn_options(limits) if limits is not None else {}),
    ) as port:
        yield RunningReceiver(base_url=f"http://127.0.0.1:{port}", landing=landing_uri)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[RunningReceiver]:
    """A receiver writing into a fresh landing folder."""
    with serve_receiver(str(tmp_path / "landing")) as running:
        yield running


@dataclass(frozen=True)
class ReceiverProcess(RunningReceiver):
    """The console command running in its own process, with its log file."""

    log: Path


@pytest.fixture(scope="session")
def receiver_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverProcess]:
    """`wareader-webhook-receiver` as a deployment runs it: configured by environment only."""
    root = tmp_path_factory.mktemp("receiver-process")
    log = root / "receiver.log"
    environment = {
        **os.environ,
        "WA_APP_SECRET": APP_SECRET,
        "WA_WEBHOOK_TOKEN": VERIFY_TOKEN,
        "WAREADER_LANDING_URI": str(root / "landing"),
        "WAREADER_WEBHOOK_MAX_BYTES": str(64 * 1024),
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wareader_pipelines.webhook_receiver.cli",
                "--host",
                "127.0.0.1",
                "--port",
                "0",  # the OS picks; the receiver logs the port it bound
            ],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        port = port_from_log(log, process)
        yield ReceiverProcess(
            base_url=f"http://127.0.0.1:{port}", landing=str(root / "landing"), log=log
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
