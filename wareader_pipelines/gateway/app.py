"""The gateway as an ASGI app: sign-in with OpenID Connect, then the Dagster UI behind it.

- `/_auth/...`: the sign-in pages. Authlib runs the authorization-code flow (state,
  nonce, ID token signature, issuer, audience and expiry checked against the
  provider's discovery document and keys); the gateway then admits the verified
  e-mail only if its domain or address is on the allow-list.
- `/webhook`: passed to the webhook receiver without sign-in (Meta signs its posts and
  the receiver verifies them), when `WAREADER_GATEWAY_RECEIVER_URL` is set.
- `/metrics`: never served (the receiver's metrics stay on the internal network).
- everything else, HTTP and WebSocket: only with a valid session, forwarded to the
  Dagster webserver. Without one, a browser is redirected to sign in and anything
  else gets 401.

The session is Starlette's signed cookie (itsdangerous, HMAC with
`WAREADER_GATEWAY_SESSION_SECRET`, timestamped): a forged or altered cookie fails the
signature, an old one fails its age, and the session's own `exp` is checked too.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from wareader_pipelines.gateway.proxy import forward, relay_websocket
from wareader_pipelines.gateway.settings import GatewaySettings, Provider

SESSION_COOKIE = "wareader_session"
AUTH = "/_auth"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

logger = logging.getLogger("wareader.gateway")


def signed_in_email(provider: Provider, claims: dict[str, Any]) -> str | None:
    """The e-mail the provider vouches for, or None.

    Google and generic issuers must not say `email_verified: false` (Google always sends
    it; it must be true). Entra ID sends `email` when the account has one, else the
    user principal name as `preferred_username`; the tenant is pinned by the issuer.
    """
    email = claims.get("email")
    if provider.name == "google":
        return str(email) if email and claims.get("email_verified") is True else None
    if provider.name == "microsoft":
        email = email or claims.get("preferred_username")
        return str(email) if email and "@" in str(email) else None
    if claims.get("email_verified") is False:
        return None
    return str(email) if email else None


def create_app(settings: GatewaySettings) -> Starlette:
    """The gateway for `settings`."""
    oauth = OAuth()
    providers = {provider.name: provider for provider in settings.providers}
    for provider in settings.providers:
        oauth.register(
            name=provider.name,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=provider.metadata_url,
            client_kwargs={"scope": "openid email profile"},
        )
    timeout = httpx.Timeout(120.0, connect=5.0)
    upstream = httpx.AsyncClient(base_url=settings.upstream_url, timeout=timeout)
    receiver = (
        httpx.AsyncClient(base_url=settings.receiver_url, timeout=timeout)
        if settings.receiver_url
        else None
    )

    def current_email(connection: HTTPConnection) -> str | None:
        user = connection.session.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("exp"), int | float):
            return None
        if user["exp"] <= time.time():
            connection.session.clear()
            return None
        email = user.get("email")
        # The allow-list is checked again: removing a domain locks its sessions out at once.
        return email if isinstance(email, str) and settings.allowed.admits(email) else None

    def callback_url(request: Request, name: str) -> str:
        if settings.public_url:
            return settings.public_url.rstrip("/") + f"{AUTH}/callback/{name}"
        return str(request.url_for("callback", provider=name))

    async def login_page(request: Request) -> Response:
        next_path = _safe_next(request.query_params.get("next"))
        if len(providers) == 1:
            [name] = providers
            return RedirectResponse(f"{AUTH}/login/{name}?next={quote(next_path)}", status_code=302)
        links = "".join(
            f'<li><a href="{AUTH}/login/{name}?next={quote(next_path)}">'
            f"Sign in with {html.escape(provider.title)}</a></li>"
            for name, provider in providers.items()
        )
        return HTMLResponse(_page("Sign in", f"<ul>{links}</ul>"))

    async def login(request: Request) -> Response:
        name = request.path_params["provider"]
        client = oauth.create_client(name) if name in providers else None
        if client is None:
            return PlainTextResponse("unknown provider", status_code=404)
        request.session.pop("user", None)
        request.session["next"] = _safe_next(request.query_params.get("next"))
        return await client.authorize_redirect(request, callback_url(request, name))

    async def callback(request: Request) -> Response:
        name = request.path_params["provider"]
        client = oauth.create_client(name) if name in providers else None
        if client is None:
            return PlainTextResponse("unknown provider", status_code=404)
        try:
            token = await client.authorize_access_token(request)
        except OAuthError as error:
            logger.warning("sign-in with %s failed: %s", name, error.error)
            return HTMLResponse(_page("Sign-in failed", "Try again."), status_code=401)
        email = signed_in_email(providers[name], dict(token.get("userinfo") or {}))
        next_path = _safe_next(request.session.get("next"))
        request.session.clear()
        if email is None or not settings.allowed.admits(email):
            domain = email.rsplit("@", 1)[-1] if email else "(no verified e-mail)"
            logger.warning("sign-in refused for an account of %s via %s", domain, name)
            return HTMLResponse(
                _page("Not allowed", "This account may not open the pipelines' UI."),
                status_code=403,
            )
        request.session["user"] = {
            "email": email,
            "provider": name,
            "exp": int(time.time() + settings.session_hours * 3600),
        }
        logger.info("signed in via %s (domain %s)", name, email.rsplit("@", 1)[-1])
        return RedirectResponse(next_path, status_code=302)

    async def logout(request: Request) -> Response:
        request.session.clear()
        return HTMLResponse(_page("Signed out", f'<a href="{AUTH}/login">Sign in again</a>'))

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def webhook(request: Request) -> Response:
        if receiver is None:
            return PlainTextResponse("not found", status_code=404)
        return await forward(receiver, request, cookie_name=SESSION_COOKIE, email=None)

    async def not_public(request: Request) -> Response:
        return PlainTextResponse("not found", status_code=404)

    async def behind_sign_in(request: Request) -> Response:
        email = current_email(request)
        if email is None:
            if request.method in ("GET", "HEAD") and "text/html" in request.headers.get(
                "accept", ""
            ):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"{AUTH}/login?next={quote(target)}", status_code=302)
            return JSONResponse(
                {"error": "sign in first", "login": f"{AUTH}/login"}, status_code=401
            )
        return await forward(upstream, request, cookie_name=SESSION_COOKIE, email=email)

    async def websocket_behind_sign_in(websocket: WebSocket) -> None:
        email = current_email(websocket)
        if email is None:
            await websocket.close(code=4401)
            return
        await relay_websocket(
            websocket, settings.upstream_url, cookie_name=SESSION_COOKIE, email=email
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await upstream.aclose()
        if receiver is not None:
            await receiver.aclose()

    routes = [
        Route(f"{AUTH}/login", login_page, methods=["GET"]),
        Route(f"{AUTH}/login/{{provider}}", login, methods=["GET"]),
        Route(f"{AUTH}/callback/{{provider}}", callback, methods=["GET"], name="callback"),
        Route(f"{AUTH}/logout", logout, methods=["GET", "POST"]),
        Route(f"{AUTH}/healthz", healthz, methods=["GET"]),
        Route("/webhook", webhook, methods=["GET", "POST"]),
        Route("/metrics", not_public, methods=ALL_METHODS),
        Route("/{path:path}", behind_sign_in, methods=ALL_METHODS),
        WebSocketRoute("/{path:path}", websocket_behind_sign_in),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=settings.session_secret,
                session_cookie=SESSION_COOKIE,
                max_age=int(settings.session_hours * 3600),
                same_site="lax",
                https_only=settings.secure_cookies,
            )
        ],
        lifespan=lifespan,
    )


def _safe_next(value: object) -> str:
    """A local path to return to after sign-in; anything else (another host) becomes `/`."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith(AUTH):
        return "/"
    return value


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)} · "
        f"wareader</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
