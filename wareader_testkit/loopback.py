"""Servers on 127.0.0.1 whose port the OS picks as they bind (port 0), never one chosen beforehand.

A port probed free and handed to a server later can be taken in between by another
pytest-xdist worker; binding port 0 cannot race. In-process servers bind their own
socket here and report its port; a server process is started with port 0 and its port
is read back from what it logs (`port_from_log`).
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import uvicorn

# What uvicorn logs (at info) once it listens, with the port it really bound.
UVICORN_LISTENING = re.compile(r"Uvicorn running on https?://[^\s:]+:(\d+)")


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port, or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@contextmanager
def serving_on_loopback(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serve `handler` on 127.0.0.1 in a thread and yield its port; stopped on exit.

    Port 0: the OS picks a free port as it binds, so parallel workers never race for one, and
    the socket listens before this yields.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def serving_asgi_on_loopback(app: Any, **config: Any) -> Iterator[int]:
    """Serve an ASGI `app` with uvicorn in a thread on a socket bound here to port 0; yield
    its port once uvicorn has started; stopped on exit. `config` goes to `uvicorn.Config`."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    options = {"access_log": False, "log_level": "warning", **config}
    server = uvicorn.Server(uvicorn.Config(app, **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
            time.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def port_from_log(
    log: Path,
    process: subprocess.Popen[bytes],
    pattern: re.Pattern[str] = UVICORN_LISTENING,
    timeout: float = 60.0,
) -> int:
    """The port a server process started with port 0 says it bound, read from its log file.

    Fails (never waits forever) when the process exits first or says nothing in `timeout`.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        found = pattern.search(text)
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited ({process.returncode}) before listening:\n{text}"
            )
        time.sleep(0.05)
    raise RuntimeError(f"the server did not say which port it bound within {timeout} s")


@contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port on which connections are refused: bound here, never listening, so no
    other process can take it while the caller uses it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])
