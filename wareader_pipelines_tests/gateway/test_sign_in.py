"""The sign-in flow end to end: the gateway on uvicorn, a real OpenID Connect provider
(oidc-provider-mock) and a real Dagster webserver, all on 127.0.0.1."""

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import itsdangerous
import pytest
from oidc_provider_mock import run_server_in_thread

from wareader_pipelines.gateway.app import SESSION_COOKIE, create_app
from wareader_pipelines.gateway.settings import AllowList, GatewaySettings, Provider
from wareader_pipelines_tests.servers.receiver import serve_receiver
from wareader_testkit.loopback import port_from_log, serving_asgi_on_loopback

SESSION_SECRET = "test-session-secret-0123456789abcdef"
GRAPHQL = {"query": "{ version }"}


@dataclass(frozen=True)
class Stack:
    gateway: str
    provider: str
    receiver: str


@pytest.fixture(scope="module")
def dagster_webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`dagster-webserver` over a one-asset code location, as a process."""
    home = tmp_path_factory.mktemp("dagster-home")
    log_path = home / "webserver.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-h",
            "127.0.0.1",
            "-p",
            "0",  # the OS picks; uvicorn logs the port it bound (at info)
            "--uvicorn-log-level",
            "info",
            "-f",
            str(Path(__file__).with_name("upstream_definitions.py")),
        ],
        env={**os.environ, "DAGSTER_HOME": str(home)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port_from_log(log_path, process, timeout=90)}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # the port opens before the code location loads
            if httpx.post(f"{url}/graphql", json=GRAPHQL, timeout=10).status_code == 200:
                break
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def serve(app: object) -> Iterator[str]:
    with serving_asgi_on_loopback(app) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def stack(dagster_webserver: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    landing = tmp_path_factory.mktemp("gateway-landing")
    with (
        run_server_in_thread(port=0, require_nonce=True) as oidc,  # the OS picks the port
        serve_receiver(str(landing)) as receiver,
    ):
        issuer = f"http://localhost:{oidc.server_port}"
        settings = GatewaySettings(
            upstream_url=dagster_webserver,
            session_secret=SESSION_SECRET,
            providers=(
                Provider(
                    "google",
                    "Google",
                    f"{issuer}/.well-known/openid-configuration",
                    "gw-client",
                    "gw-secret",
                ),
                Provider(
                    "microsoft",
                    "Microsoft",
                    f"{issuer}/.well-known/openid-configuration",
                    "gw-client-2",
                    "gw-secret-2",
                ),
            ),
            allowed=AllowList(
                domains=frozenset({"example.org"}), emails=frozenset({"guest@partner.test"})
            ),
            receiver_url=receiver.base_url,
            secure_cookies=False,  # plain http on loopback
        )
        with serve(create_app(settings)) as gateway:
            yield Stack(gateway=gateway, provider=issuer, receiver=receiver.base_url)


def sign_in(
    stack: Stack, email: str, *, provider: str = "google", verified: bool = True
) -> httpx.Client:
    """A browser that goes through the real authorization-code flow as `email`."""
    claims: dict[str, object] = {"email": email}
    if provider == "google":
        claims["email_verified"] = verified
    else:
        claims = {"preferred_username": email}
    httpx.put(f"{stack.provider}/users/{email}", json=claims).raise_for_status()
    browser = httpx.Client(base_url=stack.gateway, timeout=30)
    start = browser.get("/runs", headers={"accept": "text/html"})
    assert start.status_code == 302 and start.headers["location"].startswith("/_auth/login")
    chosen = browser.get(f"/_auth/login/{provider}", params={"next": "/runs"})
    assert chosen.status_code == 302
    authorize_url = chosen.headers["location"]
    assert authorize_url.startswith(f"{stack.provider}/oauth2/authorize")
    consent = httpx.post(authorize_url, data={"sub": email}, follow_redirects=False)
    assert consent.status_code == 302, consent.text
    callback = urlsplit(consent.headers["location"])
    assert callback.path == f"/_auth/callback/{provider}" and "code" in parse_qs(callback.query)
    browser.last = browser.get(f"{callback.path}?{callback.query}")  # type: ignore[attr-defined]
    return browser


def test_signed_out_browsers_are_redirected_and_api_calls_refused(stack: Stack) -> None:
    with httpx.Client(base_url=stack.gateway) as anonymous:
        page = anonymous.get("/assets", headers={"accept": "text/html"})
        assert page.status_code == 302
        assert page.headers["location"] == "/_auth/login?next=/assets"
        chooser = anonymous.get("/_auth/login")
        assert "Sign in with Google" in chooser.text and "Sign in with Microsoft" in chooser.text
        assert anonymous.post("/graphql", json=GRAPHQL).status_code == 401


def test_an_allowed_account_reaches_the_dagster_graphql_api(stack: Stack) -> None:
    browser = sign_in(stack, "ana@example.org")
    assert browser.last.status_code == 302 and browser.last.headers["location"] == "/runs"
    answer = browser.post("/graphql", json=GRAPHQL)
    assert answer.status_code == 200
    assert answer.json()["data"]["version"]
    assets = browser.post("/graphql", json={"query": "{ assetNodes { assetKey { path } } }"})
    assert {"path": ["gateway_probe"]} in [
        n["assetKey"] for n in assets.json()["data"]["assetNodes"]
    ]


def test_microsoft_accounts_and_single_addresses_on_the_allow_list(stack: Stack) -> None:
    browser = sign_in(stack, "guest@partner.test", provider="microsoft")
    assert browser.last.status_code == 302
    assert browser.post("/graphql", json=GRAPHQL).status_code == 200


@pytest.mark.parametrize(
    ("email", "verified"), [("eve@elsewhere.com", True), ("ana@example.org", False)]
)
def test_a_wrong_domain_or_unverified_email_is_refused(
    stack: Stack, email: str, verified: bool
) -> None:
    browser = sign_in(stack, email, verified=verified)
    assert browser.last.status_code == 403
    assert browser.post("/graphql", json=GRAPHQL).status_code == 401


def _cookie(
    session: dict[str, object], *, signed_at: int | None = None, secret: str = SESSION_SECRET
) -> str:
    """A session cookie as Starlette's middleware writes it (base64 JSON, itsdangerous)."""
    payload = base64.b64encode(json.dumps(session).encode())
    signer = itsdangerous.TimestampSigner(secret)
    if signed_at is not None:
        signer.get_timestamp = lambda: signed_at  # type: ignore[method-assign]
    return signer.sign(payload).decode()


