"""Per-partition metadata: a ranged run's materializations each show their own partition's figures."""

from pathlib import Path

import dagster as dg
import pandas as pd

from wareader_pipelines.lib.asset_metadata import WHOLE_RUN, counts_by, partition_figures
from wareader_pipelines.lib.partitions import RANGE_END_TAG, RANGE_START_TAG, daily_partitions
from wareader_pipelines.resources.warehouse import WarehouseIOManager


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=92),
    metadata={
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn("id", "string"),
                dg.TableColumn("kind", "string"),
                dg.TableColumn("sent_at", "timestamp"),
            ]
        ),
        "partition_expr": "sent_at",
    },
)
def messages(context: dg.AssetExecutionContext) -> dg.Output:
    """Two messages on the 1st, none on the 2nd, one on the 3rd, none on the 4th."""
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "kind": ["text", "image", "text"],
            "sent_at": pd.to_datetime(
                ["2024-05-01T08:00Z", "2024-05-01T09:00Z", "2024-05-03T10:00Z"], utc=True
            ),
        },
        index=[7, 3, 5],  # rows are placed by position, whatever the index
    )
    if context.has_partition_key:
        day = context.partition_key
        frame = frame[frame["sent_at"].dt.strftime("%Y-%m-%d") == day]
    metadata = partition_figures(
        context,
        frame,
        lambda rows: {"kinds": counts_by(rows, "kind")},
        constants={"model": "m1"},
        run_totals={"files_read": 7},
    )
    return dg.Output(frame, metadata=metadata)


def _materialize(tmp_path: Path, **kwargs: object) -> dict[str, dict]:
    result = dg.materialize(
        [messages],
        resources={"io_manager": WarehouseIOManager(url=str(tmp_path / "w.duckdb"))},
        **kwargs,
    )
    assert result.success
    return {
        event.partition: {k: v.value for k, v in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
    }


def test_each_day_of_a_range_shows_its_own_figures_and_the_run_totals_are_named(
    tmp_path: Path,
) -> None:
    days = _materialize(tmp_path, tags={RANGE_START_TAG: "2024-05-01", RANGE_END_TAG: "2024-05-04"})
    assert sorted(days) == ["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04"]
    assert [days[d]["dagster/row_count"] for d in sorted(days)] == [2, 0, 1, 0]
    assert days["2024-05-01"]["kinds"] == {"text": 1, "image": 1}
    assert days["2024-05-03"]["kinds"] == {"text": 1}
    assert days["2024-05-02"]["kinds"] == days["2024-05-04"]["kinds"] == {}
    for day in days.values():
        assert day["model"] == "m1", "a constant is true of every day"
        assert day[WHOLE_RUN + "files_read"] == 7 and "files_read" not in day
        assert day[WHOLE_RUN + "rows"] == 3
        assert "2024-05-01..2024-05-04 (4 partitions)" in day["run_range"]


def test_a_single_day_shows_its_figures_under_their_plain_names(tmp_path: Path) -> None:
    (day,) = _materialize(tmp_path, partition_key="2024-05-01").values()
    assert day["dagster/row_count"] == 2 and day["kinds"] == {"text": 1, "image": 1}
    assert day["files_read"] == 7 and day["model"] == "m1"
    assert "run_range" not in day and WHOLE_RUN + "rows" not in day
