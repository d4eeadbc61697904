"""A ranged run reports each day's check result, as the UI's per-day list and detail read them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster._core.loader import LoadingContextForTest
from dagster._core.storage.event_log.base import PartitionKeyFilter

from wareader_pipelines.defs.ingestion.checks import (
    RAW_MESSAGES_KEYS,
    RAW_MESSAGES_VALUES,
    raw_messages_keys,
    raw_messages_values,
)
from wareader_pipelines.lib.partitions import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    daily_partitions,
    partition_of_rows,
)
from wareader_pipelines.resources.warehouse import WarehouseIOManager
from wareader_pipelines_tests.quality.test_checks import bad_day, good_day, messages_asset

DAYS = ["2024-05-12", "2024-05-13", "2024-05-14"]
BAD_DAY = "2024-05-13"


def _checked_days(instance: dg.DagsterInstance, name: str) -> dict[str, str]:
    """Each day's status the way the UI's partition list resolves it (its status cache)."""
    key = dg.AssetCheckKey(dg.AssetKey("raw_messages"), name)
    state = instance.event_log_storage.get_asset_check_state([(key, daily_partitions)])[key]
    by_day: dict[str, str] = {}
    for status, subset in state.subsets.items():
        for day in subset.subset_value.get_partition_keys():
            by_day[day] = status.value
    return by_day


def _detail(instance: dg.DagsterInstance, name: str, day: str) -> str:
    """The latest execution of the check on `day`, as the check's detail page shows it."""
    key = dg.AssetCheckKey(dg.AssetKey("raw_messages"), name)
    (record,) = instance.event_log_storage.get_asset_check_execution_history(
        key, limit=1, partition_filter=PartitionKeyFilter(key=day)
    )
    return asyncio.run(record.resolve_status(LoadingContextForTest(instance))).value


def test_a_ranged_run_reports_each_days_check_status_in_list_and_detail(tmp_path: Path) -> None:
    def one_bad_day(start: pd.Timestamp) -> pd.DataFrame:
        days = pd.date_range(start, periods=3, freq="D")
        frames = [
            bad_day(day) if day.strftime("%Y-%m-%d") == BAD_DAY else good_day(day) for day in days
        ]
        # Ids must differ between days, or a good day would share the bad day's duplicates.
        return pd.concat(
            [f.assign(message_id=f["message_id"] + f"-{i}") for i, f in enumerate(frames)],
            ignore_index=True,
        )

    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [messages_asset(one_bad_day), raw_messages_keys, raw_messages_values],
            resources={"io_manager": WarehouseIOManager(url=str(tmp_path / "w.duckdb"))},
            tags={RANGE_START_TAG: DAYS[0], RANGE_END_TAG: DAYS[-1]},
            instance=instance,
            raise_on_error=False,
        )
        evaluations = result.get_asset_check_evaluations()
        assert sorted((e.check_name, e.partition) for e in evaluations) == sorted(
            (name, day) for name in (RAW_MESSAGES_KEYS, RAW_MESSAGES_VALUES) for day in DAYS
        )
        expected = {day: "FAILED" if day == BAD_DAY else "SUCCEEDED" for day in DAYS}
        for name in (RAW_MESSAGES_KEYS, RAW_MESSAGES_VALUES):
            assert _checked_days(instance, name) == expected, name
            assert {day: _detail(instance, name, day) for day in DAYS} == expected, name
        bad = next(
            e for e in evaluations if e.check_name == RAW_MESSAGES_KEYS and e.partition == BAD_DAY
        )
        assert bad.metadata["row_count"].value == 3
        assert bad.metadata["failing_by_rule"].value["message_id unique"] == 2
        # Each day's result points at that day's materialization, so the UI shows it as current.
        materialized = {
            m.partition_key: m
            for m in instance.fetch_materializations(dg.AssetKey("raw_messages"), limit=10).records
        }
        assert {e.partition: e.target_materialization_data.storage_id for e in evaluations} == {
            day: materialized[day].storage_id for day in DAYS
        }
        assert not result.success, "the bad day's blocking check still fails the run"


def test_rows_are_placed_in_the_window_that_holds_them() -> None:
    windows = [
        (datetime(2024, 5, d, tzinfo=UTC), datetime(2024, 5, d + 1, tzinfo=UTC)) for d in (1, 2)
    ]
    times = pd.Series(
        [
            "2024-05-01T00:00:00Z",
            "2024-05-02T23:59:59Z",
            "2024-05-03T00:00:00Z",
            None,
            "2024-04-30T23:00:00Z",
        ]
    )
    assert partition_of_rows(times, ["2024-05-01", "2024-05-02"], windows) == [
        "2024-05-01",
        "2024-05-02",
        None,
        None,
        None,
    ]
