"""Materialization metadata shared by every asset: counts, a small preview, per-day figures.

Dagster shows the metadata of a ranged run's output on each of its partitions, so
`partition_figures` gives every partition its own figures instead of the range's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    MetadataValue,
    TimeWindowPartitionsDefinition,
)

from wareader_pipelines.lib.partitions import partition_of_rows

PREVIEW_ROWS = 5
_PREVIEW_CELL_CHARS = 60


def preview(frame: pd.DataFrame, columns: Sequence[str], rows: int = PREVIEW_ROWS) -> MetadataValue:
    """The first `rows` rows of `columns` as a Markdown table, long cells shortened."""
    shown = frame.loc[:, list(columns)].head(rows).copy()
    for column in shown.columns:
        if shown[column].dtype == object:
            shown[column] = shown[column].map(
                lambda value: (
                    value
                    if not isinstance(value, str) or len(value) <= _PREVIEW_CELL_CHARS
                    else value[: _PREVIEW_CELL_CHARS - 1] + "…"
                )
            )
    return MetadataValue.md(shown.to_markdown(index=False) if len(shown) else "_no rows_")


def counts_by(frame: pd.DataFrame, column: str) -> MetadataValue:
    """How many rows take each value of `column`, as JSON, most frequent first."""
    if frame.empty:
        return MetadataValue.json({})
    counts = frame[column].fillna("(null)").astype(str).value_counts()
    return MetadataValue.json({str(k): int(v) for k, v in counts.items()})


# In a ranged run, what the run as a whole did (files read, API calls, tokens) cannot be
# told per day: such figures carry this prefix on every day, so none reads as the day's.
WHOLE_RUN = "whole run: "
RUN_RANGE = "run_range"


def partition_figures(
    context: AssetExecutionContext,
    frame: pd.DataFrame,
    figures: Callable[[pd.DataFrame], Mapping[str, Any]],
    *,
    asset_key: AssetKey | None = None,
    constants: Mapping[str, Any] | None = None,
    run_totals: Mapping[str, Any] | None = None,
    count_rows: bool = True,
) -> dict[str, Any]:
    """The metadata of an output, true on every partition the UI shows it on.

    A one-partition run gets `figures(frame)`, `constants` and `run_totals` as they are.
    A ranged run writes one materialization per partition, each showing the output's
    metadata: so each partition gets `figures` of its own rows (and its
    `dagster/row_count`, when `count_rows`), through `context.add_asset_metadata`, and
    the output keeps only `constants` (true of every partition: provider, model) and
    `run_totals`, prefixed `whole run: `, with `run_range` saying which run they cover.
    Rows are placed by the asset's `partition_expr` column.
    """
    constants, run_totals = dict(constants or {}), dict(run_totals or {})
    keys = list(context.partition_keys) if context.has_partition_key_range else []
    if len(keys) <= 1:
        return {**constants, **run_totals, **figures(frame)}
    key = asset_key or context.assets_def.key
    partitions_def = context.assets_def.partitions_def
    if not isinstance(partitions_def, TimeWindowPartitionsDefinition):
        raise TypeError(f"{key.to_user_string()}: per-partition figures need time partitions")
    windows = [partitions_def.time_window_for_partition_key(k) for k in keys]
    column = context.assets_def.metadata_by_key[key]["partition_expr"]
    labels = partition_of_rows(frame[column], keys, [(w.start, w.end) for w in windows])
    # Each partition's rows (positions, in frame order), found in one pass over the labels
    # instead of one comparison of every label per partition.
    positions: dict[str, list[int]] = {}
    for position, label in enumerate(labels):
        if label is not None:
            positions.setdefault(label, []).append(position)
    empty_day: dict[str, Any] | None = None  # every day without rows has the same figures
    for partition in keys:
        if partition in positions:
            rows = frame.iloc[positions[partition]]
            own = dict(figures(rows))
            row_count = len(rows)
        else:
            if empty_day is None:
                empty_day = dict(figures(frame.iloc[:0]))
            own, row_count = dict(empty_day), 0
        if count_rows:
            own["dagster/row_count"] = row_count
        context.add_asset_metadata(own, asset_key=key, partition_key=partition)
    return {
        RUN_RANGE: MetadataValue.text(
            f"one run materialized {keys[0]}..{keys[-1]} ({len(keys)} partitions); entries "
            f"named '{WHOLE_RUN}…' are that run's, every other entry is this partition's own"
        ),
        **constants,
        **{WHOLE_RUN + name: value for name, value in run_totals.items()},
    }
