"""`wareader`: run the sample pipeline, publish the analysts' read copy, query it."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from wareader_pipelines.cli import sample_run
from wareader_pipelines.cli.backfill import (
    RangedRun,
    daily_asset_keys,
    failure_line,
    run_daily_ranges,
    submit_daily_backfill,
)
from wareader_pipelines.cli.quick_sql import read_copy_path, run_query
from wareader_pipelines.cli.report import pipeline_report
from wareader_pipelines.resources.configuration import cheap_problems, server_problems
from wareader_pipelines.resources.duckdb_read_copy import publish_read_copy
from wareader_pipelines.resources.warehouse import Warehouse


def _definitions() -> dg.Definitions:
    from wareader_pipelines.definitions import defs

    return defs()


@contextmanager
def _resource(definitions: dg.Definitions, key: str) -> Iterator[Any]:
    """The bound resource with its config resolved (EnvVar values read), as a run would see it."""
    with (definitions.resources or {})[key].process_config_and_initialize_cm() as resource:
        yield resource


def _read_copy_path(warehouse: Warehouse) -> Path | None:
    """Where the analysts' copy goes, or None when the warehouse is not a DuckDB file."""
    return read_copy_path(warehouse.url)


def demo(arguments: argparse.Namespace) -> int:
    """Seed the sample landing zone, run every asset over the sample month, print the report."""
    if _print_problems():
        return 2
    os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve()))
    sample_run.prepare_dagster_home(Path(os.environ["DAGSTER_HOME"]))
    definitions = _definitions()
    with _resource(definitions, "landing_zone") as landing_zone:
        if os.environ.get("WAREADER_LANDING_URI"):
            # A landing zone someone configured holds their data: never mix the sample in.
            print(f"using the configured landing zone {landing_zone.uri} (no sample copied)")
        elif not landing_zone.is_s3:
            copied = sample_run.seed_landing_zone(Path(landing_zone.uri))
            if copied:
                print(f"seeded {landing_zone.uri} with {copied} sample files")
    with dg.DagsterInstance.get() as instance:
        results = sample_run.run_pipeline(
            definitions, instance, arguments.first_day, arguments.last_day
        )
    with _resource(definitions, "warehouse") as warehouse:
        read_copy = _read_copy_path(warehouse)
        if read_copy is not None:
            publish_read_copy(Path(warehouse.url), read_copy)
        location = str(read_copy) if read_copy else "the PostgreSQL warehouse"
        print(pipeline_report(warehouse, location=location))
    print(f"run history: {os.environ['DAGSTER_HOME']} (browse it with `make ui`)")
    return _finish(results)


def _print_problems() -> bool:
    """Print the configuration's cheap problems, one line each; whether there were any."""
    problems = cheap_problems()
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return bool(problems)


def _finish(results: Sequence[dg.ExecuteInProcessResult | RangedRun]) -> int:
    """The last line says how many runs failed; the exit status says whether any did."""
    failed = failure_line(results)
    print(failed or f"all {len(results)} runs succeeded")
    return 1 if failed else 0


def backfill(arguments: argparse.Namespace) -> int:
    """Materialize the daily assets over --from..--to as ranged runs (now, or via the daemon)."""
    if _print_problems():
        return 2
    home = Path(os.environ.get("DAGSTER_HOME") or ".dagster_home").resolve()
    os.environ["DAGSTER_HOME"] = str(home)
    sample_run.prepare_dagster_home(home)
    definitions = _definitions()
    try:
        keys = daily_asset_keys(definitions, arguments.select)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    with dg.DagsterInstance.get() as instance:
        if arguments.queue:
            backfill_id = submit_daily_backfill(
                definitions, instance, arguments.first, arguments.last, selection=keys
            )
            print(
                f"backfill {backfill_id} queued: the daemon (`make ui`) runs it as ranged runs; "
                "follow it under Overview -> Backfills"
            )
            return 0
        results = run_daily_ranges(
            definitions,
            instance,
            arguments.first,
            arguments.last,
            selection=keys,
            workers=arguments.workers,
        )
    return _finish(results)


