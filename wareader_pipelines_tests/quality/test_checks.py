"""The asset checks in a run: a bad partition fails its blocking check and stops downstream."""

from datetime import timedelta
from pathlib import Path

import dagster as dg
import pandas as pd

from wareader_pipelines.defs.ingestion.checks import (
    RAW_MESSAGES_KEYS,
    RAW_MESSAGES_VALUES,
    raw_messages_keys,
    raw_messages_values,
)
from wareader_pipelines.lib import tables
from wareader_pipelines.lib.partitions import DAILY_BACKFILL_POLICY, daily_partitions
from wareader_pipelines.resources.warehouse import WarehouseIOManager

PARTITION = "2024-05-13"


def messages_asset(frame_for_day) -> dg.AssetsDefinition:
    @dg.asset(
        key="raw_messages",
        partitions_def=daily_partitions,
        backfill_policy=DAILY_BACKFILL_POLICY,
        metadata={
            "dagster/column_schema": tables.RAW_MESSAGES,
            "partition_expr": "sent_at",
            "order_by": ["sent_at", "message_id"],
        },
    )
    def raw_messages(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return frame_for_day(context.partition_time_window.start)

    return raw_messages


@dg.asset(partitions_def=daily_partitions, deps=["raw_messages"])
def downstream_of_raw() -> None:
    """Stands for cleaned_messages: must not run on a partition whose keys are broken."""


def good_day(start: pd.Timestamp) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "message_id": ["wamid.1", "wamid.2", "wamid.3"],
            "conversation_id": ["c1", "c1", "c2"],
            "source": ["webhook", "webhook", "export"],
            "sent_at": [start + timedelta(hours=h) for h in (1, 2, 3)],
            "message_type": ["text", "image", "text"],
        }
    )


def bad_day(start: pd.Timestamp) -> pd.DataFrame:
    """Two rows share an id, one has no conversation, one has a made-up type."""
    frame = good_day(start)
    frame.loc[1, "message_id"] = "wamid.1"
    frame.loc[2, "conversation_id"] = None
    frame.loc[2, "message_type"] = "hologram"
    return frame


def run(frame_for_day, tmp_path: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [messages_asset(frame_for_day), raw_messages_keys, raw_messages_values, downstream_of_raw],
        partition_key=PARTITION,
        resources={"io_manager": WarehouseIOManager(url=str(tmp_path / "w.duckdb"))},
        raise_on_error=False,
    )


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_a_bad_partition_fails_with_counts_and_blocks_downstream(tmp_path: Path) -> None:
    result = run(bad_day, tmp_path)
    checks = evaluations(result)
    keys = checks[RAW_MESSAGES_KEYS]
    assert not keys.passed and keys.severity == dg.AssetCheckSeverity.ERROR
    assert keys.partition == PARTITION
    assert keys.metadata["failing_count"].value == 3
    assert keys.metadata["failing_by_rule"].value["message_id unique"] == 2
    assert keys.metadata["failing_by_rule"].value["conversation_id not null"] == 1
    assert "wamid.1" in keys.metadata["examples"].value
    values = checks[RAW_MESSAGES_VALUES]
    assert not values.passed and values.severity == dg.AssetCheckSeverity.WARN
    assert values.metadata["failing_count"].value == 1
    assert "hologram" in values.metadata["examples"].value
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    assert materialized == {"raw_messages"}
    assert not result.success


def test_a_warning_alone_does_not_block(tmp_path: Path) -> None:
    def odd_type_day(start: pd.Timestamp) -> pd.DataFrame:
        return good_day(start).assign(message_type=["text", "hologram", "text"])

    result = run(odd_type_day, tmp_path)
    checks = evaluations(result)
    assert checks[RAW_MESSAGES_KEYS].passed
    assert not checks[RAW_MESSAGES_VALUES].passed
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    assert materialized == {"raw_messages", "downstream_of_raw"}
    assert result.success
