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
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from benchmarks.generate_landing import generate_landing
from wareader_pipelines.landing.window import read_landing_window
from wareader_pipelines.lib import tables
from wareader_pipelines.nlp.text import normalize_text
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines.resources.warehouse import TimeWindowFilter, backend_for, conform_to_schema

TARGET_MESSAGES = 1_000_000
TARGET_SECONDS = 60.0
START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 90
_REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = _REPO_ROOT / "dbt"
BUSINESS_SELECTION = ("--select", "path:models/business path:seeds")
# The marts and the columns that order them (one row per key).
BUSINESS_MARTS = {
    "fct_outbound_messages": ["message_id"],
    "fct_service_windows": ["window_id"],
    "fct_first_responses": ["turn_id"],
    "dim_opt_outs": ["recipient_id", "business_number_id", "opted_out_at"],
    "daily_business_metrics": ["metric_date", "business_number_id"],
}


def cleaned_for_business_marts(raw: pd.DataFrame) -> pd.DataFrame:
    """cleaned_messages rows carrying what the business marts read: ids, time, `text_clean`."""
    return pd.DataFrame(
        {
            "message_id": raw["message_id"],
            "conversation_id": raw["conversation_id"],
            "sent_at": raw["sent_at"],
            "message_type": raw["message_type"],
            "is_system": raw["is_system"].astype(bool),
            "text_clean": [
                normalize_text(t) if isinstance(t, str) else None for t in raw["text"].tolist()
            ],
        }
    )


def load_window(
    zone: LandingZone, url: str, start: datetime, end: datetime, settings: PipelineSettings
) -> int:
    """Ingest [start, end) and replace exactly that window of the tables, as a partition run does.

    Returns the number of raw messages written.
    """
    window = read_landing_window(zone, start, end, settings=settings)
    backend = backend_for(url, "wareader")
    writes = (
        ("raw_messages", tables.RAW_MESSAGES, window.raw_messages, "sent_at"),
        ("message_statuses", tables.MESSAGE_STATUSES, window.message_statuses, "status_at"),
        ("api_errors", tables.API_ERRORS, window.api_errors, "partition_at"),
        (
            "cleaned_messages",
            tables.CLEANED_MESSAGES,
            cleaned_for_business_marts(window.raw_messages),
            "sent_at",
        ),
    )
    for table, schema, frame, column in writes:
        backend.replace_rows(
            table,
            schema,
            conform_to_schema(frame, schema, table),
            TimeWindowFilter(column, start, end),
        )
    return len(window.raw_messages)


def days_between(start: datetime, end: datetime) -> list[date]:
    """The UTC days of [start, end)."""
    return [(start + timedelta(days=n)).date() for n in range((end - start).days)]


def build_business_marts(url: str, target_path: Path, *extra: str) -> float:
    """`dbt build` of the business models, seeds and tests against `url`; its wall seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "WAREADER_"))}
    env.update(DO_NOT_TRACK="1", WAREADER_WAREHOUSE_URL=url)
    if url.startswith("postgresql://"):
        parts = urlparse(url)
        env.update(
            PGHOST=parts.hostname or "",
            PGPORT=str(parts.port),
            PGUSER=parts.username or "",
            PGDATABASE=parts.path.lstrip("/"),
        )
    dbt = Path(sys.executable).with_name("dbt")
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(dbt),
            "build",
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
            "--target-path",
            str(target_path),
            "--log-path",
            str(target_path),
            *BUSINESS_SELECTION,
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{done.stdout[-4000:]}")
    return seconds


def read_business_marts(url: str) -> dict[str, pd.DataFrame]:
    """Every business mart, ordered by its key, with engine-neutral dtypes."""
    backend = backend_for(url, tables.MARTS_SCHEMA)
    found = {}
    for table, keys in BUSINESS_MARTS.items():
        frame = backend.query(
            f"select * from {tables.MARTS_SCHEMA}.{table} order by {', '.join(keys)}"
        )
        found[table] = _neutral(frame)
    return found


def _neutral(frame: pd.DataFrame) -> pd.DataFrame:
    """UTC timestamps in µs, dates as text, numbers as float, missing values as None."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            out[column] = values.dt.tz_convert("UTC").dt.as_unit("us")
        elif column.endswith("_date"):
            out[column] = values.astype(str)
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[column] = values.astype("float64")
        else:
            as_objects = values.astype(object)
            out[column] = as_objects.where(as_objects.notna(), None)
    return out.reset_index(drop=True)


def assert_same_marts(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    """Raise if any mart differs between two builds (floats to 1e-9 relative)."""
    for table in BUSINESS_MARTS:
        pd.testing.assert_frame_equal(
            left[table], right[table], check_dtype=False, rtol=1e-9, obj=table
        )


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
