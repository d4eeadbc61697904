"""The business marts over a landing zone, built and compared on DuckDB and PostgreSQL: shared by
the benchmark (`benchmarks/business_marts.py`, at 100k and 1M) and the test that runs the same
comparison on a few thousand messages (`analytics/test_business_marts_generated.py`)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from wareader_pipelines.landing.window import read_landing_window
from wareader_pipelines.lib import tables
from wareader_pipelines.nlp.text import normalize_text
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines.resources.warehouse import TimeWindowFilter, backend_for, conform_to_schema
from wareader_testkit.dbt_build import run_dbt_build

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
    started = time.perf_counter()
    done = run_dbt_build(url, target_path, *BUSINESS_SELECTION, *extra)
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
