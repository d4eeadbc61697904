"""Ranged backfills of the daily assets from a shell: `wareader backfill --from D --to E`.

Dagster's own shell commands do not run this project's backfills as ranged runs:
`dagster job backfill` launches one run per day, and `dagster asset materialize
--partition-range` refuses assets whose backfill policy is `multi_run`. Two ways
do, and both are here:

- `run_daily_ranges` runs the range now, in this process, as consecutive ranged
  runs of at most `DAILY_BACKFILL_POLICY.max_partitions_per_run` days each,
  recorded in the Dagster instance (the UI shows every run). No daemon needed.
- `submit_daily_backfill` files the same asset backfill the UI's *Launch
  backfill* files; the daemon (`make ui` starts one) splits it into ranged runs
  and the run queue starts them one at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta

import dagster as dg

# Dagster 1.13 has no public call that files an asset backfill (the UI files it through
# GraphQL, which needs a running webserver); these two are what that GraphQL mutation calls.
from dagster._core.execution.backfill import PartitionBackfill
from dagster._core.utils import make_new_backfill_id

from wareader_pipelines.lib.partitions import (
    DAILY_BACKFILL_POLICY,
    RANGE_END_TAG,
    RANGE_START_TAG,
    daily_partitions,
)

Log = Callable[[str], None]


def day_chunks(first: date, last: date, max_days: int) -> list[tuple[date, date]]:
    """[first, last] cut into consecutive (start, end) ranges of at most `max_days` days."""
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    chunks = []
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=max_days - 1))
        chunks.append((start, end))
        start = end + timedelta(days=1)
    return chunks


def daily_asset_keys(
    definitions: dg.Definitions, selection: Sequence[str] | None = None
) -> list[dg.AssetKey]:
    """The materializable daily assets, or the named ones among them (refusing any other)."""
    graph = definitions.resolve_asset_graph()
    daily = {
        key
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable and graph.get(key).partitions_def == daily_partitions
    }
    if not selection:
        return sorted(daily, key=lambda key: key.to_user_string())
    chosen = [dg.AssetKey.from_user_string(name) for name in selection]
    unknown = [key.to_user_string() for key in chosen if key not in daily]
    if unknown:
        raise ValueError(
            f"not daily assets: {', '.join(unknown)}; a backfill by day takes any of "
            f"{', '.join(sorted(key.to_user_string() for key in daily))}"
        )
    return chosen


def run_daily_ranges(
    definitions: dg.Definitions,
    instance: dg.DagsterInstance,
    first: date,
    last: date,
    *,
    selection: Sequence[dg.AssetKey] | None = None,
    run_config: dict | None = None,
    log: Log = print,
) -> list[dg.ExecuteInProcessResult]:
    """Materialize the daily assets over [first, last] now, one ranged run per chunk."""
    job = definitions.resolve_implicit_global_asset_job_def()
    keys = list(selection or daily_asset_keys(definitions))
    max_days = DAILY_BACKFILL_POLICY.max_partitions_per_run or (last - first).days + 1
    results = []
    for start, end in day_chunks(first, last, max_days):
        log(f"running {len(keys)} daily assets for {start}..{end} ...")
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            asset_selection=keys,
            tags={
                RANGE_START_TAG: start.isoformat(),
                RANGE_END_TAG: end.isoformat(),
            },
            raise_on_error=False,
        )
        results.append(result)
        log(f"  run {result.run_id[:8]}: {'succeeded' if result.success else 'FAILED'}")
    return results


def submit_daily_backfill(
    definitions: dg.Definitions,
    instance: dg.DagsterInstance,
    first: date,
    last: date,
    *,
    selection: Sequence[dg.AssetKey] | None = None,
) -> str:
    """File the asset backfill the UI would for these days; the daemon runs it. Its id."""
    keys = list(selection or daily_asset_keys(definitions))
    partitions = daily_partitions.get_partition_keys_in_range(
        dg.PartitionKeyRange(first.isoformat(), last.isoformat())
    )
    backfill_id = make_new_backfill_id()
    instance.add_backfill(
        PartitionBackfill.from_asset_partitions(
            backfill_id=backfill_id,
            asset_graph=definitions.resolve_asset_graph(),
            partition_names=partitions,
            asset_selection=keys,
            backfill_timestamp=time.time(),
            tags={},
            dynamic_partitions_store=instance,
            all_partitions=False,
            title=f"wareader backfill {first}..{last}",
            description=None,
            run_config=None,
        )
    )
    return backfill_id


def failure_line(results: Sequence[dg.ExecuteInProcessResult]) -> str | None:
    """ "FAILED: N of M runs" when any run failed, else None."""
    failed = sum(1 for result in results if not result.success)
    return f"FAILED: {failed} of {len(results)} runs" if failed else None
