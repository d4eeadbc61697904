"""The ingestion and cleaning assets through `dagster.materialize` with the real DuckDB IO manager."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from wareader_pipelines.defs.enrichment.assets import cleaned_messages
from wareader_pipelines.defs.ingestion.assets import landing_zone_tables
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines.resources.warehouse import Warehouse, WarehouseIOManager

ASSETS = [landing_zone_tables, cleaned_messages]
TABLES = ("raw_messages", "message_statuses", "api_errors", "quarantine", "cleaned_messages")


@pytest.fixture
def resources(sample_landing: Path, tmp_path: Path) -> dict[str, object]:
    url = str(tmp_path / "warehouse.duckdb")
    return {
        "io_manager": WarehouseIOManager(url=url),
        "warehouse": Warehouse(url=url),
        "landing_zone": LandingZone(uri=str(sample_landing)),
        "settings": PipelineSettings(pseudonym_key="test-key", cache_dir=str(tmp_path / "cache")),
    }


def _snapshot(warehouse: Warehouse) -> dict[str, pd.DataFrame]:
    return {
        table: warehouse.query(f"SELECT * FROM {{schema}}.{table} ORDER BY ALL")
        for table in TABLES
        if warehouse.table_exists(table)
    }


def _range(first: str, last: str) -> dict[str, str]:
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def test_a_partition_materialized_twice_gives_the_same_tables(resources: dict) -> None:
    warehouse = resources["warehouse"]
    first = dg.materialize(ASSETS, partition_key="2024-05-01", resources=resources)
    assert first.success
    once = _snapshot(warehouse)
    assert len(once["raw_messages"]) > 0
    assert len(once["cleaned_messages"]) == len(once["raw_messages"])

    assert dg.materialize(ASSETS, partition_key="2024-05-01", resources=resources).success
    twice = _snapshot(warehouse)
    for table in TABLES:
        pd.testing.assert_frame_equal(once[table], twice[table], obj=table)


def test_a_range_runs_once_and_equals_its_days(resources: dict, tmp_path: Path) -> None:
    warehouse = resources["warehouse"]
    ranged = dg.materialize(ASSETS, resources=resources, tags=_range("2024-05-01", "2024-05-31"))
    assert ranged.success
    materializations = ranged.asset_materializations_for_node("landing_zone_tables")
    assert len(materializations) == 4 * 31, "one run covers every partition of the range"
    by_range = _snapshot(warehouse)

    daily_url = str(tmp_path / "daily.duckdb")
    daily_resources = {
        **resources,
        "io_manager": WarehouseIOManager(url=daily_url),
        "warehouse": Warehouse(url=daily_url),
    }
    for day in ("2024-05-10", "2024-05-13", "2024-05-20"):
        assert dg.materialize(ASSETS, partition_key=day, resources=daily_resources).success
    by_day = _snapshot(daily_resources["warehouse"])
    days = pd.to_datetime(by_range["raw_messages"]["sent_at"]).dt.strftime("%Y-%m-%d")
    same_days = by_range["raw_messages"][days.isin(["2024-05-10", "2024-05-13", "2024-05-20"])]
    assert sorted(same_days["message_id"]) == sorted(by_day["raw_messages"]["message_id"])


def test_rejected_inputs_land_in_quarantine_and_good_rows_survive(resources: dict) -> None:
    result = dg.materialize(ASSETS, resources=resources, tags=_range("2024-05-01", "2024-05-31"))
    assert result.success
    quarantine = resources["warehouse"].query("SELECT * FROM {schema}.quarantine")
    assert len(quarantine) >= 3
    assert quarantine["reason"].str.len().min() > 10
    assert quarantine["source_file"].str.startswith(("webhooks/", "exports/")).all()
    bad_bodies = set(quarantine["source_file"])
    raw = resources["warehouse"].query("SELECT source_file FROM {schema}.raw_messages")
    # A body with one bad message still gives its good messages.
    partly_bad = [
        f
        for f in bad_bodies
        if not quarantine[quarantine.source_file == f].location.eq("whole body").all()
    ]
    assert any(f in set(raw["source_file"]) for f in partly_bad)


def test_each_materialization_reports_its_row_count_and_a_preview(resources: dict) -> None:
    result = dg.materialize(ASSETS, partition_key="2024-05-13", resources=resources)
    assert result.success
    warehouse = resources["warehouse"]
    materializations = [
        *result.asset_materializations_for_node("landing_zone_tables"),
        *result.asset_materializations_for_node("cleaned_messages"),
    ]
    assert {m.asset_key.to_user_string() for m in materializations} == set(TABLES)
    for materialization in materializations:
        table = materialization.asset_key.to_user_string()
        metadata = materialization.metadata
        rows = len(warehouse.query(f"SELECT * FROM {{schema}}.{table}"))
        assert metadata["dagster/row_count"].value == rows, table
        assert isinstance(metadata["preview"], dg.MarkdownMetadataValue), table
        if rows:
            assert metadata["preview"].value.count("\n") >= 2, table
    by_table = {m.asset_key.to_user_string(): m.metadata for m in materializations}
    assert by_table["raw_messages"]["dagster/row_count"].value > 0
    assert sum(by_table["raw_messages"]["by_source"].value.values()) == len(
        warehouse.query("SELECT * FROM {schema}.raw_messages")
    )
    assert sum(by_table["cleaned_messages"]["language_methods"].value.values()) == (
        by_table["cleaned_messages"]["dagster/row_count"].value
    )


def test_raw_messages_materializes_alone_from_one_read(resources: dict) -> None:
    """`dagster asset materialize --select raw_messages --partition D` works: the multi-asset subsets."""
    result = dg.materialize(
        ASSETS,
        selection="raw_messages",
        partition_key="2024-05-02",
        resources=resources,
    )
    assert result.success
    materialized = {
        event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
    }
    assert materialized == {"raw_messages"}
    warehouse = resources["warehouse"]
    assert warehouse.table_exists("raw_messages")
    assert not warehouse.table_exists("message_statuses")
    assert len(warehouse.query("SELECT * FROM {schema}.raw_messages")) > 0


def test_a_ranged_run_gives_each_day_its_own_figures(resources: dict) -> None:
    """Dagster shows a ranged run's metadata on every day: each day's figures must be its own."""
    result = dg.materialize(
        ASSETS,
        resources=resources,
        tags=_range("2024-05-01", "2024-05-03"),
    )
    assert result.success
    warehouse = resources["warehouse"]
    by_day = warehouse.query(
        "SELECT strftime(sent_at, '%Y-%m-%d') AS day, source, count(*) AS n "
        "FROM {schema}.raw_messages GROUP BY ALL"
    )
    assert by_day["day"].nunique() == 3, "the sample has messages on each of these days"
    events = {
        (event.asset_key.to_user_string(), event.partition): event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    for day, rows in by_day.groupby("day"):
        metadata = events[("raw_messages", day)]
        assert metadata["dagster/row_count"].value == rows["n"].sum()
        assert metadata["by_source"].value == dict(zip(rows["source"], rows["n"], strict=True))
        shown = metadata["preview"].value.splitlines()[2:]
        assert shown and all(f"| {day} " in line for line in shown), "the day's own rows"
        cleaned = events[("cleaned_messages", day)]
        assert cleaned["dagster/row_count"].value == rows["n"].sum()
        assert sum(cleaned["languages"].value.values()) == rows["n"].sum()
        # What the read did as a whole is named as the run's, the same on every day.
        assert metadata["whole run: webhook_bodies_read"].value > 0
        assert "2024-05-01..2024-05-03" in metadata["run_range"].value
        assert "webhook_bodies_read" not in metadata
    assert events[("raw_messages", "2024-05-01")]["whole run: rows"].value == by_day["n"].sum()
    single = dg.materialize(
        ASSETS, selection="raw_messages", partition_key="2024-05-02", resources=resources
    )
    (one,) = single.get_asset_materialization_events()
    assert one.materialization.metadata["dagster/row_count"].value == int(
        by_day.loc[by_day["day"] == "2024-05-02", "n"].sum()
    )
    assert "webhook_bodies_read" in one.materialization.metadata
    assert "run_range" not in one.materialization.metadata


def test_ingestion_refuses_a_landing_zone_that_does_not_exist(
    resources: dict, tmp_path: Path
) -> None:
    """A wrong path must not look like a quiet day (empty partitions, checks passing)."""
    missing = {**resources, "landing_zone": LandingZone(uri=str(tmp_path / "no-such-folder"))}
    result = dg.materialize(
        ASSETS, partition_key="2024-05-02", resources=missing, raise_on_error=False
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "no-such-folder does not exist: create it" in str(failure.step_failure_data.error)
    assert not resources["warehouse"].table_exists("raw_messages")
