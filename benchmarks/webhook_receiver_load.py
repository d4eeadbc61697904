"""Load test of the webhook receiver: requests/s and latency at 1, 50 and 200 clients, zero loss.

The receiver runs as its console command (`wareader-webhook-receiver`, uvicorn)
in one process; the load generator runs in another (raw HTTP/1.1 keep-alive
connections on asyncio, so the client costs little CPU). Every request carries
a distinct, correctly signed body, so each 200 must leave exactly one file; the
files on disk are counted against the 200 answers after each level.

Baselines it names: the goal (3,000 requests/s on 2 cores, p99 under 50 ms,
zero loss) and this disk's own ceiling for durable small-file writes (write,
fsync, rename from 16 threads, measured first), which bounds any receiver that
fsyncs every body before answering.

    .venv/bin/python benchmarks/webhook_receiver_load.py [--seconds 10] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from wareader_pipelines.webhook_receiver.signature import sign
from wareader_pipelines_tests.servers.ports import free_port, wait_for_port

SECRET = "benchmark-app-secret"
LEVELS = (1, 50, 200)


def _body(level: int, client: int, number: int) -> bytes:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": "106540352242922"},
                            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "16505551234"}],
                            "messages": [
                                {
                                    "from": "16505551234",
                                    "id": f"wamid.BENCH{level:03d}{client:04d}{number:08d}",
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": "Olá! Queria saber o horário de amanhã 🙂"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _request(host: str, port: int, body: bytes) -> bytes:
    head = (
        f"POST /webhook HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"X-Hub-Signature-256: {sign(body, SECRET.encode())}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _client(
    port: int, level: int, client: int, deadline: float, results: list[tuple[int, float]]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    number = 0
    try:
        while time.perf_counter() < deadline:
            request = _request("127.0.0.1", port, _body(level, client, number))
            number += 1
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            results.append((int(status_line.split()[1]), time.perf_counter() - started))
    finally:
        writer.close()


def _generate(port: int, level: int, seconds: float, queue: multiprocessing.Queue) -> None:
    """One load level, in its own process; sends (statuses, latencies, peak RSS) back."""

    async def run() -> list[tuple[int, float]]:
        results: list[tuple[int, float]] = []
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(_client(port, level, c, deadline, results) for c in range(level)))
        return results

    started = time.perf_counter()
    results = asyncio.run(run())
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    queue.put((results, elapsed, peak))


def _disk_ceiling(folder: Path, files: int = 800, threads: int = 16) -> float:
    """Durable small-file writes per second on this disk (write, fsync, rename)."""
    folder.mkdir(parents=True, exist_ok=True)

    def write(number: int) -> None:
        temporary = folder / f".t{number}"
        with temporary.open("wb") as stream:
            stream.write(b"x" * 800)
            stream.flush()
            os.fsync(stream.fileno())
        temporary.replace(folder / f"f{number}")

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, range(files)))
    return files / (time.perf_counter() - started)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each level")
    parser.add_argument("--workers", type=int, default=1, help="receiver worker processes")
    arguments = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="receiver-bench-"))
    print(f"cores: {os.cpu_count()}; landing zone: {root / 'landing'}")
    print(f"baseline, this disk: {_disk_ceiling(root / 'disk'):,.0f} durable file writes/s")
    print("goal: 3,000 requests/s, p99 < 50 ms, zero loss\n")

    port = free_port()
    environment = {
        **os.environ,
        "WA_APP_SECRET": SECRET,
        "WA_WEBHOOK_TOKEN": "benchmark-verify-token",
        "WAREADER_LANDING_URI": str(root / "landing"),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wareader_pipelines.webhook_receiver.cli",
            "--port",
            str(port),
            "--workers",
            str(arguments.workers),
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=60)
        time.sleep(1.0 if arguments.workers > 1 else 0.1)
        print(
            f"{'clients':>7} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'non-200':>7} {'files':>7} {'lost':>5} {'client MB':>9}"
        )
        context = multiprocessing.get_context("spawn")
        landed_before = 0
        for level in LEVELS:
            queue = context.Queue()
            generator = context.Process(
                target=_generate, args=(port, level, arguments.seconds, queue)
            )
            generator.start()
            results, elapsed, client_peak = queue.get()
            generator.join()
            landed = sum(1 for _ in (root / "landing" / "webhooks").rglob("*.json"))
            ok = sum(1 for status, _ in results if status == 200)
            latencies = sorted(seconds for _, seconds in results)
            p50 = statistics.median(latencies) * 1000
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
            new_files = landed - landed_before
            landed_before = landed
            print(
                f"{level:>7} {len(results):>9} {len(results) / elapsed:>8,.0f} {p50:>7.1f} "
                f"{p99:>7.1f} {len(results) - ok:>7} {new_files:>7} {ok - new_files:>5} "
                f"{client_peak:>9}"
            )
        print(f"\nreceiver peak memory: {_peak_rss_mb(server.pid):.0f} MB (main process)")
        print(f"wall time: {time.perf_counter() - START:.1f} s")
    finally:
        server.terminate()
        server.wait(timeout=10)


START = time.perf_counter()

if __name__ == "__main__":
    main()
