"""What an unauthenticated client can cost the receiver, on a real uvicorn (issue 12).

Each test runs `wareader-webhook-receiver` as a deployment does (its own
process, limits from the environment), over loopback only, with bounded
counts of connections and bytes and a time limit on every wait.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from wareader_pipelines.webhook_receiver.connection_limits import BodyBudget, ConnectionLimits
from wareader_pipelines.webhook_receiver.signature import sign
from wareader_pipelines_tests.servers.receiver import APP_SECRET, VERIFY_TOKEN, serve_receiver
from wareader_testkit.loopback import port_from_log

BODY = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()


@dataclass(frozen=True)
class Receiver:
    port: int
    pid: int
    landing: Path

    def peak_rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM")


@contextmanager
def receiver(tmp_path: Path, *, open_files: int | None = None, **env: str) -> Iterator[Receiver]:
    """The console command on 127.0.0.1 with `WAREADER_WEBHOOK_*` variables from `env`."""
    environment = {
        **os.environ,
        "WA_APP_SECRET": APP_SECRET,
        "WA_WEBHOOK_TOKEN": VERIFY_TOKEN,
        "WAREADER_LANDING_URI": str(tmp_path / "landing"),
        **env,
    }

    def limit_files() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    log_path = tmp_path / f"receiver-{uuid.uuid4().hex[:8]}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(  # port 0: the OS picks, the receiver logs the one it bound
        [sys.executable, "-m", "wareader_pipelines.webhook_receiver.cli", "--port", "0"],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=limit_files,
    )
    try:
        port = port_from_log(log_path, process)
        yield Receiver(port=port, pid=process.pid, landing=tmp_path / "landing")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _signed_post(port: int, body: bytes = BODY) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/webhook",
        content=body,
        headers={"x-hub-signature-256": sign(body, APP_SECRET.encode())},
        timeout=10,
    )


def _closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> float:
    """Seconds until the server closes `sock` while we send `trickle` a byte at a time."""
    started = time.monotonic()
    sock.settimeout(0.1)
    for byte in trickle or b"\0" * 1000:
        if time.monotonic() - started > seconds:
            break
        try:
            if trickle:
                sock.send(bytes([byte]))
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:  # reset: closed too
            return time.monotonic() - started
    raise AssertionError(f"still open after {seconds} s")


def test_slow_headers_and_slow_bodies_are_cut_off(tmp_path: Path) -> None:
    with receiver(
        tmp_path, WAREADER_WEBHOOK_HEADER_TIMEOUT="1", WAREADER_WEBHOOK_BODY_TIMEOUT="1"
    ) as running:
        headers = b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200
        with socket.create_connection(("127.0.0.1", running.port)) as slow:
            assert _closed_within(slow, 6, headers) < 3  # one byte per 0.1 s: cut at ~1 s
        with socket.create_connection(("127.0.0.1", running.port)) as idle:
            assert _closed_within(idle, 6) < 3  # nothing sent at all
        signature = sign(b"x" * 1000, APP_SECRET.encode()).encode()
        start = (
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
            b"X-Hub-Signature-256: " + signature + b"\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", running.port)) as slow_body:
            slow_body.sendall(start)
            assert _closed_within(slow_body, 6, b"x" * 200) < 3
        assert _signed_post(running.port).status_code == 200  # the server itself is fine


def test_keep_alive_connections_close_when_idle(tmp_path: Path) -> None:
    with (
        receiver(tmp_path, WAREADER_WEBHOOK_KEEPALIVE_TIMEOUT="0.5") as running,
        socket.create_connection(("127.0.0.1", running.port)) as sock,
    ):
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        assert _closed_within(sock, 4) < 2


def test_an_idle_connection_flood_does_not_starve_a_signed_request(tmp_path: Path) -> None:
    # 400 idle sockets against a process allowed 256 open files: without a connection limit the
    # receiver runs out of descriptors and cannot accept the signed request.
    with receiver(tmp_path, open_files=256, WAREADER_WEBHOOK_MAX_CONNECTIONS="100") as running:
        flood = []
        try:
            for _ in range(400):
                flood.append(socket.create_connection(("127.0.0.1", running.port), timeout=5))
            time.sleep(0.5)
            started = time.monotonic()
            response = _signed_post(running.port)
            assert response.status_code == 200, response.text
            assert time.monotonic() - started < 5
        finally:
            for sock in flood:
                sock.close()
        assert list((running.landing / "webhooks").rglob("*.json"))


async def _near_cap_sender(port: int, size: int, chunk: bytes, ready: asyncio.Event) -> int:
    """Send a forged near-cap body, holding its last byte until every sender is mid-body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
            b"X-Hub-Signature-256: sha256=%s\r\n\r\n" % (size, b"0" * 64)
        )
        sent = 0
        while sent < size - 1 and not reader.at_eof():
            piece = chunk[: size - 1 - sent]
            writer.write(piece)
            sent += len(piece)
            try:
                await asyncio.wait_for(writer.drain(), 2)
            except TimeoutError:
                break  # the server stopped reading (answered already): fine
        await ready.wait()
        writer.write(b"x")
        line = await asyncio.wait_for(reader.readline(), 30)
        return int(line.split()[1]) if line else 0
    except (ConnectionError, TimeoutError):
        return 0
    finally:
        writer.close()


