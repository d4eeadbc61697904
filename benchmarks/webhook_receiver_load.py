"""Load test of the webhook receiver: requests/s and latency at 1, 50 and 200 clients, zero loss.

The receiver runs as its console command (`wareader-webhook-receiver`, uvicorn)
in one process; the load generator runs in another (raw HTTP/1.1 keep-alive
connections on asyncio, so the client costs little CPU). Every request carries
a distinct, correctly signed body, so each 200 must leave exactly one file; the
files on disk are counted against the 200 answers after each level.

Baselines it names: the goal (3,000 requests/s on 2 cores, p99 under 50 ms,
zero loss); this disk's own rate for durable small-file writes (write, fsync,
rename from 16 threads, measured first); and, level by level in the same run,
a no-op ASGI app on the same uvicorn (answers 200 without verifying or
writing), which is the ceiling of the server and load generator on this box.
Besides req/s it prints the server's CPU time per request (user + system, all
its processes), which a busy shared machine disturbs far less than req/s.

    .venv/bin/python benchmarks/webhook_receiver_load.py [--seconds 10] [--workers 1] [--no-noop]
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
from wareader_testkit.loopback import port_from_log

SECRET = "benchmark-app-secret"
LEVELS = (1, 50, 200)


def webhook_body(message_id: str) -> bytes:
    """A realistic Cloud API text-message body carrying `message_id`."""
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
                                    "id": message_id,
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
            request = _request(
                "127.0.0.1", port, webhook_body(f"wamid.BENCH{level:03d}{client:04d}{number:08d}")
            )
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


async def noop_app(scope: dict, receive, send) -> None:
    """The no-op baseline: reads the body and answers 200, nothing else."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


def _process_tree(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            pids.extend(_process_tree(int(child)))
    return pids


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and its live children (uvicorn workers)."""
    ticks = 0
    for member in _process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rpartition(")")[2].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _serve(
    command: list[str], log: Path, environment: dict[str, str]
) -> tuple[subprocess.Popen, int]:
    """Start a server with `--port 0` in `command`; it and the port it says it bound."""
    with log.open("wb") as output:
        server = subprocess.Popen(command, env=environment, stdout=output, stderr=output)
    return server, port_from_log(log, server)


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _run_level(port: int, level: int, seconds: float) -> tuple[list[tuple[int, float]], float, int]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    generator = context.Process(target=_generate, args=(port, level, seconds, queue))
    generator.start()
    results, elapsed, client_peak = queue.get()
    generator.join()
    return results, elapsed, client_peak


def _percentiles(results: list[tuple[int, float]]) -> tuple[float, float]:
    latencies = sorted(seconds for _, seconds in results)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return statistics.median(latencies) * 1000, p99 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each level")
    parser.add_argument("--workers", type=int, default=1, help="receiver worker processes")
    parser.add_argument("--no-noop", action="store_true", help="skip the no-op baseline")
    arguments = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="receiver-bench-"))
    print(f"cores: {os.cpu_count()}; load average: {os.getloadavg()[0]:.2f}; landing: {root}")
    print(f"baseline, this disk: {_disk_ceiling(root / 'disk'):,.0f} durable file writes/s")
    print("goal: 3,000 requests/s, p99 < 50 ms, zero loss\n")
    environment = {
        **os.environ,
        "WA_APP_SECRET": SECRET,
        "WA_WEBHOOK_TOKEN": "benchmark-verify-token",
        "WAREADER_LANDING_URI": str(root / "landing"),
    }
    workers = ["--workers", str(arguments.workers)]
    noop, noop_port = None, 0
    if not arguments.no_noop:
        noop, noop_port = _serve(
            [
                *(sys.executable, "-m", "uvicorn", "benchmarks.webhook_receiver_load:noop_app"),
                *("--port", "0", "--no-access-log", "--log-level", "info", *workers),
            ],
            root / "noop.log",
            environment,
        )
    server, port = _serve(
        [
            *(sys.executable, "-m", "wareader_pipelines.webhook_receiver.cli"),
            *("--port", "0", *workers),
        ],
        root / "receiver.log",
        environment,
    )
    try:
        time.sleep(1.0 if arguments.workers > 1 else 0.1)
        print(
            f"{'server':>8} {'clients':>7} {'requests':>9} {'req/s':>8} {'p50 ms':>7} "
            f"{'p99 ms':>7} {'cpu ms/req':>10} {'non-200':>7} {'files':>7} {'lost':>5} "
            f"{'client MB':>9}"
        )
        landed_before = 0
        for level in LEVELS:
            if noop is not None:
                cpu_before = _cpu_seconds(noop.pid)
                results, elapsed, client_peak = _run_level(noop_port, level, arguments.seconds)
                cpu = (_cpu_seconds(noop.pid) - cpu_before) * 1000 / max(1, len(results))
                p50, p99 = _percentiles(results)
                failed = sum(1 for status, _ in results if status != 200)
                print(
                    f"{'no-op':>8} {level:>7} {len(results):>9} {len(results) / elapsed:>8,.0f} "
                    f"{p50:>7.1f} {p99:>7.1f} {cpu:>10.2f} {failed:>7} {'-':>7} {'-':>5} "
                    f"{client_peak:>9}"
                )
            cpu_before = _cpu_seconds(server.pid)
            results, elapsed, client_peak = _run_level(port, level, arguments.seconds)
            cpu = (_cpu_seconds(server.pid) - cpu_before) * 1000 / max(1, len(results))
            landed = sum(1 for _ in (root / "landing" / "webhooks").rglob("*.json"))
            ok = sum(1 for status, _ in results if status == 200)
            p50, p99 = _percentiles(results)
            new_files = landed - landed_before
            landed_before = landed
            print(
                f"{'receiver':>8} {level:>7} {len(results):>9} {len(results) / elapsed:>8,.0f} "
                f"{p50:>7.1f} {p99:>7.1f} {cpu:>10.2f} {len(results) - ok:>7} {new_files:>7} "
                f"{ok - new_files:>5} {client_peak:>9}"
            )
        print(f"\nreceiver peak memory: {_peak_rss_mb(server.pid):.0f} MB (main process)")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        print(f"wall time: {time.perf_counter() - START:.1f} s")
    finally:
        _stop(server)
        if noop is not None:
            _stop(noop)


START = time.perf_counter()

if __name__ == "__main__":
    main()
