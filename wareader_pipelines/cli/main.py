"""`wareader`: run the sample pipeline, publish the analysts' read copy, query it."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from wareader_pipelines.cli import sample_run
from wareader_pipelines.cli.report import pipeline_report
from wareader_pipelines.resources.duckdb_read_copy import publish_read_copy
from wareader_pipelines.resources.warehouse import Warehouse

READ_COPY_NAME = "analytics.duckdb"


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
    if warehouse.url.startswith(("postgresql://", "postgres://")):
        return None
    return Path(warehouse.url).resolve().with_name(READ_COPY_NAME)


def demo(arguments: argparse.Namespace) -> int:
    """Seed the sample landing zone, run every asset over the sample month, print the report."""
    os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve()))
    sample_run.prepare_dagster_home(Path(os.environ["DAGSTER_HOME"]))
    definitions = _definitions()
    with _resource(definitions, "landing_zone") as landing_zone:
        if not landing_zone.is_s3:
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
    return 0 if all(result.success for result in results) else 1


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
    """Run one query against the analysts' read copy and print the result."""
    with _resource(_definitions(), "warehouse") as warehouse:
        read_copy = _read_copy_path(warehouse)
    if read_copy is None or not read_copy.exists():
        print("no read copy yet: run `wareader demo` or `wareader snapshot` first")
        return 1
    with duckdb.connect(str(read_copy), read_only=True) as connection:
        connection.sql(arguments.query).show(max_rows=50)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wareader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("demo", help="run the whole pipeline on the shipped sample data")
    run.add_argument("--first-day", type=date.fromisoformat, default=sample_run.SAMPLE_FIRST_DAY)
    run.add_argument("--last-day", type=date.fromisoformat, default=sample_run.SAMPLE_LAST_DAY)
    run.set_defaults(handler=demo)
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
