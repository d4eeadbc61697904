"""Ranged backfills of the daily assets from a shell: `wareader backfill --from D --to E`.

Dagster's own shell commands do not run this project's backfills as ranged runs:
`dagster job backfill` launches one run per day, and `dagster asset materialize
--partition-range` refuses assets whose backfill policy is `multi_run`. Two ways
do, and both are here:

- `run_daily_ranges` runs the range now, in this process, as consecutive ranged
  runs of at most `DAILY_BACKFILL_POLICY.max_partitions_per_run` days each,
  recorded in the Dagster instance (the UI shows every run). No daemon needed.
  With `workers=2` the same days run in two worker processes at once, as
  smaller runs whose order keeps every table equal to the one-at-a-time runs
  (`parallel_plan`).
- `submit_daily_backfill` files the same asset backfill the UI's *Launch
  backfill* files; the daemon (`make ui` starts one) splits it into ranged runs
  and the run queue starts them one at a time.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class RangedRun:
    """What a parallel backfill reports of one run: its id (None when it never started) and
    whether it succeeded."""

    run_id: str | None
    success: bool


def run_daily_ranges(
    definitions: dg.Definitions,
    instance: dg.DagsterInstance,
    first: date,
    last: date,
    *,
    selection: Sequence[dg.AssetKey] | None = None,
    run_config: dict | None = None,
    log: Log = print,
    workers: int = 1,
    max_days_per_run: int | None = None,
) -> list[dg.ExecuteInProcessResult] | list[RangedRun]:
    """Materialize the daily assets over [first, last] now, one ranged run per chunk (their
    results), or with `workers` > 1 as `parallel_plan`'s runs in that many worker processes
    (each run's id and outcome: its events are in the instance). Runs cover at most
    `max_days_per_run` days, by default the daily backfill policy's."""
    keys = list(selection or daily_asset_keys(definitions))
    max_days = (
        max_days_per_run or DAILY_BACKFILL_POLICY.max_partitions_per_run or (last - first).days + 1
    )
    chunks = day_chunks(first, last, max_days)
    job = definitions.resolve_implicit_global_asset_job_def()
    if workers > 1:
        plan = parallel_plan(definitions, keys, chunks)
        return _run_plan(plan, workers, run_config, log, job)
    results = []
    for start, end in chunks:
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


# The ops whose runs must wait for other days' runs (parallel_plan): cleaning reads the names
# raw_messages holds BEFORE its window (defs/enrichment/assets.py: names_before), and the
# incremental dbt marts read one session gap before their window and rebuild one after it
# (dbt/macros/window.sql). Everything else of a day reads only that day's rows.
INGESTION_OP = "landing_zone_tables"
MARTS_OP = "analytics_daily_marts"


@dataclass
class PlannedRun:
    """One run of a parallel backfill: some daily assets over one chunk. It starts once the
    runs in `after` succeeded (its chunk's earlier stage: it is not started if that failed,
    as a failed step's downstream steps are skipped) and the runs in `after_finished` ended
    (other days' runs, whose rows it reads, whatever their checks said)."""

    name: str
    keys: list[dg.AssetKey]
    start: date
    end: date
    after: list[str] = field(default_factory=list)
    after_finished: list[str] = field(default_factory=list)


def parallel_plan(
    definitions: dg.Definitions, keys: Sequence[dg.AssetKey], chunks: Sequence[tuple[date, date]]
) -> list[PlannedRun]:
    """The runs of a backfill that two processes can share with the same tables at the end.

    Each chunk's selection is cut in three runs: ingestion (any order: each reads only its
    window of the landing zone), the Python assets after it (once every earlier chunk's
    ingestion is done, as cleaning reads earlier names), and the incremental marts (after
    their chunk's Python assets and the previous chunk's marts: the previous chunk's last
    rows are then final, and the rows this chunk's build rebuilds after its window are
    rebuilt again by the next chunk's, as in the runs one at a time). Listed in the order
    they should start when both are ready: every ingestion first (oldest chunk first), then
    each chunk's assets and marts. Ingestion waits for nothing and the last chunk's assets
    wait for all of it, so a late last ingestion left one worker idle while the other ran
    the last assets alone (1M zone: ~17 s of the backfill's wall).
    """
    graph = definitions.resolve_asset_graph()
    stages: dict[str, list[dg.AssetKey]] = {"ingest": [], "assets": [], "marts": []}
    for key in keys:
        op = graph.get(key).assets_def.node_def.name
        stage = "ingest" if op == INGESTION_OP else "marts" if op == MARTS_OP else "assets"
        stages[stage].append(key)
    plan: list[PlannedRun] = []
    if stages["ingest"]:
        for index, (start, end) in enumerate(chunks):
            plan.append(PlannedRun(f"ingest {index}", stages["ingest"], start, end))
    for index, (start, end) in enumerate(chunks):
        ingested = [f"ingest {i}" for i in range(index + 1)] if stages["ingest"] else []
        if stages["assets"]:
            plan.append(
                PlannedRun(
                    f"assets {index}", stages["assets"], start, end, ingested[-1:], ingested[:-1]
                )
            )
        if stages["marts"]:
            plan.append(
                PlannedRun(
                    f"marts {index}",
                    stages["marts"],
                    start,
                    end,
                    [f"assets {index}"] if stages["assets"] else ingested[-1:],
                    [f"marts {index - 1}"] if index else [],
                )
            )
    return plan


def worker_start_method() -> str:
    """How the backfill's workers start: forked from this process when it runs only its main
    thread, so they share its loaded definitions (each spawned worker imports and builds
    them again, ~5 CPU s before its first run); spawned otherwise, as a fork would copy
    other threads' locks in whatever state they are (a test runner's or a server's)."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _run_plan(
    plan: Sequence[PlannedRun],
    workers: int,
    run_config: dict | None,
    log: Log,
    job: dg.JobDefinition,
    start_method: str | None = None,
) -> list[RangedRun]:
    """Start each planned run in a free worker once the runs it waits for succeeded; a run
    whose predecessor failed is not started and counts as failed. Forked workers run `job`;
    spawned ones load the project's definitions."""
    method = start_method or worker_start_method()
    context = multiprocessing.get_context(method)
    tasks, done = context.Queue(), context.Queue()
    processes = [
        context.Process(
            target=_worker,
            args=(tasks, done, run_config, job if method == "fork" else None),
            daemon=False,
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    outcomes: dict[str, RangedRun] = {}
    waiting = list(plan)
    running = 0
    try:
        while waiting or running:
            for run in list(waiting):
                if running >= workers:
                    break
                if any(name in outcomes and not outcomes[name].success for name in run.after):
                    waiting.remove(run)
                    outcomes[run.name] = RangedRun(None, False)
                    log(f"  {run.name} {run.start}..{run.end}: not started, an earlier run failed")
                elif all(name in outcomes for name in [*run.after, *run.after_finished]):
                    waiting.remove(run)
                    keys = [key.to_user_string() for key in run.keys]
                    tasks.put((run.name, keys, run.start.isoformat(), run.end.isoformat()))
                    running += 1
                    log(f"running {run.name}: {len(keys)} daily assets for {run.start}..{run.end}")
            if not running:
                continue
            try:
                name, run_id, success, error = done.get(timeout=5)
            except queue.Empty:
                if not all(process.is_alive() for process in processes):
                    raise RuntimeError("a backfill worker process died") from None
                continue
            running -= 1
            outcomes[name] = RangedRun(run_id, success)
            label = run_id[:8] if run_id else "-"
            log(f"  {name} run {label}: {'succeeded' if success else 'FAILED'}{error}")
    finally:
        for _ in processes:
            tasks.put(None)
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.terminate()
    return [outcomes[run.name] for run in plan if run.name in outcomes]


def _worker(
    tasks: multiprocessing.Queue,
    done: multiprocessing.Queue,
    run_config: dict | None,
    job: dg.JobDefinition | None,
) -> None:
    """A backfill worker: runs until told to stop, with `job` when forked (the parent's), else
    with the project's definitions loaded once. A forked worker ends with `os._exit` (as
    multiprocessing ends every forked process): no interpreter teardown, so the parent's
    storage connections it inherited are never closed here."""
    if job is None:
        from wareader_pipelines.definitions import defs

        job = defs().resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.get() as instance:
        while (task := tasks.get()) is not None:
            name, keys, start, end = task
            try:
                result = job.execute_in_process(
                    run_config=run_config,
                    instance=instance,
                    asset_selection=[dg.AssetKey.from_user_string(key) for key in keys],
                    tags={RANGE_START_TAG: start, RANGE_END_TAG: end},
                    raise_on_error=False,
                )
                done.put((name, result.run_id, result.success, ""))
            except Exception as error:  # reported as a failed run, the others go on
                done.put((name, None, False, f": {type(error).__name__}: {error}"))


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


def failure_line(results: Sequence[dg.ExecuteInProcessResult | RangedRun]) -> str | None:
    """ "FAILED: N of M runs" when any run failed, else None."""
    failed = sum(1 for result in results if not result.success)
    return f"FAILED: {failed} of {len(results)} runs" if failed else None
