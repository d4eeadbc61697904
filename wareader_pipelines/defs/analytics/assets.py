"""The analysts' layer: dbt models as Dagster assets downstream of the Python tables.

Incremental marts (fct_messages, daily_conversation_metrics) are partitioned by
UTC day like the tables they read: a partition or range passes its window to dbt
in the environment (`WAREADER_DBT_MIN_SENT_AT` / `WAREADER_DBT_MAX_SENT_AT`, read
where vars `min_sent_at` / `max_sent_at` are otherwise), and the models rebuild those days and the session gap
after them, whose reply times read them (dbt/macros/window.sql). The
staging views and the dimension tables are unpartitioned and rebuilt whole. dbt
tests appear as asset checks on the models they test.
"""

import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from wareader_pipelines.defs.analytics.project import dbt_project
from wareader_pipelines.lib.freshness import NIGHTLY_FRESHNESS
from wareader_pipelines.lib.partitions import DAILY_BACKFILL_POLICY, daily_partitions
from wareader_pipelines.resources.duckdb_warehouse import DuckDBBackend, warehouse_turn
from wareader_pipelines.resources.warehouse import Warehouse, backend_for

GROUP = "analytics"
INCREMENTAL = "config.materialized:incremental"
# dbt's tests on its sources (the Python tables) stay runnable with `dbt build`, but Dagster
# leaves them out: the same rules are those tables' own asset checks, and a source test run
# here could only be logged as an observation (with a warning) on an asset this op does not own.
SOURCES = "source:*"
# The window of a ranged build, read by dbt/macros/window.sql when the models run.
WINDOW_START_ENV = "WAREADER_DBT_MIN_SENT_AT"
WINDOW_END_ENV = "WAREADER_DBT_MAX_SENT_AT"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# The last parsed projects, one per warehouse (dbt's profile holds the warehouse's path), in
# target/PARSES_BY_WAREHOUSE: tests and `make install` parse for other paths than a backfill's.
# One `make test` builds for ~30 temporary warehouses; ~1 MB each.
PARSES_BY_WAREHOUSE = "parsed_by_warehouse"
PARSES_KEPT = 64
# Each dbt invocation writes its manifest, run results and compiled SQL (~3 MB) to its own
# folder in target/, named as dagster-dbt names them; dagster-dbt never removes them (a 1M
# backfill leaves ~40), so only the newest INVOCATIONS_KEPT are kept, for debugging.
INVOCATIONS_KEPT = 50
_INVOCATION_FOLDER = re.compile(r"\w+-[0-9a-f]{7}-[0-9a-f]{7}")


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
def analytics_daily_marts(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
) -> Iterator[Any]:
    """Builds and tests the incremental marts for the run's days, and only those."""
    window = context.partition_time_window
    # The window goes to dbt in the environment, not --vars (see dbt/macros/window.sql): a
    # change of --vars makes dbt parse the whole project again, each run a few seconds.
    window_env = {
        WINDOW_START_ENV: window.start.isoformat(),
        WINDOW_END_ENV: window.end.isoformat(),
    }
    # cautious: only tests whose every parent is built here. The dimensions' relationship
    # tests on fct_messages run with the dimensions, which may not exist yet on a first run.
    args = ["build", "--indirect-selection", "cautious"]
    yield from _build_with_table_metadata(context, dbt, warehouse, args, window_env)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=f"{INCREMENTAL} {SOURCES}",
    dagster_dbt_translator=TRANSLATOR,
    name="analytics_models",
)
def analytics_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
) -> Iterator[Any]:
    """Builds and tests the staging views and the dimension tables over all history."""
    yield from _build_with_table_metadata(context, dbt, warehouse, ["build"], {})


