"""Materialization metadata shared by every asset: row counts and a small preview."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from dagster import MetadataValue

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
