"""The README's first command, end to end: the whole graph over the shipped sample.

Runs through the real definitions with the embedded defaults pointed at a
temporary data folder (DuckDB warehouse, local landing zone, outbox e-mail,
extractive LLM), then runs the same partitions again: the tables must not change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from wareader_pipelines import cli, sample_run
from wareader_pipelines.definitions import defs
from wareader_pipelines.resources.warehouse import Warehouse
from wareader_pipelines.tables import CLEANED_MESSAGES

CORE_TABLES = ("raw_messages", "message_statuses", "quarantine", "cleaned_messages")


@pytest.fixture(scope="module")
def sample_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("sample-run")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAREADER_DATA_DIR", str(root / "data"))
        patch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        for name in ("WAREADER_WAREHOUSE_URL", "WAREADER_LANDING_URI", "WAREADER_LLM_PROVIDER"):
            patch.delenv(name, raising=False)
        yield root


def _tables(warehouse: Warehouse) -> dict[str, pd.DataFrame]:
    frames = {}
    for table in (*CORE_TABLES, "message_sentiment", "conversation_summaries"):
        if warehouse.table_exists(table):
            frame = warehouse.query(f"SELECT * FROM {{schema}}.{table}")
            frames[table] = frame.sort_values(list(frame.columns[:3])).reset_index(drop=True)
    return frames


def test_demo_runs_everything_and_prints_a_report(
    sample_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    for table in CORE_TABLES:
        assert table in out
    assert "languages found:" in out
    assert "quarantined inputs:" in out
    assert str(sample_run_dir / "data" / "analytics.duckdb") in out
    assert (sample_run_dir / "data" / "analytics.duckdb").exists()
    assert "SELECT language" in out
    assert (sample_run_dir / "dagster_home" / "dagster.yaml").exists()

    warehouse = defs().resources["warehouse"]
    cleaned = warehouse.query("SELECT * FROM {schema}.cleaned_messages")
    raw = warehouse.query("SELECT * FROM {schema}.raw_messages")
    assert len(cleaned) == len(raw) > 50
    assert raw["message_id"].is_unique
    assert {"webhook", "export"} <= set(raw["source"])
    assert cleaned["language"].nunique() >= 5
    assert list(cleaned.columns)[: len(CLEANED_MESSAGES.columns)] == [
        c.name for c in CLEANED_MESSAGES.columns
    ]
    # Analyst table: no phone number or sender name leaks into it.
    for sender in raw["sender_wa_id"].dropna().unique():
        assert not cleaned.astype(str).apply(lambda col, s=sender: col.str.contains(s)).any().any()
    quarantine = warehouse.query("SELECT * FROM {schema}.quarantine")
    assert {"whole body", "whole file"} & set(quarantine["location"])

    # The runs are in the persistent instance, as the UI will show them.
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_run_records()
        assert runs and all(r.dagster_run.is_success for r in runs)
        daily = [r for r in runs if "dagster/asset_partition_range_start" in r.dagster_run.tags]
        assert len(daily) == 1, "the whole sample month is one ranged run"


def test_running_the_same_partitions_again_changes_nothing(sample_run_dir: Path) -> None:
    definitions = defs()
    warehouse = definitions.resources["warehouse"]
    if not warehouse.table_exists("raw_messages"):
        assert cli.main(["demo"]) == 0
    before = _tables(warehouse)
    with dg.DagsterInstance.get() as instance:
        results = sample_run.run_pipeline(
            definitions,
            instance,
            sample_run.SAMPLE_FIRST_DAY,
            sample_run.SAMPLE_LAST_DAY,
            log=lambda _: None,
        )
    assert all(result.success for result in results)
    after = _tables(warehouse)
    assert before.keys() == after.keys()
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], obj=table)