def test_forged_or_expired_session_cookies_are_refused(stack: Stack) -> None:
    valid_user = {"email": "ana@example.org", "provider": "google", "exp": int(time.time()) + 3600}
    cases = {
        "forged": _cookie({"user": valid_user}, secret="not-the-gateway-secret-0123456789"),
        "tampered": _cookie({"user": valid_user})[:-3] + "AAA",
        "too old": _cookie({"user": valid_user}, signed_at=int(time.time()) - 13 * 3600),
        "past exp": _cookie({"user": {**valid_user, "exp": int(time.time()) - 1}}),
        "removed from allow-list": _cookie({"user": {**valid_user, "email": "eve@elsewhere.com"}}),
    }
    for case, cookie in cases.items():
        with httpx.Client(base_url=stack.gateway, cookies={SESSION_COOKIE: cookie}) as client:
            assert client.post("/graphql", json=GRAPHQL).status_code == 401, case
    with httpx.Client(
        base_url=stack.gateway, cookies={SESSION_COOKIE: _cookie({"user": valid_user})}
    ) as client:
        assert client.post("/graphql", json=GRAPHQL).status_code == 200  # the control


def test_the_receiver_webhook_is_outside_sign_in_and_metrics_are_not_public(stack: Stack) -> None:
    with httpx.Client(base_url=stack.gateway) as anonymous:
        handshake = anonymous.get(
            "/webhook",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": "test-verify-token-abcdef",
                "hub.challenge": "42",
            },
        )
        assert (handshake.status_code, handshake.text) == (200, "42")
        unsigned = anonymous.post("/webhook", content=b"{}")
        assert unsigned.status_code == 401  # the receiver's own refusal: no signature
        assert anonymous.get("/metrics").status_code == 404
    signed_in = sign_in(stack, "ana@example.org")
    assert signed_in.get("/metrics").status_code == 404


def test_sign_out_ends_the_session(stack: Stack) -> None:
    browser = sign_in(stack, "ana@example.org")
    assert browser.post("/graphql", json=GRAPHQL).status_code == 200
    browser.get("/_auth/logout")
    assert browser.post("/graphql", json=GRAPHQL).status_code == 401


def test_the_ui_websocket_is_relayed_only_with_a_session(stack: Stack) -> None:
    """The UI's live updates (GraphQL over WebSocket) pass through the gateway."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    url = stack.gateway.replace("http://", "ws://") + "/graphql"
    valid = {"email": "ana@example.org", "provider": "google", "exp": int(time.time()) + 3600}
    cookie = f"{SESSION_COOKIE}={_cookie({'user': valid})}"
    with connect(url, subprotocols=["graphql-ws"], additional_headers={"cookie": cookie}) as socket:
        assert socket.subprotocol == "graphql-ws"
        socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(socket.recv(timeout=30))["type"] == "connection_ack"
    with pytest.raises(InvalidStatus), connect(url, subprotocols=["graphql-ws"]):
        pass