def _build_with_table_metadata(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    args: list[str],
    window_env: Mapping[str, str],
) -> Iterator[Any]:
    """Runs dbt (with `window_env` in its environment), then gives each built table its row
    count and column types in the UI.

    dbt's events are held until dbt exits: DuckDB lets one process hold the file, so
    the figures are read (through the warehouse resource, whose connections close after
    each query) only once dbt has let go of it. A failed build still reports what it
    built before raising dbt's error.
    """
    project_dir = Path(dbt.project_dir)
    name = f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
    target = project_dir / "target" / name
    start_from_parsed_project(target, project_dir, warehouse.url)
    with _warehouse_turn(warehouse):
        with _environment(window_env):  # dagster-dbt gives dbt a copy of os.environ
            invocation = dbt.cli(args, context=context, raise_on_error=False, target_path=target)
        events = list(invocation.stream())
    keep_parsed_project(invocation.target_path, project_dir, warehouse.url)
    prune_invocation_targets(project_dir)
    nodes = invocation.manifest["nodes"]
    for event in events:
        if isinstance(event, dg.Output) and "unique_id" in event.metadata:
            node = nodes.get(str(event.metadata["unique_id"].value), {})
            materialized = node.get("config", {}).get("materialized")
            if materialized in {"table", "incremental"}:
                figures = _table_metadata(warehouse, node)
                if materialized == "incremental":
                    # The whole table, not the day the UI would show a row count on.
                    figures["rows_in_table"] = figures.pop("dagster/row_count")
                event = event.with_metadata({**event.metadata, **figures})
        yield event
    error = invocation.get_error()
    if error is not None:
        raise error


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in os.environ (for a subprocess started meanwhile), and the window
    variables absent otherwise: a build without a window must not inherit one."""
    saved = {name: os.environ.get(name) for name in (WINDOW_START_ENV, WINDOW_END_ENV, *values)}
    for name in (WINDOW_START_ENV, WINDOW_END_ENV):
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _parse_for(project_dir: Path, warehouse_url: str) -> Path:
    """Where the last project parsed for `warehouse_url` is kept."""
    key = hashlib.sha256(warehouse_url.encode()).hexdigest()[:16]
    return project_dir / "target" / PARSES_BY_WAREHOUSE / f"{key}.msgpack"


def start_from_parsed_project(
    invocation_target: Path, project_dir: Path, warehouse_url: str
) -> None:
    """Give a new invocation the project last parsed for its warehouse, if one was kept.

    dagster-dbt copies `target/partial_parse.msgpack` into an invocation's target only when
    the target holds none, and that file is the one of the latest invocation, whatever its
    warehouse: after the tests or `make install` (other paths) the next backfill's first
    build parsed the whole project again. dbt still checks the fit itself (its version, the
    profile, vars, every file's hash) and parses what changed, so a parse kept from before
    a code change is never used as it was.
    """
    kept = _parse_for(project_dir, warehouse_url)
    try:
        invocation_target.mkdir(parents=True, exist_ok=True)
        (invocation_target / PARTIAL_PARSE_FILE).write_bytes(kept.read_bytes())
    except OSError:
        pass  # none kept (or unreadable): dagster-dbt's copy of the shared file, as before


def keep_parsed_project(
    invocation_target: Path, project_dir: Path, warehouse_url: str | None = None
) -> None:
    """Make the project dbt just parsed (its `partial_parse.msgpack`) the one the next
    invocation starts from.

    dagster-dbt copies `target/partial_parse.msgpack` into each invocation's own target
    folder, and `make install` writes that file for the default warehouse path; dbt
    parses the whole project again when the profile (the warehouse path) differs from the
    one the file was written with. The latest invocation's file fits the warehouse the
    next one most likely uses; dbt checks the fit itself (profile, vars, file hashes) and
    parses anew when it does not, so a wrong guess costs only that parse. With
    `warehouse_url` the file is also kept as that warehouse's (the last `PARSES_KEPT`
    warehouses' are; `start_from_parsed_project`). Replaced atomically; a read-only
    project keeps its files.
    """
    parsed = invocation_target / PARTIAL_PARSE_FILE
    shared = project_dir / "target" / PARTIAL_PARSE_FILE
    if not parsed.is_file() or parsed.resolve() == shared.resolve():
        return
    _replace(shared, parsed)
    if warehouse_url is not None:
        kept = _parse_for(project_dir, warehouse_url)
        _replace(kept, parsed)
        others = sorted(kept.parent.glob("*.msgpack"), key=_modified, reverse=True)
        for old in others[PARSES_KEPT:]:
            old.unlink(missing_ok=True)


def prune_invocation_targets(project_dir: Path, kept: int = INVOCATIONS_KEPT) -> None:
    """Remove all but the newest `kept` invocation folders of `project_dir`'s target/ (the
    running invocations are the newest); other files and folders there are left alone."""
    try:
        folders = [
            path
            for path in (project_dir / "target").iterdir()
            if _INVOCATION_FOLDER.fullmatch(path.name) and path.is_dir()
        ]
    except OSError:
        return
    folders.sort(key=_modified, reverse=True)
    for old in folders[kept:]:
        shutil.rmtree(old, ignore_errors=True)  # another process may be removing it too


def _modified(path: Path) -> float:
    """`path`'s modification time, or 0 when it is gone."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _replace(destination: Path, source: Path) -> None:
    """`destination` replaced atomically by a copy of `source`; left as it was on an error."""
    copy = None
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as copy:
            copy.write(source.read_bytes())
        os.replace(copy.name, destination)
    except OSError:
        if copy is not None:
            Path(copy.name).unlink(missing_ok=True)


def _warehouse_turn(warehouse: Warehouse) -> AbstractContextManager[None]:
    """The DuckDB warehouse's turn for the length of a dbt invocation (dbt-duckdb fails
    at once when another process holds the file); PostgreSQL needs none."""
    backend = backend_for(warehouse.url, warehouse.db_schema)
    if isinstance(backend, DuckDBBackend):
        return warehouse_turn(backend.path)
    return nullcontext()


def _table_metadata(warehouse: Warehouse, node: Mapping[str, Any]) -> dict[str, Any]:
    """Row count and column types of a built dbt table, as Dagster's table metadata."""
    schema = str(node["schema"]).replace("'", "''")
    name = str(node.get("alias") or node["name"]).replace("'", "''")
    count = warehouse.query(f'SELECT count(*) AS n FROM "{schema}"."{name}"')
    columns = warehouse.query(
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = '{schema}' AND table_name = '{name}' ORDER BY ordinal_position"
    )
    return {
        "dagster/row_count": int(count["n"].iloc[0]),
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn(name=str(row.column_name), type=str(row.data_type))
                for row in columns.itertuples()
            ]
        ),
    }
