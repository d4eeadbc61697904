"""Two real receiver worker processes on one landing folder: a re-delivered body lands once."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from wareader_pipelines.webhook_receiver.signature import sign
from wareader_pipelines.webhook_receiver.store import CLAIMS_PREFIX
from wareader_pipelines_tests.servers.receiver import APP_SECRET, VERIFY_TOKEN
from wareader_testkit.loopback import port_from_log

BODY = (
    b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",'
    b'"value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"2"},"messages":'
    b'[{"from":"16505551234","id":"wamid.REDELIVERED","timestamp":"1714550400","type":"text",'
    b'"text":{"body":"ol\xc3\xa1"}}]}}]}]}'
)


def _worker_pids(parent: int) -> set[int]:
    """uvicorn's worker processes (spawned), not multiprocessing's resource tracker."""
    children: set[int] = set()
    for task in Path(f"/proc/{parent}/task").iterdir():
        children.update(int(pid) for pid in (task / "children").read_text().split())
    return {pid for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()}


async def _deliver(base_url: str, times: int) -> list[int]:
    """`times` deliveries at once, each on its own connection (so both workers take some)."""
    headers = {
        "content-type": "application/json",
        "x-hub-signature-256": sign(BODY, APP_SECRET.encode()),
    }

    async def one() -> int:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            return (await client.post("/webhook", content=BODY, headers=headers)).status_code

    return list(await asyncio.gather(*(one() for _ in range(times))))


def _writes(pid: int) -> int:
    """write(2)-family calls of `pid` so far: a worker that answered a request made some."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise AssertionError(f"no syscw in /proc/{pid}/io")


def test_a_body_delivered_to_two_worker_processes_lands_once(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    log = tmp_path / "receiver.log"
    environment = {
        **os.environ,
        "WA_APP_SECRET": APP_SECRET,
        "WA_WEBHOOK_TOKEN": VERIFY_TOKEN,
        "WAREADER_LANDING_URI": str(landing),
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "wareader_pipelines.webhook_receiver.cli"),
                *("--host", "127.0.0.1", "--port", "0", "--workers", "2"),
            ],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        port = port_from_log(log, process)
        deadline = time.monotonic() + 60
        while log.read_text().count("Application startup complete") < 2:
            assert time.monotonic() < deadline and process.poll() is None, log.read_text()
            time.sleep(0.1)
        workers = _worker_pids(process.pid)
        before = {pid: _writes(pid) for pid in workers}
        statuses = []
        for _ in range(3):  # rounds of simultaneous re-deliveries, then one at a time
            statuses += asyncio.run(_deliver(f"http://127.0.0.1:{port}", 20))
        for _ in range(10):
            statuses += asyncio.run(_deliver(f"http://127.0.0.1:{port}", 1))
        served = {pid for pid in workers if _writes(pid) > before[pid]}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert len(workers) == 2
    assert served == workers, "both worker processes must have taken deliveries"
    assert statuses == [200] * 70
    landed = sorted((landing / "webhooks").rglob("*.json"))
    assert [path.read_bytes() for path in landed] == [BODY]
    sha = hashlib.sha256(BODY).hexdigest()
    claims = [
        Path(folder) / name
        for folder, _, names in os.walk(landing / CLAIMS_PREFIX)
        for name in names
        if name == sha
    ]
    assert len(claims) == 1 and os.path.samefile(claims[0], landed[0])
