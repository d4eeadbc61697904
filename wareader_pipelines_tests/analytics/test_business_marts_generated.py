"""The business marts over a generated landing zone: the same on DuckDB and PostgreSQL, and
the same whether the days were ingested at once or one by one, in any order, one twice.

A few thousand messages keep this within CI's budget; `benchmarks/business_marts.py` (helpers in `wareader_testkit/business_marts.py`)
runs the same comparison at 100k (with `--postgres`) and times 1M.
"""

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_testkit.business_marts import (
    assert_same_marts,
    build_business_marts,
    days_between,
    load_window,
    read_business_marts,
)
from wareader_testkit.generate_landing import generate_landing

START = datetime(2024, 5, 1, tzinfo=UTC)
DAYS = 21
END = START + timedelta(days=DAYS)


@pytest.mark.heavy
def test_generated_zone_marts_equal_on_both_warehouses_and_day_by_day(
    tmp_path: Path, postgres_url: str
) -> None:
    zone_root = tmp_path / "landing"
    generated = generate_landing(
        zone_root, messages=3000, webhook_share=1.0, start=START, days=DAYS, seed=3
    )
    assert generated.features["templates"] and generated.features["stop_words"]
    zone = LandingZone(uri=str(zone_root))
    settings = PipelineSettings(pseudonym_key="test-key", cache_dir=str(tmp_path / "cache"))

    at_once = str(tmp_path / "at_once.duckdb")
    assert load_window(zone, at_once, START, END, settings) == generated.messages
    load_window(zone, postgres_url, START, END, settings)

    day_by_day = str(tmp_path / "day_by_day.duckdb")
    days = days_between(START, END)
    random.Random(5).shuffle(days)
    for day in [*days, days[3]]:  # every day in shuffled order, then one day re-run
        day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        load_window(zone, day_by_day, day_start, day_start + timedelta(days=1), settings)

    built = {}
    for name, url in (("duckdb", at_once), ("postgres", postgres_url), ("days", day_by_day)):
        build_business_marts(url, tmp_path / f"dbt-{name}")
        built[name] = read_business_marts(url)

    outbound = built["duckdb"]["fct_outbound_messages"]
    assert set(outbound.known_from) == {"message", "statuses"}
    assert {"read", "delivered", "failed"} <= set(outbound.current_status)
    assert len(built["duckdb"]["dim_opt_outs"]) > 0
    assert built["duckdb"]["daily_business_metrics"].outbound_outside_window.sum() > 0
    assert_same_marts(built["duckdb"], built["postgres"])
    assert_same_marts(built["duckdb"], built["days"])
