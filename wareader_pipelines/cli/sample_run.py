"""The README's first command: the whole pipeline over the shipped sample landing zone.

Runs go through the Dagster instance in `DAGSTER_HOME`, so a person who then
opens `dagster dev` sees every run, materialization and check that happened.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg

from wareader_pipelines.cli.backfill import run_daily_ranges
from wareader_pipelines.lib.partitions import monthly_partitions

SAMPLE_LANDING = Path(__file__).resolve().parents[2] / "sample_data" / "landing"
SAMPLE_FIRST_DAY = date(2024, 5, 1)
SAMPLE_LAST_DAY = date(2024, 5, 31)
# The sample's exports are stamped as landed on the sample month's last day, so that
# quarantine rows of files rejected whole fall inside the sample's partitions.
SAMPLE_LANDED_AT = datetime(2024, 5, 31, 12, 0, tzinfo=UTC)
# Step-by-step event logs stay in the run history (the UI shows them); the terminal gets warnings.
_QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# The first line marks the file as ours: an older copy is rewritten, a user's own never is.
DAGSTER_YAML_MARKER = "# Written by `wareader`"
DAGSTER_YAML = f"""{DAGSTER_YAML_MARKER} (local instance). Delete it to get the current defaults back;
# see dagster.yaml.example in the repository for PostgreSQL storage in production.
telemetry:
  enabled: false
# No newsletter pop-up over the first page of the UI.
nux:
  enabled: false
# Runs wait in a queue and the daemon (started by `make ui` / `dagster dev`) launches them.
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
# Dagster's SQLite event log with its connections kept open instead of one per event
# (a year-range run stores thousands of events): wareader_pipelines/lib/instance_storage.py.
event_log_storage:
  module: wareader_pipelines.lib.instance_storage
  class: KeptOpenSqliteEventLogStorage
  config:
    dagster_home:
      env: DAGSTER_HOME
concurrency:
  runs:
    # The default DuckDB warehouse takes one writing process at a time: one run at a time.
    max_concurrent_runs: 1
  pools:
    # Steps that declare a pool (`llm`, `whatsapp_cloud_api`) run one at a time per pool.
    default_limit: 1
"""


def prepare_dagster_home(home: Path) -> Path:
    """Write DAGSTER_HOME/dagster.yaml (queue of one run, telemetry and pop-up off).

    An existing file is rewritten only when this project wrote it; the path is returned.
    """
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or (_written_by_us(config) and config.read_text() != DAGSTER_YAML):
        config.write_text(DAGSTER_YAML)
    return config


def _written_by_us(config: Path) -> bool:
    return config.read_text().startswith(DAGSTER_YAML_MARKER)


def seed_landing_zone(target: Path) -> int:
    """Copy the shipped sample into an empty local landing zone; the number of files copied."""
    if target.exists() and any(target.rglob("*.*")):
        return 0
    shutil.copytree(SAMPLE_LANDING, target, dirs_exist_ok=True)
    copied = 0
    stamp = SAMPLE_LANDED_AT.timestamp()
    for path in target.rglob("*"):
        if path.is_file():
            os.utime(path, (stamp, stamp))
            copied += 1
    return copied


def run_pipeline(
    definitions: dg.Definitions,
    instance: dg.DagsterInstance,
    first_day: date,
    last_day: date,
    log: Callable[[str], None] = print,
) -> list[dg.ExecuteInProcessResult]:
    """Materialize every asset over [first_day, last_day]: daily ranges, the rest, then months.

    The days run as the ranged runs `wareader backfill` makes (a backfill's policy).
    """
    job = definitions.resolve_implicit_global_asset_job_def()
    graph = definitions.resolve_asset_graph()
    monthly_keys: list[dg.AssetKey] = []
    unpartitioned_keys: list[dg.AssetKey] = []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        if node.partitions_def == monthly_partitions:
            monthly_keys.append(key)
        elif node.partitions_def is None:
            unpartitioned_keys.append(key)
    results = run_daily_ranges(
        definitions, instance, first_day, last_day, run_config=_QUIET_RUN_CONFIG, log=log
    )
    months = monthly_partitions.get_partition_keys_in_range(
        dg.PartitionKeyRange(
            monthly_partitions.get_partition_key_for_timestamp(
                datetime.combine(first_day, datetime.min.time(), UTC).timestamp()
            ),
            monthly_partitions.get_partition_key_for_timestamp(
                datetime.combine(last_day, datetime.min.time(), UTC).timestamp()
            ),
        )
    )
    # the whole-table marts before the months: the monthly reports read them
    runs = [(unpartitioned_keys, None)] + [(monthly_keys, month) for month in months]
    for selection, partition_key in runs:
        if not selection:
            continue
        label = "monthly" if partition_key else "unpartitioned"
        log(f"running {len(selection)} {label} assets for {partition_key or 'latest'} ...")
        result = job.execute_in_process(
            run_config=_QUIET_RUN_CONFIG,
            instance=instance,
            asset_selection=selection,
            partition_key=partition_key,
            raise_on_error=False,
        )
        results.append(result)
        log(f"  run {result.run_id[:8]}: {'succeeded' if result.success else 'FAILED'}")
    return results
