"""A scripted HTTP server on 127.0.0.1 that records every request: plays SendGrid and
webhook receivers in tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest

from wareader_testkit.loopback import serving_on_loopback


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received: the exact body bytes included."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class HttpRecorder:
    """The server's address, the answers it will give, and what it received."""

    base_url: str
    # Status codes given in order; when used up, `default_status` answers.
    script: list[int] = field(default_factory=list)
    default_status: int = 200
    extra_headers: dict[str, str] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base_url + path

    def next_status(self) -> int:
        with self.lock:
            return self.script.pop(0) if self.script else self.default_status


@pytest.fixture
def http_recorder() -> Iterator[HttpRecorder]:
    """A fresh recording server per test; stopped afterwards."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            recorder.requests.append(
                RecordedRequest(
                    method="POST",
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
            )
            status = recorder.next_status()
            payload = b"{}" if status < 300 else b'{"errors":[{"message":"scripted failure"}]}'
            self.send_response(status)
            for key, value in recorder.extra_headers.items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    with serving_on_loopback(Handler) as port:
        recorder = HttpRecorder(base_url=f"http://127.0.0.1:{port}")
        yield recorder
