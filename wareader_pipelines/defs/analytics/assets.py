"""The analysts' layer: dbt models as Dagster assets downstream of the Python tables.

Incremental marts (fct_messages, daily_conversation_metrics) are partitioned by
UTC day like the tables they read: a partition or range passes its window to dbt
as `min_sent_at` / `max_sent_at`, and the models rebuild exactly those days. The
staging views and the dimension tables are unpartitioned and rebuilt whole. dbt
tests appear as asset checks on the models they test.
"""

import json
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from wareader_pipelines.defs.analytics.project import dbt_project
from wareader_pipelines.lib.freshness import NIGHTLY_FRESHNESS
from wareader_pipelines.lib.partitions import DAILY_BACKFILL_POLICY, daily_partitions

GROUP = "analytics"
INCREMENTAL = "config.materialized:incremental"


class WareaderDbtTranslator(DagsterDbtTranslator):
    """dbt models in the `analytics` group, owned by the team; marts fresh after each nightly sync."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if not unique_id.startswith(("model.", "seed.")):
            return spec  # sources keep the Python assets' keys from their `meta.dagster`
        spec = spec.replace_attributes(group_name=GROUP, owners=["team:wareader"])
        if unique_id.startswith("seed."):
            return spec  # reference data in the repository: as fresh as the last deploy
        materialized = manifest["nodes"][unique_id]["config"].get("materialized")
        if materialized == "view":
            return spec  # a view is as fresh as the tables under it
        spec = spec.replace_attributes(freshness_policy=NIGHTLY_FRESHNESS)
        if materialized == "table":
            # Whole-table marts (the dimensions) rebuild once the daily marts they read change.
            spec = spec.replace_attributes(automation_condition=dg.AutomationCondition.eager())
        return spec


TRANSLATOR = WareaderDbtTranslator()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=INCREMENTAL,
    partitions_def=daily_partitions,
    backfill_policy=DAILY_BACKFILL_POLICY,
    dagster_dbt_translator=TRANSLATOR,
    name="analytics_daily_marts",
)
def analytics_daily_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """Builds and tests the incremental marts for the run's days, and only those."""
    window = context.partition_time_window
    window_vars = {"min_sent_at": window.start.isoformat(), "max_sent_at": window.end.isoformat()}
    # cautious: only tests whose every parent is built here. The dimensions' relationship
    # tests on fct_messages run with the dimensions, which may not exist yet on a first run.
    args = ["build", "--vars", json.dumps(window_vars), "--indirect-selection", "cautious"]
    yield from dbt.cli(args, context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=INCREMENTAL,
    dagster_dbt_translator=TRANSLATOR,
    name="analytics_models",
)
def analytics_models(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """Builds and tests the staging views and the dimension tables over all history."""
    yield from dbt.cli(["build"], context=context).stream()
