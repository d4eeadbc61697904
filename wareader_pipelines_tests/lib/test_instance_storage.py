"""The local instance's event log (kept-open SQLite) under a real ranged run."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from wareader_pipelines.cli.sample_run import prepare_dagster_home
from wareader_pipelines.lib.instance_storage import KeptOpenSqliteEventLogStorage

days = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")


@dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
def daily_numbers() -> None:
    """Does nothing per day; Dagster still logs one materialization per day of the range."""


def test_a_ranged_run_is_stored_and_readable_by_another_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    prepare_dagster_home(home)
    definitions = dg.Definitions(assets=[daily_numbers])
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, KeptOpenSqliteEventLogStorage)
        result = definitions.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2024-01-02",
                "dagster/asset_partition_range_end": "2024-01-06",
            },
        )
        assert result.success
        shard = home / "history" / "runs" / f"{result.run_id}.db"
        touched = shard.stat().st_mtime  # before the instance closes its connections
    # A second instance on the same home (as the webserver is) reads what the run stored.
    with dg.DagsterInstance.from_config(str(home)) as reader:
        materialized = reader.get_materialized_partitions(dg.AssetKey("daily_numbers"))
        run_events = reader.all_logs(result.run_id)
    assert materialized == {f"2024-01-0{day}" for day in range(2, 7)}
    (success,) = [
        event
        for event in run_events
        if event.dagster_event_type == dg.DagsterEventType.PIPELINE_SUCCESS
    ]
    # Commits go to the -wal file; the .db file is touched after each write all the same,
    # so Dagster's file watcher (the UI's live run log) sees the run's last event arrive.
    assert touched >= success.timestamp - 0.05
