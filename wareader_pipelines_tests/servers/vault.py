"""A loopback HTTP server speaking the part of Vault's HTTP API the secrets loader uses:
KV v2 reads (`GET /v1/<mount>/data/<path>`), token checks, and AppRole login."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from wareader_testkit.loopback import serving_on_loopback

ROOT_TOKEN = "hvs.test-root-token"
ROLE_ID, SECRET_ID = "role-wareader", "secret-id-1234"


@dataclass
class FakeVault:
    """KV v2 secrets by (mount, path), the tokens it accepts, and the requests it saw."""

    addr: str
    kv: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=lambda: {ROOT_TOKEN})
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)

    def put(self, mount: str, path: str, data: dict[str, Any]) -> None:
        self.kv[(mount, path)] = data


@pytest.fixture
def vault_server() -> Iterator[FakeVault]:
    vault = FakeVault(addr="")  # its address once the server has bound a port

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            token = self.headers.get("X-Vault-Token")
            vault.requests.append(("GET", self.path, token))
            if token not in vault.tokens:
                self._answer(403, {"errors": ["permission denied"]})
                return
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            # v1/<mount>/data/<path...>
            if len(parts) < 4 or parts[0] != "v1" or parts[2] != "data":
                self._answer(404, {"errors": []})
                return
            secret = vault.kv.get((parts[1], "/".join(parts[3:])))
            if secret is None:
                self._answer(404, {"errors": []})
                return
            self._answer(
                200,
                {
                    "request_id": str(uuid.uuid4()),
                    "lease_id": "",
                    "renewable": False,
                    "lease_duration": 0,
                    "data": {
                        "data": secret,
                        "metadata": {
                            "created_time": "2026-11-26T10:00:00.000000Z",
                            "custom_metadata": None,
                            "deletion_time": "",
                            "destroyed": False,
                            "version": 1,
                        },
                    },
                    "wrap_info": None,
                    "warnings": None,
                    "auth": None,
                },
            )

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            vault.requests.append(("POST", self.path, None))
            if self.path == "/v1/auth/approle/login":
                if body.get("role_id") == ROLE_ID and body.get("secret_id") == SECRET_ID:
                    token = f"hvs.approle-{uuid.uuid4().hex[:8]}"
                    vault.tokens.add(token)
                    self._answer(200, {"auth": {"client_token": token, "lease_duration": 3600}})
                else:
                    self._answer(400, {"errors": ["invalid role or secret ID"]})
                return
            self._answer(404, {"errors": []})

    with serving_on_loopback(Handler) as port:
        vault.addr = f"http://127.0.0.1:{port}"
        yield vault
