"""The `new_webhook_bodies` sensor over a backlog of new bodies, and ingestion reusing its parse.

Writes a generated landing zone of webhook bodies only (`generate_landing`), then
evaluates the sensor tick after tick from an empty cursor until it skips (at most
`MAX_BODIES_PER_TICK` bodies a tick), as the daemon would; each tick reads and parses
its new bodies once and caches their rows. Then it reads the zone's window with
ingestion's `read_landing_window` twice, with the sensor's cache and without one, so
the saving of not parsing twice shows, and checks the two reads give the same tables.

Prints wall and CPU seconds (this process and its children) of each step and the
1-minute load average at start and end: on a busy machine judge wall by CPU.

    python -m benchmarks.webhook_sensor --bodies 10000

Baseline (before the cache): each tick parsed every new body and ingestion parsed it again.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from wareader_pipelines.defs.automation import sensors
from wareader_pipelines.landing.layout import WEBHOOK_PREFIX
from wareader_pipelines.landing.window import read_landing_window
from wareader_pipelines.nlp.pseudonyms import DEVELOPMENT_KEY
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_testkit.generate_landing import generate_landing

START = datetime(2024, 5, 1, tzinfo=UTC)
DAYS = 28


def _cpu_seconds() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def _measured(step: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), _cpu_seconds()
    result = step()
    return result, time.perf_counter() - wall, _cpu_seconds() - cpu


def _landing(root: Path, bodies: int) -> int:
    """A zone of at least `bodies` webhook bodies (about 1.4 per message); how many it holds."""
    messages = int(bodies / 1.3)
    while True:
        generate_landing(root, messages=messages, webhook_share=1.0, start=START, days=DAYS)
        held = sum(1 for _ in (root / "webhooks").glob("*/*.json"))
        if held >= bodies:
            return held
        messages = int(messages * bodies / held * 1.05)
        for path in (root / "webhooks").glob("*/*.json"):
            path.unlink()


def run(bodies: int) -> dict[str, object]:
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="wareader-sensor-bench-") as folder:
        root = Path(folder)
        held = _landing(root / "landing", bodies)
        zone = LandingZone(uri=str(root / "landing"))
        settings = PipelineSettings(pseudonym_key=DEVELOPMENT_KEY, cache_dir=str(root / "cache"))
        ticks: list[dict[str, object]] = []
        cursor: str | None = None
        with dg.instance_for_test() as instance:
            while True:

                def tick(cursor: str | None = cursor) -> dg.SensorResult | dg.SkipReason:
                    with dg.build_sensor_context(
                        instance=instance,
                        cursor=cursor,
                        resources={"landing_zone": zone, "settings": settings},
                    ) as context:
                        return sensors.new_webhook_bodies(context)  # type: ignore[return-value]

                result, wall, cpu = _measured(tick)
                if not isinstance(result, dg.SensorResult):
                    break
                ticks.append(
                    {
                        "wall_seconds": round(wall, 2),
                        "cpu_seconds": round(cpu, 2),
                        "runs_requested": len(result.run_requests or []),
                    }
                )
                cursor = result.cursor
        assert cursor is not None and cursor == max(
            landed.key for landed in zone.list(WEBHOOK_PREFIX)
        ), "the ticks did not reach the last body"

        end = START + timedelta(days=DAYS)
        uncached_settings = settings.model_copy(update={"cache_dir": str(root / "no-cache")})
        reads: dict[str, list[tuple[Any, float, float]]] = {"cached": [], "parsed": []}
        for _ in range(2):  # alternating, best of two: the first read warms shared caches
            for name, read_settings in (("parsed", uncached_settings), ("cached", settings)):
                reads[name].append(
                    _measured(
                        lambda s=read_settings: read_landing_window(zone, START, end, settings=s)
                    )
                )
        cached, cached_wall, cached_cpu = min(reads["cached"], key=lambda r: r[2])
        parsed, parsed_wall, parsed_cpu = min(reads["parsed"], key=lambda r: r[2])
        for table in ("raw_messages", "message_statuses", "quarantine", "api_errors"):
            pd.testing.assert_frame_equal(getattr(cached, table), getattr(parsed, table))
    return {
        "bodies": held,
        "max_bodies_per_tick": sensors.MAX_BODIES_PER_TICK,
        "ticks": ticks,
        "sensor_wall_seconds": round(sum(float(t["wall_seconds"]) for t in ticks), 2),  # type: ignore[arg-type]
        "sensor_cpu_seconds": round(sum(float(t["cpu_seconds"]) for t in ticks), 2),  # type: ignore[arg-type]
        "ingestion_with_sensor_cache": {
            "wall_seconds": round(cached_wall, 2),
            "cpu_seconds": round(cached_cpu, 2),
            "bodies_from_cache": cached.stats.webhook_bodies_from_cache,
            "bodies_read": cached.stats.webhook_bodies,
        },
        "ingestion_parsing_every_body": {
            "wall_seconds": round(parsed_wall, 2),
            "cpu_seconds": round(parsed_cpu, 2),
        },
        "rows": len(cached.raw_messages),
        "load_average_1m": {"start": load_start, "end": os.getloadavg()[0]},
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bodies", type=int, default=10_000)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.bodies), indent=2))


if __name__ == "__main__":
    main()
