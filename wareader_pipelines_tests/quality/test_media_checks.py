"""message_media's blocking check in a run: duplicate or unplaced rows fail it with counts."""

from datetime import timedelta
from pathlib import Path

import dagster as dg
import pandas as pd

from wareader_pipelines.defs.media.checks import MESSAGE_MEDIA_KEYS, message_media_keys
from wareader_pipelines.lib import tables
from wareader_pipelines.lib.partitions import DAILY_BACKFILL_POLICY, daily_partitions
from wareader_pipelines.resources.warehouse import WarehouseIOManager

PARTITION = "2024-05-13"
SHA = "ab" * 32


def media_asset(frame_for_day) -> dg.AssetsDefinition:
    @dg.asset(
        key="message_media",
        partitions_def=daily_partitions,
        backfill_policy=DAILY_BACKFILL_POLICY,
        metadata={
            "dagster/column_schema": tables.MESSAGE_MEDIA,
            "partition_expr": "sent_at",
            "order_by": ["sent_at", "message_id"],
        },
    )
    def message_media(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return frame_for_day(context.partition_time_window.start)

    return message_media


def good_day(start: pd.Timestamp) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "message_id": ["wamid.1", "wamid.2", "wamid.3"],
            "media_id": ["m1", "m2", "m3"],
            "conversation_id": ["c1", "c1", "c2"],
            "sent_at": [start + timedelta(hours=h) for h in (1, 2, 3)],
            "message_type": ["image", "audio", "image"],
            "status": ["stored", "already_stored", "expired"],
            "sha256": [SHA, SHA, None],
        }
    )


def run(frame_for_day, tmp_path: Path) -> dg.AssetCheckEvaluation:
    result = dg.materialize(
        [media_asset(frame_for_day), message_media_keys],
        partition_key=PARTITION,
        resources={"io_manager": WarehouseIOManager(url=str(tmp_path / "w.duckdb"))},
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == MESSAGE_MEDIA_KEYS
    return evaluation


def test_clean_media_rows_pass(tmp_path: Path) -> None:
    assert run(good_day, tmp_path).passed


def test_duplicate_media_rows_a_bad_status_and_a_bad_sha_fail_with_counts(tmp_path: Path) -> None:
    def bad_day(start: pd.Timestamp) -> pd.DataFrame:
        frame = good_day(start)
        frame.loc[1, ["message_id", "media_id"]] = ["wamid.1", "m1"]
        frame.loc[2, "status"] = "lost"
        frame.loc[0, "sha256"] = "not-a-sha"
        return frame

    evaluation = run(bad_day, tmp_path)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    by_rule = evaluation.metadata["failing_by_rule"].value
    assert sum(by_rule.values()) == evaluation.metadata["failing_count"].value
    assert by_rule["(message_id, media_id) unique"] == 2
    assert by_rule["status in accepted values"] == 1
    assert by_rule["sha256 matches ^[0-9a-f]{64}$"] == 1
    assert "wamid.1" in evaluation.metadata["examples"].value
