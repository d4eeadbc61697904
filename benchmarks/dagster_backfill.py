"""Benchmark: a backfill of a generated landing zone THROUGH DAGSTER, as ranged runs.

Every daily asset (ingestion, cleaning, offline sentiment, the daily dbt marts and
their checks) runs over the zone's year as the ranged runs `wareader backfill`
makes (the daily backfill policy: up to 92 days per run), with
`--with-whole-table-marts` then the unpartitioned marts once (the monthly reports
and archives never: not part of the target), each with `execute_in_process` on an instance configured by the
dagster.yaml `wareader init` writes. Timed from process start (imports and
definitions included); for each run it prints its wall time, the time Dagster
took before the first step started (run creation, planned events) and the
events it stored. Compare with `empty_range_run.py` (the same runs over an empty
zone) for the split between Dagster's overhead and the work. By default the days run
in two worker processes (`--workers 2`, `run_daily_ranges`' parallel plan: each chunk as
an ingestion, an assets and a marts run); `--workers 1` runs the ranged runs one by one.

    python -m benchmarks.dagster_backfill --messages 1000000 --workdir /tmp/bench-backfill

The zone is generated (untimed) under --workdir on the first run and reused after;
the warehouse and Dagster home are fresh each time.
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
from collections import Counter  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

TARGET_SECONDS = 180.0  # issue 13: the 1M zone through Dagster in 3 minutes


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (dbt runs as one)."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )


def _row_counts(run_root: Path) -> dict[str, int]:
    """Rows of the main tables in the DuckDB warehouse the runs wrote (proof of work)."""
    import duckdb

    wanted = {"raw_messages", "cleaned_messages", "message_sentiment", "fct_messages"}
    counts: dict[str, int] = {}
    with duckdb.connect(str(run_root / "data" / "warehouse.duckdb"), read_only=True) as con:
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables()"
        ).fetchall():
            if table in wanted:
                counts[table] = con.execute(
                    f'select count(*) from "{schema}"."{table}"'
                ).fetchone()[0]
    return counts


def main(argv: list[str] | None = None) -> None:
    """Generate (or reuse) the zone, then run the backfill and print the split."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/wareader-bench-backfill"))
    parser.add_argument("--first-day", type=date.fromisoformat, default=date(2024, 1, 1))
    parser.add_argument("--last-day", type=date.fromisoformat, default=date(2024, 12, 31))
    parser.add_argument(
        "--with-whole-table-marts",
        action="store_true",
        help="also run the unpartitioned marts once after the days (monthly reports never)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes of the backfill (run_daily_ranges; 1 = the ranged runs one by one)",
    )
    args = parser.parse_args(argv)
    load_start = os.getloadavg()[0]

    zone = args.workdir / f"landing-{args.messages}"
    if not (zone / ".complete").exists():
        from wareader_testkit.generate_landing import generate_landing

        shutil.rmtree(zone, ignore_errors=True)
        print(f"generating {args.messages:,} messages into {zone} (not timed) ...")
        generate_landing(zone, messages=args.messages, seed=7)
        (zone / ".complete").write_text("")
    run_root = args.workdir / f"run-{args.messages}"
    shutil.rmtree(run_root, ignore_errors=True)
    os.environ["WAREADER_DATA_DIR"] = str(run_root / "data")
    os.environ["WAREADER_LANDING_URI"] = str(zone)
    os.environ["DAGSTER_HOME"] = str(run_root / "dagster_home")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    cpu_before = _cpu_seconds()
    started = time.perf_counter()

    import dagster as dg

    from wareader_pipelines.cli.backfill import run_daily_ranges
    from wareader_pipelines.cli.sample_run import prepare_dagster_home
    from wareader_pipelines.definitions import defs

    prepare_dagster_home(run_root / "dagster_home")
    imported = time.perf_counter()
    definitions = defs()
    definitions.resolve_implicit_global_asset_job_def()
    defined = time.perf_counter()
    rows = []
    from benchmarks.event_log_timer import timed_event_log

    with dg.DagsterInstance.get() as instance, timed_event_log() as event_log:
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        results = run_daily_ranges(
            definitions,
            instance,
            args.first_day,
            args.last_day,
            run_config=quiet,
            log=lambda line: None,
            workers=args.workers,
        )
        if args.with_whole_table_marts:
            graph = definitions.resolve_asset_graph()
            whole = [
                key
                for key in graph.get_all_asset_keys()
                if graph.get(key).is_materializable and graph.get(key).partitions_def is None
            ]
            results.append(
                definitions.resolve_implicit_global_asset_job_def().execute_in_process(
                    run_config=quiet, instance=instance, asset_selection=whole, raise_on_error=False
                )
            )
        ran = time.perf_counter()
        cpu_runs = _cpu_seconds()  # before this script reads the runs' events back
        for result in results:
            if result.run_id is None:  # never started: an earlier run of its days failed
                rows.append(("not started", False, 0.0, 0.0, 0, 0))
                continue
            records = instance.get_records_for_run(result.run_id, limit=1_000_000).records
            stamps = [r.event_log_entry.timestamp for r in records]
            first_step = min(
                (
                    r.event_log_entry.timestamp
                    for r in records
                    if r.event_log_entry.dagster_event_type == dg.DagsterEventType.STEP_START
                ),
                default=min(stamps),
            )
            run = instance.get_run_by_id(result.run_id)
            events = Counter(
                r.event_log_entry.dagster_event_type.value
                for r in records
                if r.event_log_entry.dagster_event_type is not None
            )
            rows.append(
                (
                    run.tags.get("dagster/asset_partition_range_start", "")
                    + ".."
                    + run.tags.get("dagster/asset_partition_range_end", "")
                    if run is not None and "dagster/asset_partition_range_start" in run.tags
                    else (run.tags.get("dagster/partition", "latest") if run else "?"),
                    result.success,
                    max(stamps) - min(stamps),
                    first_step - min(stamps),
                    events["ASSET_MATERIALIZATION"],
                    sum(events.values()),
                )
            )
    total = time.perf_counter() - _STARTED
    cpu = cpu_runs
    print(f"zone: {zone} ({args.messages:,} messages)")
    print(
        f"{'run':>24} {'ok':>3} {'wall s':>8} {'to 1st step s':>13} {'materializations':>16} {'events':>7}"
    )
    for label, ok, wall, before_step, materializations, events in rows:
        print(
            f"{label:>24} {'yes' if ok else 'NO':>3} {wall:>8.1f} {before_step:>13.1f} {materializations:>16} {events:>7}"
        )
    print(
        f"total {total:.1f} s from process start (target ≤ {TARGET_SECONDS:.0f} s at 1M): "
        f"imports {imported - started:.1f} s, definitions {defined - imported:.1f} s, "
        f"runs {ran - defined:.1f} s (of which before first steps "
        f"{sum(r[3] for r in rows):.1f} s); CPU s self+children {cpu:.1f} "
        f"(this process before the timed part {cpu_before:.1f})"
    )
    print(
        f"Dagster's share: before first steps {sum(r[3] for r in rows):.1f} s; storing "
        f"{event_log.events:,} events {event_log.wall_s:.1f} s wall / {event_log.cpu_s:.1f} CPU s "
        f"{'(this process only: the workers store their runs’ events) ' if args.workers > 1 else ''}"
        f"(of the runs' {ran - defined:.1f} s; imports and definitions above); the rest is the "
        "assets' work (ingestion, cleaning, sentiment, dbt, checks, metadata)"
    )
    print(f"all runs succeeded: {all(r[1] for r in rows)}; rows: {_row_counts(run_root)}")
    print(f"load average {load_start:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
