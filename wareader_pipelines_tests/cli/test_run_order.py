"""Issue 9 §2: the same tables however the sample month's days were run.

The shipped sample month goes through the real definitions, in-process, three ways:

- one ranged run of every daily asset over the month (ingestion, cleaning, sentiment,
  emoji, summaries, media, and the incremental dbt marts with the month's window, as
  `wareader backfill` runs it), then the whole-table dbt marts;
- the same warehouse, then re-runs of 05-20, 05-13 and 05-02 in that order, each a run of
  every daily asset for that day only (the incremental marts rebuild with the day's window,
  as the nightly run does), then the whole-table marts again;
- on a fresh warehouse, 31 runs of the daily Python assets, one partition each, then the
  incremental marts over the month and the whole-table marts.

Every table of the pipeline's schema and of the marts schema must then be equal row for row,
exactly (the marts' means and money sums are exact: dbt/macros/exact_arithmetic.sql), on
DuckDB and on PostgreSQL (one server for the session, a database per order).

Lean on purpose (CI budget): runs skip the asset checks and the instance is in memory
(`pipeline_runs.py`). In the 31-day order the incremental marts are built once over the
month, not in 31 dbt invocations of about 8 CPU seconds each: that single-day windows after
any sequence of day re-runs equal a full refresh is `analytics/test_dbt_marts.py`'s test,
and single-day mart runs are exercised by the re-runs here. The monthly assets (reports,
archives), whose input is these tables, are left out.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from wareader_pipelines.cli import sample_run
from wareader_pipelines_tests.pipeline_runs import Pipeline
from wareader_pipelines_tests.servers.postgres import PostgresServer

FIRST, LAST = sample_run.SAMPLE_FIRST_DAY, sample_run.SAMPLE_LAST_DAY
RE_RUN_DAYS = (date(2024, 5, 20), date(2024, 5, 13), date(2024, 5, 2))
# What a run did rather than what the data is: calls made to the LLM (0 when answered from
# the response cache a previous run filled) and cache hits.
VOLATILE = {"api_calls", "cache_hits"}


def _pipeline(
    patch: pytest.MonkeyPatch, root: Path, engine: str, request: pytest.FixtureRequest
) -> Pipeline:
    """The definitions over a fresh copy of the sample landing zone and an empty warehouse."""
    data = root / "data"
    sample_run.seed_landing_zone(data / "landing")
    if engine == "duckdb":
        return Pipeline(patch, data, str(data / "warehouse.duckdb"))
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return Pipeline(patch, data, server.create_database("order"))


def _assert_same(
    found: dict[str, pd.DataFrame], reference: dict[str, pd.DataFrame], label: str
) -> None:
    assert sorted(found) == sorted(reference), label
    for name, frame in reference.items():
        pd.testing.assert_frame_equal(found[name], frame, obj=f"{label}: {name}")


@pytest.mark.heavy
@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_every_table_is_the_same_however_the_days_were_run(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    # One ranged run, then three single days re-run in reverse order, on one warehouse.
    with monkeypatch.context() as patch:
        pipeline = _pipeline(patch, tmp_path / "ranged", engine, request)
        pipeline.run(pipeline.every_daily, FIRST, LAST)
        pipeline.run(pipeline.whole_table_marts)
        ranged = pipeline.tables(VOLATILE)
        for day in RE_RUN_DAYS:
            pipeline.run(pipeline.every_daily, day, day)
        pipeline.run(pipeline.whole_table_marts)
        re_run = pipeline.tables(VOLATILE)

    # 31 daily runs of the Python assets on a fresh warehouse, then the marts.
    with monkeypatch.context() as patch:
        pipeline = _pipeline(patch, tmp_path / "daily", engine, request)
        for n in range((LAST - FIRST).days + 1):
            day = FIRST + timedelta(days=n)
            pipeline.run(pipeline.python_daily, day, day)
        pipeline.run(pipeline.daily_marts, FIRST, LAST)
        pipeline.run(pipeline.whole_table_marts)
        daily = pipeline.tables(VOLATILE)

    assert {"wareader.raw_messages", "wareader.cleaned_messages", "marts.fct_messages"} <= set(
        ranged
    )
    assert len(ranged["wareader.cleaned_messages"]) > 300
    assert len(ranged["marts.daily_conversation_metrics"]) > 20
    _assert_same(re_run, ranged, "ranged run, then 05-20, 05-13, 05-02 re-run")
    _assert_same(daily, ranged, "31 daily runs")
