"""Benchmark: what Dagster itself costs, as one ranged run over an EMPTY landing zone.

With no data the run does no work of ours, so its time is orchestration: importing the
code location, building the job, creating the run (Dagster logs one "materialization
planned" event per asset and partition), executing the steps, and logging one
materialization event per asset and partition of the range. The script times each part
in a fresh process (start-up included), counts the events the run stored by type, and
prints the split. Everything goes to a throwaway DAGSTER_HOME and data folder.

    python -m benchmarks.empty_range_run --first-day 2024-01-01 --last-day 2024-12-31
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

TARGET_SECONDS = 30.0  # issue 13: an empty year-range run, process start included
_STARTED = time.perf_counter()  # as close to process start as this module gets


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (dbt runs as one)."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )


def _children_cpu_seconds() -> float:
    """User + system CPU of the finished child processes (dbt's)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(
    first_day: date, last_day: date, groups: list[str], *, dagster_defaults: bool = False
) -> dict[str, object]:
    """One ranged run of the daily assets of `groups` (all when empty); its time split.

    The instance is configured by the dagster.yaml `wareader init` writes, or with
    `dagster_defaults` by Dagster's own defaults (the "before" of issue 13).
    """
    work = Path(tempfile.mkdtemp(prefix="wareader-empty-run-"))
    os.environ["WAREADER_DATA_DIR"] = str(work / "data")
    os.environ["DAGSTER_HOME"] = str(work / "dagster_home")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    (work / "dagster_home").mkdir(parents=True)
    for folder in ("webhooks", "exports"):  # an empty landing zone, as `wareader init` leaves it
        (work / "data" / "landing" / folder).mkdir(parents=True)

    imports_started = time.perf_counter()
    import dagster as dg
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from wareader_pipelines.cli.sample_run import prepare_dagster_home
    from wareader_pipelines.definitions import defs
    from wareader_pipelines.lib.partitions import daily_partitions

    if dagster_defaults:
        (work / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    else:
        prepare_dagster_home(work / "dagster_home")
    imported = time.perf_counter()
    definitions = defs()
    job = definitions.resolve_implicit_global_asset_job_def()
    graph = definitions.resolve_asset_graph()
    selection = [
        key
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable
        and graph.get(key).partitions_def == daily_partitions
        and (not groups or graph.get(key).group_name in groups)
    ]
    defined = time.perf_counter()
    from benchmarks.event_log_timer import timed_event_log

    with dg.DagsterInstance.get() as instance, timed_event_log() as event_log:
        result = job.execute_in_process(
            instance=instance,
            asset_selection=selection,
            tags={
                ASSET_PARTITION_RANGE_START_TAG: first_day.isoformat(),
                ASSET_PARTITION_RANGE_END_TAG: last_day.isoformat(),
            },
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        ran = time.perf_counter()
        cpu_run = _cpu_seconds()  # before this script reads the run's events back
        records = instance.get_records_for_run(result.run_id, limit=1_000_000).records
        started_at = min(r.event_log_entry.timestamp for r in records)
        first_step = min(
            (
                r.event_log_entry.timestamp
                for r in records
                if r.event_log_entry.dagster_event_type == dg.DagsterEventType.STEP_START
            ),
            default=started_at,
        )
        events = Counter(
            r.event_log_entry.dagster_event_type.value
            for r in records
            if r.event_log_entry.dagster_event_type is not None
        )
    return {
        "assets": sorted(key.to_user_string() for key in selection),
        "partitions": len(
            daily_partitions.get_partition_keys_in_range(
                dg.PartitionKeyRange(first_day.isoformat(), last_day.isoformat())
            )
        ),
        "success": result.success,
        "start_s": imports_started - _STARTED,
        "imports_s": imported - imports_started,
        "definitions_s": defined - imported,
        "run_s": ran - defined,
        "until_first_step_s": first_step - started_at,
        "total_s": ran - _STARTED,
        "cpu_s": cpu_run,
        "children_cpu_s": _children_cpu_seconds(),
        "event_log": event_log,
        "events": dict(events.most_common()),
        "load_average": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> None:
    """Run once and print the split."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first-day", type=date.fromisoformat, default=date(2024, 1, 1))
    parser.add_argument("--last-day", type=date.fromisoformat, default=date(2024, 12, 31))
    parser.add_argument(
        "--groups", default="", help="comma list of asset groups (default: every daily asset)"
    )
    parser.add_argument(
        "--dagster-defaults",
        action="store_true",
        help="Dagster's default instance instead of the dagster.yaml `wareader init` writes",
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    groups = [g for g in args.groups.split(",") if g]
    r = run(args.first_day, args.last_day, groups, dagster_defaults=args.dagster_defaults)
    print(
        f"{len(r['assets'])} daily assets × {r['partitions']} partitions: {', '.join(r['assets'])}"
    )  # type: ignore[arg-type]
    print(
        f"total {r['total_s']:.1f} s (target ≤ {TARGET_SECONDS:.0f} s), CPU {r['cpu_s']:.1f} s "
        f"(of which child processes, dbt, {r['children_cpu_s']:.1f} s): "
        f"interpreter {r['start_s']:.1f} s, imports {r['imports_s']:.1f} s, definitions "
        f"{r['definitions_s']:.1f} s, run {r['run_s']:.1f} s (of which until the first step "
        f"{r['until_first_step_s']:.1f} s); success {r['success']}"
    )
    spent = r["event_log"]
    print(
        f"storing {spent.events:,} events (handle_new_event): {spent.wall_s:.1f} s wall, "
        f"{spent.cpu_s:.1f} CPU s"
    )  # type: ignore[union-attr]
    print(f"events stored: {r['events']}")
    print(f"load average {load:.1f} → {r['load_average']:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
