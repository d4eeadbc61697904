"""A local HTTP server playing Meta's Graph API: media lookups, media bytes, number metadata."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import pytest

from wareader_testkit.loopback import serving_on_loopback

GRAPH_TOKEN = "graph-test-token"
PHONE_NUMBER_ID = "106540352242922"


@dataclass
class ScriptedAnswer:
    """A canned answer returned (once) before the normal one."""

    status: int
    body: dict | str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeGraphAPI:
    """State of the fake: stored media, queued failures per path, and the requests seen."""

    base_url: str = ""
    version: str = "v23.0"
    media: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)  # id -> bytes, mime, sha
    queued: dict[str, list[ScriptedAnswer]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, auth

    def add_media(self, media_id: str, content: bytes, mime: str, sha256: str | None = None) -> str:
        digest = sha256 or hashlib.sha256(content).hexdigest()
        self.media[media_id] = (content, mime, digest)
        return digest

    def fail_next(self, path: str, *answers: ScriptedAnswer) -> None:
        self.queued.setdefault(path, []).extend(answers)

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.requests]


def _handler_for(fake: FakeGraphAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _send(self, status: int, body: bytes | dict | str, headers: dict[str, str]) -> None:
            if isinstance(body, dict):
                data, kind = json.dumps(body).encode(), "application/json"
            elif isinstance(body, str):
                data, kind = body.encode(), "text/plain"
            else:
                data, kind = body, headers.pop("content-type", "application/octet-stream")
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            fake.requests.append(("GET", path, self.headers.get("authorization")))
            if self.headers.get("authorization") != f"Bearer {GRAPH_TOKEN}":
                self._send(
                    401, {"error": {"message": "Invalid OAuth access token.", "code": 190}}, {}
                )
                return
            queued = fake.queued.get(path)
            if queued:
                answer = queued.pop(0)
                self._send(answer.status, answer.body, dict(answer.headers))
                return
            prefix = f"/{fake.version}/"
            if path.startswith("/lookaside/"):
                media_id = path.rsplit("/", 1)[-1]
                content, mime, _ = fake.media[media_id]
                self._send(200, content, {"content-type": mime})
            elif path == f"{prefix}{PHONE_NUMBER_ID}":
                self._send(
                    200,
                    {
                        "id": PHONE_NUMBER_ID,
                        "display_phone_number": "+1 555-010-0000",
                        "verified_name": "Wareader Test Shop",
                        "quality_rating": "GREEN",
                    },
                    {},
                )
            elif path == f"{prefix}{PHONE_NUMBER_ID}/whatsapp_business_profile":
                self._send(
                    200,
                    {"data": [{"about": "We answer fast", "vertical": "RETAIL", "websites": []}]},
                    {},
                )
            elif path.startswith(prefix) and path[len(prefix) :] in fake.media:
                media_id = path[len(prefix) :]
                content, mime, digest = fake.media[media_id]
                self._send(
                    200,
                    {
                        "messaging_product": "whatsapp",
                        "url": f"{fake.base_url}/lookaside/{media_id}?ext=1&hash=signed-part",
                        "mime_type": mime,
                        "sha256": digest,
                        "file_size": len(content),
                        "id": media_id,
                    },
                    {},
                )
            else:
                self._send(
                    400,
                    {
                        "error": {
                            "message": "Unsupported get request.",
                            "type": "GraphMethodException",
                            "code": 100,
                            "error_subcode": 33,
                            "fbtrace_id": "AbCdEf",
                        }
                    },
                    {},
                )

    return Handler


@pytest.fixture
def graph_api() -> Iterator[FakeGraphAPI]:
    """A fake Graph API on 127.0.0.1 (own port), stopped after the test."""
    fake = FakeGraphAPI()
    with serving_on_loopback(_handler_for(fake)) as port:
        fake.base_url = f"http://127.0.0.1:{port}"
        yield fake
