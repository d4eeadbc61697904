"""Forwarding requests and WebSockets to an upstream (the Dagster webserver, the receiver).

Streams both ways (request bodies and answers are never buffered whole), drops
hop-by-hop headers and the gateway's own session cookie (the upstream never sees
it), and says who signed in with `X-Forwarded-Email` (the Dagster webserver ignores
it; logs and a future upstream can use it).
"""

from __future__ import annotations

import asyncio
import contextlib
from http.cookies import SimpleCookie

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


def without_cookie(header: str, name: str) -> str:
    """A Cookie header without the cookie `name` (other cookies kept as sent)."""
    kept = []
    for part in header.split(";"):
        key = part.split("=", 1)[0].strip()
        if key and key != name:
            kept.append(part.strip())
    return "; ".join(kept)


def forwarded_headers(
    request_headers: list[tuple[bytes, bytes]],
    *,
    cookie_name: str,
    email: str | None,
    client: str,
    scheme: str,
    host: str,
) -> list[tuple[str, str]]:
    """The headers to send upstream."""
    headers = []
    for raw_name, raw_value in request_headers:
        name = raw_name.decode("latin-1").lower()
        if (
            name in HOP_BY_HOP
            or name.startswith("x-forwarded-")
            or name.startswith("sec-websocket")
        ):
            continue
        value = raw_value.decode("latin-1")
        if name == "cookie":
            value = without_cookie(value, cookie_name)
            if not value:
                continue
        headers.append((name, value))
    headers += [
        ("x-forwarded-for", client),
        ("x-forwarded-proto", scheme),
        ("x-forwarded-host", host),
    ]
    if email:
        headers.append(("x-forwarded-email", email))
    return headers


async def forward(
    client: httpx.AsyncClient, request: Request, *, cookie_name: str, email: str | None
) -> Response:
    """Send `request` to `client`'s base URL and stream the answer back."""
    headers = forwarded_headers(
        request.headers.raw,
        cookie_name=cookie_name,
        email=email,
        client=request.client.host if request.client else "",
        scheme=request.url.scheme,
        host=request.headers.get("host", ""),
    )
    upstream_request = client.build_request(
        request.method,
        httpx.URL(path=request.url.path, query=request.url.query.encode("latin-1")),
        headers=headers,
        content=request.stream(),
    )
    try:
        answer = await client.send(upstream_request, stream=True)
    except httpx.TransportError:
        return Response("upstream unavailable", status_code=502, media_type="text/plain")
    response_headers = [
        (name, value)
        for name, value in answer.headers.multi_items()
        if _passes_back(name.lower(), value, cookie_name)
    ]
    response = StreamingResponse(
        answer.aiter_raw(), status_code=answer.status_code, background=BackgroundTask(answer.aclose)
    )
    response.raw_headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in response_headers
    ]
    return response


def _passes_back(name: str, value: str, cookie_name: str) -> bool:
    """Whether an upstream answer header goes to the browser (never one setting our cookie)."""
    if name in HOP_BY_HOP:
        return False
    return name != "set-cookie" or _cookie_name(value) != cookie_name


def _cookie_name(set_cookie: str) -> str:
    parsed = SimpleCookie()
    try:
        parsed.load(set_cookie)
    except Exception:
        return ""
    return next(iter(parsed.keys()), "")


async def relay_websocket(
    websocket: WebSocket, upstream_url: str, *, cookie_name: str, email: str | None
) -> None:
    """Accept `websocket` with the upstream's subprotocol and copy frames both ways."""
    headers = forwarded_headers(
        websocket.headers.raw,
        cookie_name=cookie_name,
        email=email,
        client=websocket.client.host if websocket.client else "",
        scheme=websocket.url.scheme,
        host=websocket.headers.get("host", ""),
    )
    headers = [(name, value) for name, value in headers if name != "origin"]
    target = upstream_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    target += websocket.url.path + (f"?{websocket.url.query}" if websocket.url.query else "")
    subprotocols = websocket.scope.get("subprotocols") or None
    try:
        upstream = await connect(target, subprotocols=subprotocols, additional_headers=headers)
    except Exception:  # refused handshake, unreachable host, closed at once: all the same here
        await websocket.close(code=1011)
        return
    async with upstream:
        await websocket.accept(subprotocol=upstream.subprotocol)

        async def client_to_upstream() -> None:
            try:
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        return
                    data = (
                        message.get("text")
                        if message.get("text") is not None
                        else message.get("bytes")
                    )
                    if data is not None:
                        await upstream.send(data)
            except WebSocketDisconnect:
                return

        async def upstream_to_client() -> None:
            try:
                async for data in upstream:
                    if isinstance(data, str):
                        await websocket.send_text(data)
                    else:
                        await websocket.send_bytes(data)
            except ConnectionClosed:
                return

        tasks = [
            asyncio.create_task(client_to_upstream()),
            asyncio.create_task(upstream_to_client()),
        ]
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        with contextlib.suppress(RuntimeError):
            await websocket.close()
