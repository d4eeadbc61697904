"""Benchmark: the business-messaging dbt marts over a generated landing zone.

For each size a webhook-only landing zone is generated (`generate_landing`, not timed;
reused from `--workdir` when there), ingested with `read_landing_window` into a fresh
DuckDB warehouse (raw_messages, message_statuses, api_errors; cleaned_messages with the
only column the business marts read from it, `text_clean`, from `normalize_text`, so the
language and PII stages of `benchmarks/ingest_and_clean.py` are not timed twice), and
then ONE timed `dbt build` of the business models, their seeds and tests runs in its own
process (`--select path:models/business path:seeds`). It prints the build's wall time,
the dbt process's peak RSS, each mart's row count and the 1-minute load average, against
issue 10's target (1M messages in under 60 s on DuckDB on 2 cores).

With `--postgres URL` the same tables are also loaded into that PostgreSQL database,
the marts built there too, and every mart compared row for row with DuckDB's.

    python -m benchmarks.business_marts --sizes 100000,1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_testkit.business_marts import (
    assert_same_marts,
    build_business_marts,
    load_window,
    read_business_marts,
)
from wareader_testkit.generate_landing import generate_landing

TARGET_MESSAGES = 1_000_000
TARGET_SECONDS = 60.0
START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 90


def _load_by_month(zone: LandingZone, url: str, settings: PipelineSettings) -> int:
    """Ingest the generated range in 30-day windows (as ranged runs do), bounding memory."""
    messages = 0
    for first in range(0, DAYS, 30):
        start = START + timedelta(days=first)
        end = START + timedelta(days=min(first + 30, DAYS))
        messages += load_window(zone, url, start, end, settings)
    return messages


def _run(size: int, workdir: Path, postgres: str | None) -> dict[str, object]:
    zone_root = workdir / f"zone-{size}"
    if not (zone_root / "webhooks").exists():
        generate_landing(zone_root, messages=size, webhook_share=1.0, start=START, days=DAYS)
    settings = PipelineSettings(pseudonym_key="benchmark", cache_dir=str(workdir / "cache"))
    zone = LandingZone(uri=str(zone_root))
    url = str(workdir / f"warehouse-{size}.duckdb")
    Path(url).unlink(missing_ok=True)
    started = time.perf_counter()
    messages = _load_by_month(zone, url, settings)
    load_seconds = time.perf_counter() - started
    seconds = build_business_marts(url, workdir / f"dbt-{size}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    marts = read_business_marts(url)
    result: dict[str, object] = {
        "messages": messages,
        "load_seconds": round(load_seconds, 1),
        "dbt_build_seconds": round(seconds, 1),
        "dbt_peak_rss_mib": round(peak),
        "rows": {table: len(frame) for table, frame in marts.items()},
        "load_average_1m": os.getloadavg()[0],
    }
    if postgres:
        _load_by_month(zone, postgres, settings)
        result["postgres_dbt_build_seconds"] = round(
            build_business_marts(postgres, workdir / f"dbt-pg-{size}"), 1
        )
        assert_same_marts(marts, read_business_marts(postgres))
        result["equal_on_postgres"] = True
    return result


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark at each size and print the results as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/wareader-business-bench"))
    parser.add_argument("--postgres", help="a postgresql:// URL to compare the marts with")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    for size in (int(s) for s in args.sizes.split(",")):
        result = _run(size, args.workdir, args.postgres)
        if size == TARGET_MESSAGES:
            result["target"] = f"< {TARGET_SECONDS:.0f} s"
            result["met"] = result["dbt_build_seconds"] < TARGET_SECONDS  # type: ignore[operator]
        print(json.dumps({"size": size, **result}), flush=True)


if __name__ == "__main__":
    main()
