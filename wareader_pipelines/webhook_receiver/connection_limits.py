"""What an unauthenticated client can cost the receiver before any signature is checked.

Nothing is verified until a whole body has arrived, so every limit here acts
on connections and bytes, below the app:

- header timeout: a request's headers must be complete within
  `header_timeout` seconds of its first byte (or of the connection opening),
  and be at most `max_header_bytes`; a client trickling a byte a second is cut off;
- body timeout: the body must be complete within `body_timeout` seconds of
  its headers;
- keep-alive: an idle connection closes after `keep_alive_timeout` seconds
  (uvicorn's own timer) and after `max_requests_per_connection` requests;
- connections: above `max_connections`, the oldest connection that has not
  yet sent a whole request is closed to make room (an idle flood cannot keep a
  signed request out); when every connection is busy the new one is refused;
- buffered bodies: bodies up to `small_body_bytes` (Meta's are a few KiB) are
  always read; larger ones share `max_buffered_bytes`, and one that finds the
  pool spent is answered 503 with `Retry-After` (Meta retries) unread, so
  senders of near-cap forged bodies cannot grow memory past the pool.

Implemented on uvicorn's httptools protocol (the one it picks by default), by
overriding its connection and parser callbacks; uvicorn is pinned in the lock.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class ConnectionLimits(BaseModel):
    """The receiver's limits on connections, timing and buffered bytes (all documented)."""

    model_config = ConfigDict(frozen=True)

    header_timeout: float = Field(default=10.0, gt=0, description="WAREADER_WEBHOOK_HEADER_TIMEOUT")
    body_timeout: float = Field(default=30.0, gt=0, description="WAREADER_WEBHOOK_BODY_TIMEOUT")
    keep_alive_timeout: float = Field(
        default=5.0, gt=0, description="WAREADER_WEBHOOK_KEEPALIVE_TIMEOUT"
    )
    max_requests_per_connection: int = Field(default=1000, gt=0)
    max_connections: int = Field(default=1000, gt=0, description="WAREADER_WEBHOOK_MAX_CONNECTIONS")
    max_header_bytes: int = Field(default=64 * 1024, gt=0)
    small_body_bytes: int = Field(default=64 * 1024, gt=0)
    max_buffered_bytes: int = Field(
        default=64 * 1024 * 1024, gt=0, description="WAREADER_WEBHOOK_MAX_BUFFERED_BYTES"
    )
    orphan_age_seconds: float = Field(
        default=3600.0, gt=0, description="WAREADER_WEBHOOK_ORPHAN_SECONDS"
    )

    @classmethod
    def from_environ(cls, env: dict[str, str] | Any) -> ConnectionLimits:
        """Limits from `WAREADER_WEBHOOK_*` variables; unset ones keep their defaults."""
        names = {
            "header_timeout": ("WAREADER_WEBHOOK_HEADER_TIMEOUT", float),
            "body_timeout": ("WAREADER_WEBHOOK_BODY_TIMEOUT", float),
            "keep_alive_timeout": ("WAREADER_WEBHOOK_KEEPALIVE_TIMEOUT", float),
            "max_connections": ("WAREADER_WEBHOOK_MAX_CONNECTIONS", int),
            "max_buffered_bytes": ("WAREADER_WEBHOOK_MAX_BUFFERED_BYTES", int),
            "orphan_age_seconds": ("WAREADER_WEBHOOK_ORPHAN_SECONDS", float),
        }
        values = {
            field: kind(env[variable])
            for field, (variable, kind) in names.items()
            if env.get(variable)
        }
        return cls(**values)


class BodyBudget:
    """The pool of bytes large bodies may hold at once, shared by one process's requests."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.small = limits.small_body_bytes
        self.free = limits.max_buffered_bytes

    @contextmanager
    def reserve(self, declared: int | None, cap: int) -> Iterator[bool]:
        """Yield whether a body of `declared` bytes (None: unknown, up to `cap`) may be read."""
        size = cap if declared is None else min(declared, cap)
        if size <= self.small:
            yield True
            return
        if size > self.free:
            yield False
            return
        self.free -= size
        try:
            yield True
        finally:
            self.free += size


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header/body timeouts and a connection limit."""

    limits: ConnectionLimits = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._idle = True  # no request has started its body yet on this connection
        self._header_bytes = 0
        self._requests = 0

    # -- connection ---------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout)
        if len(self.connections) > self.limits.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._idle:  # the bytes did not complete a request's headers
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self.transport.close()

    def _make_room(self) -> None:
        """Close the oldest connection still waiting for a whole request, else this one."""
        oldest: GuardedProtocol | None = None
        for connection in self.connections:
            if (
                isinstance(connection, GuardedProtocol)
                and connection is not self
                and connection._idle
                and (oldest is None or connection._opened < oldest._opened)
            ):
                oldest = connection
        (oldest or self).transport.close()

    # -- requests -----------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._idle = True
        self._header_bytes = 0
        self._arm(self.limits.header_timeout)

    def on_headers_complete(self) -> None:
        self._idle = False
        self._arm(self.limits.body_timeout)
        super().on_headers_complete()
        self._requests += 1
        if self._requests >= self.limits.max_requests_per_connection and self.cycle is not None:
            self.cycle.keep_alive = False

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._idle = True
        self._header_bytes = 0

    # -- timers -------------------------------------------------------------

    @property
    def _opened(self) -> float:
        return getattr(self, "_opened_at", 0.0)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        if not hasattr(self, "_opened_at"):
            self._opened_at = self.loop.time()
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


class EnvironmentProtocol(GuardedProtocol):
    """GuardedProtocol with the limits of the `WAREADER_WEBHOOK_*` variables, read once per
    process (importable by name, so uvicorn's worker processes can use it too)."""

    _loaded = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not EnvironmentProtocol._loaded:
            EnvironmentProtocol.limits = ConnectionLimits.from_environ(os.environ)
            EnvironmentProtocol._loaded = True
        super().__init__(*args, **kwargs)


def protocol_for(limits: ConnectionLimits) -> type[GuardedProtocol]:
    """A protocol class carrying `limits`, for uvicorn's `http=` option in one process."""
    return type("ReceiverProtocol", (GuardedProtocol,), {"limits": limits})


def uvicorn_options(
    limits: ConnectionLimits, protocol: type[GuardedProtocol] | None = None
) -> dict[str, Any]:
    """The uvicorn settings that apply `limits`, shared by the CLI and the tests."""
    return {
        "http": protocol or protocol_for(limits),
        "timeout_keep_alive": limits.keep_alive_timeout,
    }
