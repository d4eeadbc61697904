"""The local instance's event log (kept-open SQLite) under a real ranged run."""

import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

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


@dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
def daily_counts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """One materialization per day of the range, each with its own metadata and a tag."""
    for key in context.partition_keys:
        context.add_asset_metadata({"day": key}, partition_key=key)
    return dg.MaterializeResult(tags={"dagster/data_version": "v1"})


@dg.asset_check(asset=daily_counts, partitions_def=days)
def daily_counts_checked(
    context: dg.AssetCheckExecutionContext,
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """A partitioned check of the range, one evaluation per day as lib/asset_checks.py yields."""
    for key in context.partition_keys:
        yield dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey("daily_counts"),
            check_name="daily_counts_checked",
            passed=key != "2024-01-04",
            partition=key,
            metadata={"day": key},
        )
    yield dg.Output(None)


@dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
def daily_failure(context: dg.AssetExecutionContext) -> None:
    """Fails, so none of the range's days is materialized."""
    raise RuntimeError(f"no data for {context.partition_key_range}")


RANGE_TAGS = {
    "dagster/asset_partition_range_start": "2024-01-02",
    "dagster/asset_partition_range_end": "2024-01-06",
}
RANGE_DAYS = {f"2024-01-0{day}" for day in range(2, 7)}


def _ranged_run_as_stored(
    home: Path, monkeypatch: pytest.MonkeyPatch, *, ours: bool
) -> dict[str, object]:
    """A ranged run on a fresh instance, and what the UI reads of it back.

    `ours`: the instance `wareader init` writes (this storage, batches on); else Dagster's
    default instance (its own SQLite event log, one event at a time).
    """
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    if ours:
        monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
        prepare_dagster_home(home)
    else:
        monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    definitions = dg.Definitions(assets=[daily_counts], asset_checks=[daily_counts_checked])
    batches: list[int] = []
    original = KeptOpenSqliteEventLogStorage.store_event_batch

    def counted(self: KeptOpenSqliteEventLogStorage, events: list[dg.EventLogEntry]) -> None:
        batches.append(len(events))
        original(self, events)

    monkeypatch.setattr(KeptOpenSqliteEventLogStorage, "store_event_batch", counted)
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, KeptOpenSqliteEventLogStorage) is ours
        result = definitions.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, tags=RANGE_TAGS, raise_on_error=False
        )
        assert result.success  # a failing check (not blocking) leaves the run successful
    key = dg.AssetKey("daily_counts")
    with dg.DagsterInstance.from_config(str(home)) as reader:
        records = reader.fetch_materializations(key, limit=100).records
        planned = reader.get_event_records(
            dg.EventRecordsFilter(dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, key)
        )
        (asset_record,) = reader.get_asset_records([key])
        checks = reader.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(key, "daily_counts_checked"), limit=100
        )
        tagged = reader.get_event_tags_for_asset(key)
    last = asset_record.asset_entry.last_materialization_record
    assert last is not None
    return {
        "batches": list(batches),
        "materialized": sorted(
            (
                r.partition_key,
                r.asset_materialization.metadata["day"].value,
                r.run_id == result.run_id,
            )  # type: ignore[union-attr]
            for r in records
        ),
        "planned": sorted(r.partition_key for r in planned),
        "last_materialization": (last.partition_key, last.storage_id == records[0].storage_id),
        "last_run_is_the_run": asset_record.asset_entry.last_run_id == result.run_id,
        "checks": sorted(
            (
                c.partition,
                c.status.value,
                c.event.dagster_event.event_specific_data.metadata["day"].value,  # type: ignore[union-attr]
                c.event.run_id == result.run_id,  # type: ignore[union-attr]
            )
            for c in checks
        ),
        "tags": sorted(tuple(sorted(tags.items())) for tags in tagged),
    }


def test_this_storage_stores_what_dagsters_own_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batched asset events and one-transaction check evaluations read back as Dagster's do."""
    dagsters = _ranged_run_as_stored(tmp_path / "dagster", monkeypatch, ours=False)
    ours = _ranged_run_as_stored(tmp_path / "ours", monkeypatch, ours=True)
    assert dagsters.pop("batches") == []
    # Dagster's batches: the run's planned events (5 days + the check's row), then the 5 days.
    assert ours.pop("batches") == [6, 5]
    assert ours == dagsters
    assert ours["planned"] == sorted(RANGE_DAYS)
    assert ours["materialized"] == sorted((day, day, True) for day in RANGE_DAYS)
    assert ours["last_materialization"] == ("2024-01-06", True)
    assert ours["last_run_is_the_run"] is True
    assert ours["checks"] == [
        (day, "FAILED" if day == "2024-01-04" else "SUCCEEDED", day, True)
        for day in sorted(RANGE_DAYS)
    ]


def test_a_failed_ranged_run_marks_each_of_its_days_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per-day planned events (batched) are what the UI's partition status reads failures from."""
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    monkeypatch.delenv("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", raising=False)
    prepare_dagster_home(home)
    definitions = dg.Definitions(assets=[daily_failure])
    with dg.DagsterInstance.get() as instance:
        result = definitions.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, tags=RANGE_TAGS, raise_on_error=False
        )
        assert not result.success
    assert os.environ["DAGSTER_EVENT_BATCH_SIZE"] == "1000"  # set by the storage
    with dg.DagsterInstance.from_config(str(home)) as reader:
        status = get_and_update_asset_status_cache_value(reader, dg.AssetKey("daily_failure"), days)
    assert status is not None
    assert set(status.deserialize_failed_partition_subsets(days).get_partition_keys()) == (
        RANGE_DAYS
    )
    assert not status.deserialize_materialized_partition_subsets(days).get_partition_keys()
