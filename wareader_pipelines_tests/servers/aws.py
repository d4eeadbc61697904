"""moto in server mode on 127.0.0.1 (S3 and SES), and a proxy in front of it that fails on cue."""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import boto3
import httpx
import pytest
from dagster_aws.s3 import S3Resource
from moto.server import ThreadedMotoServer

from wareader_testkit.loopback import serving_on_loopback

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class MotoServer:
    """A running moto server."""

    endpoint_url: str

    def s3_resource(self, *, endpoint_url: str | None = None, max_attempts: int = 5) -> S3Resource:
        """dagster-aws's S3 resource pointed at this server (or at a proxy of it)."""
        return S3Resource(
            endpoint_url=endpoint_url or self.endpoint_url,
            region_name=REGION,
            max_attempts=max_attempts,
            **CREDENTIALS,
        )

    def client(self, service: str = "s3"):
        return boto3.client(
            service, endpoint_url=self.endpoint_url, region_name=REGION, **CREDENTIALS
        )

    def new_bucket(self) -> str:
        """A fresh, empty bucket: tests share the server, never a bucket."""
        name = f"test-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return name


@functools.cache
def _client(endpoint_url: str, service: str):
    return boto3.client(service, endpoint_url=endpoint_url, region_name=REGION, **CREDENTIALS)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto on a port the OS picks, for the whole session; stopped at the end."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()  # returns once its server has bound the port the OS picked
    try:
        _, port = server.get_host_and_port()
        yield MotoServer(endpoint_url=f"http://127.0.0.1:{port}")
    finally:
        server.stop()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials in the environment, for clients built from the default chain."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@dataclass
class FlakyProxy:
    """Forwards to moto, answering `status` instead to the first `failures` matching requests."""

    endpoint_url: str
    failures: int = 0
    status: int = 503
    matches: Callable[[str, str], bool] = lambda method, path: True
    seen: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, method: str) -> int:
        """How many `method` requests reached the proxy."""
        return sum(1 for seen_method, _, _ in self.seen if seen_method == method)


@pytest.fixture
def flaky_s3(moto_server: MotoServer) -> Iterator[FlakyProxy]:
    """An HTTP proxy on 127.0.0.1 in front of moto that fails on cue and records requests."""
    upstream = httpx.Client(base_url=moto_server.endpoint_url, timeout=30)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with proxy.lock:
                fail = proxy.failures > 0 and proxy.matches(self.command, self.path)
                if fail:
                    proxy.failures -= 1
            if fail:
                payload = (
                    b"<Error><Code>ServiceUnavailable</Code><Message>try again</Message></Error>"
                )
                proxy.seen.append((self.command, self.path, proxy.status))
                self.send_response(proxy.status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in {"content-length", "transfer-encoding", "connection"}
            }
            response = upstream.request(self.command, self.path, content=body, headers=headers)
            proxy.seen.append((self.command, self.path, response.status_code))
            self.send_response(response.status_code)
            for key, value in response.headers.items():
                if key.lower() not in {
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "content-encoding",
                }:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.content)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    try:
        with serving_on_loopback(Handler) as port:
            proxy = FlakyProxy(endpoint_url=f"http://127.0.0.1:{port}")
            yield proxy
    finally:
        upstream.close()