def doctor(arguments: argparse.Namespace) -> int:
    """Check the configuration and the servers it names; one line per problem, with the fix."""
    problems = cheap_problems() + server_problems()
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if problems:
        print(f"{len(problems)} problem(s): fix them, then run `wareader doctor` again")
        return 1
    print(
        "configuration OK: time zone, LLM provider and key, history start, landing zone "
        "and warehouse checked"
    )
    return 0


def init(arguments: argparse.Namespace) -> int:
    """Write the local instance's dagster.yaml (run queue of one, no pop-up) into DAGSTER_HOME."""
    home = Path(os.environ.get("DAGSTER_HOME") or ".dagster_home").resolve()
    print(f"instance config: {sample_run.prepare_dagster_home(home)}")
    return 0


def report(arguments: argparse.Namespace) -> int:
    """Print the report for whatever the warehouse holds now."""
    with _resource(_definitions(), "warehouse") as warehouse:
        read_copy = _read_copy_path(warehouse)
        print(pipeline_report(warehouse, location=str(read_copy or "the PostgreSQL warehouse")))
    return 0


def snapshot(arguments: argparse.Namespace) -> int:
    """Refresh the analysts' read copy of the DuckDB warehouse."""
    with _resource(_definitions(), "warehouse") as warehouse:
        read_copy = _read_copy_path(warehouse)
        if read_copy is None:
            print("the warehouse is PostgreSQL: query it directly, no copy is needed")
            return 0
        print(publish_read_copy(Path(warehouse.url), read_copy))
    return 0


def sql(arguments: argparse.Namespace) -> int:
    """Run one query against the analysts' read copy and print the result (quick_sql.py)."""
    return run_query(arguments.query)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wareader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("demo", help="run the whole pipeline on the shipped sample data")
    run.add_argument("--first-day", type=date.fromisoformat, default=sample_run.SAMPLE_FIRST_DAY)
    run.add_argument("--last-day", type=date.fromisoformat, default=sample_run.SAMPLE_LAST_DAY)
    run.set_defaults(handler=demo)
    ranged = commands.add_parser(
        "backfill",
        help="materialize the daily assets over a range of days as ranged runs",
        description=(
            "Runs the days as ranged runs of up to 92 days, in this process (no daemon "
            "needed), recorded in DAGSTER_HOME; --queue files the same backfill the UI does "
            "and leaves it to the daemon."
        ),
    )
    ranged.add_argument("--from", dest="first", type=date.fromisoformat, required=True)
    ranged.add_argument("--to", dest="last", type=date.fromisoformat, required=True)
    ranged.add_argument(
        "--select",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        help="comma list of daily assets (default: all of them), e.g. raw_messages",
    )
    ranged.add_argument(
        "--queue", action="store_true", help="file it for the daemon instead of running it now"
    )
    ranged.add_argument(
        "--workers",
        type=int,
        default=1,
        help=(
            "worker processes running the days at once (2 uses both cores of a small machine; "
            "the tables are the same as with 1)"
        ),
    )
    ranged.set_defaults(handler=backfill)
    commands.add_parser(
        "doctor", help="check the configuration before any work starts"
    ).set_defaults(handler=doctor)
    commands.add_parser(
        "init", help="write DAGSTER_HOME/dagster.yaml for the local instance"
    ).set_defaults(handler=init)
    commands.add_parser("report", help="print what the warehouse holds").set_defaults(
        handler=report
    )
    commands.add_parser("snapshot", help="refresh the analysts' read copy").set_defaults(
        handler=snapshot
    )
    query = commands.add_parser("sql", help="query the analysts' read copy")
    query.add_argument("query")
    query.set_defaults(handler=sql)
    arguments = parser.parse_args(argv)
    return int(arguments.handler(arguments))


if __name__ == "__main__":
    sys.exit(main())
