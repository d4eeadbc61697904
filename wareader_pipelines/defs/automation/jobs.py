"""The daily pipeline job: every asset on the shared daily partitions, one day or range at a time."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from wareader_pipelines.lib.partitions import daily_partitions

if TYPE_CHECKING:  # the graph type `resolve_inner` receives; exported only from dagster._core
    from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph


# Dagster 1.13's public `AssetSelection` (and its string syntax: key, tag, owner, group, kind,
# code location, status, column) has no "by partitions definition" selector, so this
# subclasses it through `resolve_inner`, the documented extension point.
@dataclass(frozen=True)
class DailyPartitionedAssets(dg.AssetSelection):
    """Every materializable asset on `daily_partitions`: the whole graph at daily grain.

    Chosen by partitioning rather than by name, so a new daily asset (media,
    enrichment, summaries...) joins the sensors, the schedule and the backfills
    without a change here, and monthly or unpartitioned assets never break
    the job's single partitioning.
    """

    def resolve_inner(self, asset_graph: BaseAssetGraph, allow_missing: bool) -> Set[dg.AssetKey]:
        return {
            node.key
            for node in asset_graph.asset_nodes
            if node.is_materializable and node.partitions_def == daily_partitions
        }

    def to_selection_str(self) -> str:
        return 'partitions:"time"'  # closest string form; the UI shows the resolved keys


DAILY_ASSETS = DailyPartitionedAssets()

daily_pipeline_job = dg.define_asset_job(
    name="daily_pipeline",
    selection=DAILY_ASSETS,
    description=(
        "Every daily asset, from the landing zone to summaries and media, for one day or a "
        "range; what the sensors and the nightly schedule launch."
    ),
    tags={"team": "wareader"},
)
