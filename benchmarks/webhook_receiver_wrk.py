"""Load test of the durable webhook receiver with `wrk`: req/s, p50/p99, landed = acknowledged.

`wrk` (Debian's package `wrk`; `apt-get install wrk`) is a C load generator: it
costs a few microseconds of CPU per request, so on 2 cores it is not what limits
the figure. Every request carries a distinct, correctly signed body (made
beforehand and handed to wrk by a Lua script, each wrk thread its own slice), so
each 200 must leave exactly one file in the landing zone. After the run the
files are counted against the answers: `lost` = acknowledged − landed must be 0;
up to one request per connection may land after wrk stopped counting (answered
too late), shown as `unanswered`.

Baselines in the same run: a no-op ASGI app on the same uvicorn (answers 200,
neither verifies nor writes), the ceiling of server + wrk on this machine; and
the CPU seconds wrk itself used, against the receiver's. Every figure comes
with the 1-minute load average at start and end.

    .venv/bin/python -m benchmarks.webhook_receiver_wrk --seconds 10 --connections 50 --workers 1
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.webhook_receiver_load import SECRET, _cpu_seconds, _serve, _stop, webhook_body
from wareader_pipelines.webhook_receiver.signature import sign

TARGET_RPS = 3_000
TARGET_P99_MS = 50.0

# Each wrk thread takes every n-th line of the request file (signature TAB body) and
# sends them in order; when its slice is used up it starts again (the receiver
# then answers repeats from memory, which the summary would show as unanswered < 0).
_LUA = r"""
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  local path, total = args[1], tonumber(args[2])
  requests = {}
  local n = 0
  for line in io.lines(path) do
    if n % total == id then
      local tab = line:find("\t", 1, true)
      local signature, body = line:sub(1, tab - 1), line:sub(tab + 1)
      requests[#requests + 1] = wrk.format("POST", "/webhook", {
        ["Content-Type"] = "application/json",
        ["X-Hub-Signature-256"] = signature,
      }, body)
    end
    n = n + 1
  end
  index = 0
  wrapped = 0
end
function request()
  index = index + 1
  if index > #requests then index = 1; wrapped = wrapped + 1 end
  return requests[index]
end
function done(summary, latency, requests_)
  local wraps = 0
  for _, thread in ipairs(threads) do wraps = wraps + thread:get("wrapped") end
  io.write(string.format(
    "RESULT requests=%d status_errors=%d connect=%d read=%d write=%d timeout=%d "
    .. "p50_us=%d p90_us=%d p99_us=%d max_us=%d wrapped=%d\n",
    summary.requests, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, wraps))
