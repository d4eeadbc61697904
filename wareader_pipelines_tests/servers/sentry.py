"""A loopback HTTP server that takes what the Sentry SDK sends: envelopes, decoded to events."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from wareader_testkit.loopback import serving_on_loopback

PROJECT_ID = "42"
PUBLIC_KEY = "0123456789abcdef0123456789abcdef"


@dataclass
class SentryIngest:
    """The DSN to give the SDK, and every envelope item received (raw bytes and parsed)."""

    dsn: str
    raw: list[bytes] = field(default_factory=list)
    items: list[tuple[dict[str, Any], Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[dict[str, Any]]:
        """Payloads of the `event` items (errors and messages)."""
        with self.lock:
            return [payload for header, payload in self.items if header.get("type") == "event"]


def parse_envelope(body: bytes) -> list[tuple[dict[str, Any], Any]]:
    """(item header, payload) pairs of one envelope; JSON payloads decoded."""
    lines = body.split(b"\n")
    items = []
    position = 1  # line 0 is the envelope header
    while position < len(lines) and lines[position].strip():
        header = json.loads(lines[position])
        position += 1
        payload = lines[position] if position < len(lines) else b""
        position += 1
        try:
            items.append((header, json.loads(payload)))
        except ValueError:
            items.append((header, payload))
    return items


@pytest.fixture
def sentry_ingest() -> Iterator[SentryIngest]:

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            encoding = (self.headers.get("Content-Encoding") or "").lower()
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            elif encoding == "br":
                import brotli  # only when the SDK found brotli installed

                body = brotli.decompress(body)
            with ingest.lock:
                if self.path == f"/api/{PROJECT_ID}/envelope/":
                    ingest.raw.append(body)
                    ingest.items.extend(parse_envelope(body))
            answer = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    with serving_on_loopback(Handler) as port:
        ingest = SentryIngest(dsn=f"http://{PUBLIC_KEY}@127.0.0.1:{port}/{PROJECT_ID}")
        yield ingest