async def _flood(port: int, senders: int, size: int) -> list[int]:
    ready = asyncio.Event()
    chunk = b"x" * 65536
    tasks = [
        asyncio.create_task(_near_cap_sender(port, size, chunk, ready)) for _ in range(senders)
    ]
    await asyncio.sleep(3)  # every sender is connected and as far into its body as it gets
    ready.set()
    return await asyncio.wait_for(asyncio.gather(*tasks), 60)


def test_300_forged_near_cap_senders_stay_under_the_memory_bound(tmp_path: Path) -> None:
    cap, pool = 1024 * 1024, 16 * 1024 * 1024
    with receiver(
        tmp_path,
        WAREADER_WEBHOOK_MAX_BYTES=str(cap),
        WAREADER_WEBHOOK_MAX_BUFFERED_BYTES=str(pool),
    ) as running:
        for _ in range(5):
            assert _signed_post(running.port).status_code == 200
        before = running.peak_rss_kib()
        statuses = asyncio.run(_flood(running.port, 300, cap - 100))
        growth_mib = (running.peak_rss_kib() - before) / 1024
        print(f"receiver peak RSS grew {growth_mib:.0f} MiB under 300 forged 1 MiB senders")
        # The pool, plus per connection uvicorn's 64 KiB read buffer and bookkeeping.
        assert growth_mib < pool / 2**20 + 300 * 0.2 + 32, growth_mib
        # Only bodies the pool admitted were read and found forged (401); the others were
        # answered 503 unread, and the server closing on the unread body may reset the sender (0).
        assert set(statuses) <= {401, 503, 0}
        assert 1 <= statuses.count(401) <= pool // (cap - 100)
        assert _signed_post(running.port).status_code == 200  # still serving


def test_a_connection_serves_a_bounded_number_of_requests(tmp_path: Path) -> None:
    limits = ConnectionLimits(max_requests_per_connection=2)
    with serve_receiver(str(tmp_path / "landing"), limits=limits) as running:
        port = int(running.base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            answers = b""
            for _ in range(2):
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                time.sleep(0.2)
                answers += sock.recv(4096)
            assert answers.count(b"HTTP/1.1 200") == 2
            assert answers.lower().count(b"connection: close") == 1
            assert _closed_within(sock, 3) < 1


def test_the_body_pool_admits_small_bodies_always_and_large_ones_while_it_lasts() -> None:
    budget = BodyBudget(ConnectionLimits(small_body_bytes=10, max_buffered_bytes=100))
    with budget.reserve(60, cap=1000) as first, budget.reserve(60, cap=1000) as second:
        assert first and not second
        with budget.reserve(10, cap=1000) as small, budget.reserve(None, cap=40) as unknown:
            assert small and unknown  # an unknown size counts as the whole cap
    with budget.reserve(100, cap=1000) as again:
        assert again  # released