end
"""


def write_requests(path: Path, count: int) -> None:
    """`count` distinct signed bodies, one `signature TAB body` line each."""
    key = SECRET.encode()
    with path.open("wb") as stream:
        for number in range(count):
            body = webhook_body(f"wamid.WRK{number:010d}")
            stream.write(sign(body, key).encode("ascii") + b"\t" + body + b"\n")


def _wait_started(log: Path, workers: int, timeout: float = 120.0) -> None:
    """Until every worker process of the server says its application started."""
    deadline = time.monotonic() + timeout
    while log.read_text(errors="replace").count("Application startup complete") < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(
    port: int, seconds: float, connections: int, threads: int, script: Path, requests: Path
) -> dict[str, float]:
    """One wrk run; its RESULT line parsed, plus wrk's own CPU seconds and the wall time."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    completed = subprocess.run(
        [
            *("wrk", "-t", str(threads), "-c", str(connections), "-d", f"{round(seconds)}s"),
            *("--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}"),
            *("--", str(requests), str(threads)),
        ],
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{completed.stdout}\n{completed.stderr}")
    wall = time.perf_counter() - started
    match = re.search(r"^RESULT (.*)$", completed.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    result = {k: float(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    result["wrk_cpu_s"] = _children_cpu() - cpu_before
    result["wrk_wall_s"] = wall
    return result


def main(argv: list[str] | None = None) -> None:
    """Measure the receiver (and the no-op ceiling) at one connection count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=1, help="receiver worker processes")
    parser.add_argument("--no-noop", action="store_true", help="skip the no-op ceiling")
    parser.add_argument(
        "--requests", type=int, default=0, help="distinct bodies (default 12,000 per second)"
    )
    parser.add_argument(
        "--landing-parent",
        type=Path,
        default=None,
        help="folder to make the landing zone in (default: the system's temporary folder); "
        "see benchmarks/README.md on ext4 without a journal",
    )
    arguments = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="receiver-wrk-", dir=arguments.landing_parent))
    script = root / "requests.lua"
    script.write_text(_LUA)
    requests = root / "requests.txt"
    write_requests(requests, arguments.requests or int(12_000 * arguments.seconds))
    environment = {
        **os.environ,
        "WA_APP_SECRET": SECRET,
        "WA_WEBHOOK_TOKEN": "benchmark-verify-token",
        "WAREADER_LANDING_URI": str(root / "landing"),
    }
    workers = ["--workers", str(arguments.workers)]
    print(
        f"cores {os.cpu_count()}; receiver workers {arguments.workers}; wrk "
        f"-t{arguments.threads} -c{arguments.connections} -d{arguments.seconds:g}s; "
        f"goal ≥ {TARGET_RPS:,} req/s, p99 ≤ {TARGET_P99_MS:.0f} ms, 0 lost"
    )
    header = (
        f"{'server':>8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7} {'errors':>6} "
        f"{'acked':>7} {'landed':>7} {'lost':>5} {'server cpu s':>12} {'ms/req':>6} "
        f"{'wrk cpu s':>9}"
    )
    rows = []
    if not arguments.no_noop:
        noop, port = _serve(
            [
                *(sys.executable, "-m", "uvicorn", "benchmarks.webhook_receiver_load:noop_app"),
                *("--port", "0", "--no-access-log", "--log-level", "info", *workers),
            ],
            root / "noop.log",
            environment,
        )
        try:
            _wait_started(root / "noop.log", arguments.workers)
            cpu = _cpu_seconds(noop.pid)
            r = run_wrk(
                port,
                arguments.seconds,
                arguments.connections,
                arguments.threads,
                script,
                requests,
            )
            rows.append(("no-op", r, _cpu_seconds(noop.pid) - cpu, None))
        finally:
            _stop(noop)
    server, port = _serve(
        [
            *(sys.executable, "-m", "wareader_pipelines.webhook_receiver.cli"),
            *("--port", "0", *workers),
        ],
        root / "receiver.log",
        environment,
    )
    try:
        _wait_started(root / "receiver.log", arguments.workers)
        cpu = _cpu_seconds(server.pid)
        r = run_wrk(
            port, arguments.seconds, arguments.connections, arguments.threads, script, requests
        )
        server_cpu = _cpu_seconds(server.pid) - cpu
        time.sleep(0.5)  # let the requests wrk stopped waiting for finish
    finally:
        _stop(server)
    landed = sum(1 for _ in (root / "landing" / "webhooks").rglob("*.json"))
    rows.append(("receiver", r, server_cpu, landed))
    print(header)
    for name, r, server_cpu, landed in rows:
        acked = int(r["requests"] - r["status_errors"])
        errors = int(r["connect"] + r["read"] + r["write"] + r["timeout"])
        lost = "-" if landed is None else str(max(0, acked - landed))
        print(
            f"{name:>8} {r['requests'] / arguments.seconds:>8,.0f} {r['p50_us'] / 1000:>7.1f} "
            f"{r['p99_us'] / 1000:>7.1f} {int(r['status_errors']):>7} {errors:>6} {acked:>7} "
            f"{'-' if landed is None else landed:>7} {lost:>5} {server_cpu:>12.1f} "
            f"{server_cpu * 1000 / max(1, r['requests']):>6.3f} {r['wrk_cpu_s']:>9.1f}"
        )
        if landed is not None:
            if r["wrapped"]:
                print(f"  note: wrk ran out of distinct bodies ({int(r['wrapped'])} wraps)")
            elif landed > acked:
                print(f"  {landed - acked} landed but unanswered when wrk stopped (≤ connections)")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"wall {time.perf_counter() - started:.1f} s; CPU s self {usage.ru_utime + usage.ru_stime:.1f}"
        f" + children {_children_cpu():.1f} (wrk; servers above); load average "
        f"{load_start:.2f} → {os.getloadavg()[0]:.2f}"
    )
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
