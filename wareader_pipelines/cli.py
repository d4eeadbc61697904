"""`wareader`: run the sample pipeline and print what it produced."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

import dagster as dg

from wareader_pipelines import sample_run
from wareader_pipelines.report import pipeline_report
from wareader_pipelines.resources.warehouse import Warehouse


def _definitions() -> dg.Definitions:
    from wareader_pipelines.definitions import defs

    return defs() if callable(defs) else defs


def _warehouse(definitions: dg.Definitions) -> Warehouse:
    return (definitions.resources or {})["warehouse"]


def demo(arguments: argparse.Namespace) -> int:
    """Seed the sample landing zone, run every asset over the sample month, print the report."""
    os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve()))
    sample_run.prepare_dagster_home(Path(os.environ["DAGSTER_HOME"]))
    data_dir = Path(os.environ.get("WAREADER_DATA_DIR") or "./data")
    landing = os.environ.get("WAREADER_LANDING_URI") or str(data_dir / "landing")
    if not landing.startswith("s3://"):
        copied = sample_run.seed_landing_zone(Path(landing))
        if copied:
            print(f"seeded {landing} with {copied} sample files")
    definitions = _definitions()
    with dg.DagsterInstance.get() as instance:
        results = sample_run.run_pipeline(
            definitions, instance, arguments.first_day, arguments.last_day
        )
    warehouse = _warehouse(definitions)
    print(pipeline_report(warehouse, location=str(Path(warehouse.url).resolve())))
    print(f"run history: {os.environ['DAGSTER_HOME']} (open it with `make ui`)")
    return 0 if all(result.success for result in results) else 1


def report(arguments: argparse.Namespace) -> int:
    """Print the report for whatever the warehouse holds now."""
    warehouse = _warehouse(_definitions())
    print(pipeline_report(warehouse, location=warehouse.url))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wareader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("demo", help="run the whole pipeline on the shipped sample data")
    run.add_argument("--first-day", type=date.fromisoformat, default=sample_run.SAMPLE_FIRST_DAY)
    run.add_argument("--last-day", type=date.fromisoformat, default=sample_run.SAMPLE_LAST_DAY)
    run.set_defaults(handler=demo)
    commands.add_parser("report", help="print what the warehouse holds").set_defaults(
        handler=report
    )
    arguments = parser.parse_args(argv)
    return int(arguments.handler(arguments))


if __name__ == "__main__":
    sys.exit(main())
