"""Benchmark: webhook bodies parsed per second, in memory, over a generated landing zone.

Reads every body under `webhooks/` of a zone written by `generate_landing` into memory
(not timed), then runs `parse_webhook_body` over all of them for a few rounds and prints
bodies/s and messages/s of each round by wall time and by the CPU time of the round (on a
shared machine the CPU figure drifts far less), and the 1-minute load average before and
after. Only the parse is timed: listing and reading the files is
`ingest_and_clean`'s parse stage. Issue 13's target is 50,000 bodies/s.

    python -m benchmarks.webhook_bodies --landing /tmp/landing --rounds 5
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
from wareader_pipelines.parsing.webhook_payload import parse_webhook_body

TARGET_BODIES_PER_SECOND = 50_000
LANDED = datetime(2024, 1, 1, tzinfo=UTC)


def read_bodies(landing: Path) -> list[tuple[str, bytes]]:
    """Every webhook body of the zone, with its key, in key order."""
    root = landing / "webhooks"
    bodies = []
    for path in sorted(root.rglob("*.json")):
        bodies.append((path.relative_to(landing).as_posix(), path.read_bytes()))
    return bodies


def parse_all(bodies: list[tuple[str, bytes]], pseudonyms: Pseudonymizer) -> tuple[int, int]:
    """Parse every body; how many messages and statuses they gave."""
    messages = statuses = 0
    for key, body in bodies:
        result = parse_webhook_body(body, source_file=key, landed_at=LANDED, pseudonyms=pseudonyms)
        messages += len(result.messages)
        statuses += len(result.statuses)
    return messages, statuses


def main(argv: list[str] | None = None) -> None:
    """Parse the zone's bodies `--rounds` times; print each round and the best."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landing", type=Path, required=True, help="a generated landing zone")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    bodies = read_bodies(args.landing)
    size = sum(len(body) for _, body in bodies)
    print(f"{len(bodies):,} bodies, {size / len(bodies):,.0f} bytes on average")
    print(
        f"parser: {parse_webhook_body.__module__} from {sys.modules[parse_webhook_body.__module__].__file__}"
    )
    pseudonyms = Pseudonymizer("benchmark-key")
    load_before = os.getloadavg()[0]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    rates = []
    for round_number in range(1, args.rounds + 1):
        started, cpu_started = time.perf_counter(), time.process_time()
        messages, statuses = parse_all(bodies, pseudonyms)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        rates.append((len(bodies) / seconds, len(bodies) / cpu_seconds))
        print(
            f"round {round_number}: {seconds:.2f} s wall, {cpu_seconds:.2f} s CPU; "
            f"{len(bodies) / seconds:,.0f} bodies/s by wall, {len(bodies) / cpu_seconds:,.0f} "
            f"by CPU; {messages:,} messages, {statuses:,} statuses"
        )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    best = max(wall for wall, _ in rates)
    best_cpu = max(by_cpu for _, by_cpu in rates)
    print(
        f"best {best:,.0f} bodies/s by wall ({best / TARGET_BODIES_PER_SECOND:.0%} of the "
        f"{TARGET_BODIES_PER_SECOND:,} target), {best_cpu:,.0f} by CPU; "
        f"CPU {cpu:.1f} s over {args.rounds} rounds; "
        f"load {load_before:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
