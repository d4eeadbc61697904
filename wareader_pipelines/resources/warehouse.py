"""The warehouse: where every table lives, DuckDB by default and PostgreSQL in production.

`WarehouseIOManager` stores each asset's DataFrame in the table named after the
asset, typed by the asset's `dagster/column_schema`. A partitioned asset
rewrites exactly its time window (delete then insert, one transaction), so
re-running any partition or range gives the same table. `Warehouse` is the
resource for code that needs to query the same database directly.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import pandas as pd
from dagster import (
    ConfigurableIOManager,
    ConfigurableResource,
    DagsterInvariantViolationError,
    InputContext,
    MetadataValue,
    OutputContext,
    TableSchema,
)
from pydantic import PrivateAttr

from wareader_pipelines.lib.asset_metadata import WHOLE_RUN
from wareader_pipelines.observability import telemetry
from wareader_pipelines.resources.warehouse_backend import (
    TimeWindowFilter,
    WarehouseBackend,
    columns_of,
)

SCHEMA_METADATA_KEY = "dagster/column_schema"
PARTITION_COLUMN_METADATA_KEY = "partition_expr"
ORDER_BY_METADATA_KEY = "order_by"
DEFAULT_SCHEMA = "wareader"


def backend_for(url: str, schema: str = DEFAULT_SCHEMA) -> WarehouseBackend:
    """The backend a warehouse URL names: `postgresql://...` or a DuckDB file path."""
    if url.startswith(("postgresql://", "postgres://")):
        from wareader_pipelines.resources.postgres_warehouse import PostgresBackend

        return PostgresBackend(url, schema=schema)
    from wareader_pipelines.resources.duckdb_warehouse import DuckDBBackend

    return DuckDBBackend(url.removeprefix("duckdb:///").removeprefix("duckdb://"), schema=schema)


def conform_to_schema(frame: pd.DataFrame, schema: TableSchema, table: str) -> pd.DataFrame:
    """`frame` with exactly the schema's columns, in order; unknown columns are an error.

    A column the asset forgot is filled with nulls; a column the schema does
    not declare means code and contract have drifted, which must not pass silently.
    """
    declared = columns_of(schema)
    unknown = [c for c in frame.columns if c not in declared]
    if unknown:
        raise ValueError(
            f"table {table}: columns {unknown} are not in its declared schema; "
            f"add them to wareader_pipelines/lib/tables.py"
        )
    return frame.reindex(columns=declared)


# Reads of one run kept for its later steps: a ranged run loads cleaned_messages for each of
# its checks and four downstream assets, the same window each time (see `load_input`).
READS_KEPT = 2


class WarehouseIOManager(ConfigurableIOManager):
    """Stores asset DataFrames as typed warehouse tables, partition windows replaced atomically."""

    url: str
    db_schema: str = DEFAULT_SCHEMA
    _reads: OrderedDict[tuple, pd.DataFrame] = PrivateAttr(default_factory=OrderedDict)

    def _backend(self) -> WarehouseBackend:
        return backend_for(self.url, self.db_schema)

    def handle_output(self, context: OutputContext, obj: pd.DataFrame | None) -> None:
        if obj is None:
            return
        table = context.asset_key.path[-1]
        metadata = context.definition_metadata or {}
        schema = metadata.get(SCHEMA_METADATA_KEY)
        if not isinstance(schema, TableSchema):
            raise ValueError(f"asset {table} declares no dagster/column_schema")
        frame = conform_to_schema(obj, schema, table)
        for kept in [key for key in self._reads if key[1] == table]:
            del self._reads[kept]  # the table changes: no step may get the old rows
        window = _window_of(context, metadata)
        if window is not None:
            _check_inside(frame, window, table)
        backend = self._backend()
        with telemetry.current().warehouse_write(
            table=table,
            backend=self.url.split(":", 1)[0] if "://" in self.url else "duckdb",
            rows=len(frame),
        ):
            repairs = backend.replace_rows(table, schema, frame, window)
        if repairs:
            context.log.warning(
                f"{table}: text no warehouse can store (NUL, lone surrogates) was repaired "
                f"in {sum(repairs.values())} values: {repairs}"
            )
            # Values whose NUL was removed or lone surrogates replaced, per column.
            context.add_output_metadata({"text_repairs": MetadataValue.json(repairs)})
        context.add_output_metadata(
            {
                **_row_counts(frame, window, _partition_count(context)),
                "dagster/relation_identifier": f"{self.db_schema}.{table}",
                "warehouse": MetadataValue.text(_redacted_url(self.url)),
            }
        )

    def load_input(self, context: InputContext) -> pd.DataFrame:
        upstream = context.upstream_output
        table = context.asset_key.path[-1]
        metadata = (upstream.definition_metadata if upstream else None) or {}
        window = _window_of(context, metadata)
        order_by = metadata.get(ORDER_BY_METADATA_KEY) or []
        # The same window of a table is read once per run, each step getting its own copy:
        # only this run writes its days (and a write here forgets the table's reads).
        run_id = _run_of(context)
        key = (run_id, table, window, tuple(order_by))
        frame = self._reads.get(key) if run_id is not None else None
        if frame is not None:
            self._reads.move_to_end(key)
            return frame.copy()
        backend = self._backend()
        schema = metadata.get(SCHEMA_METADATA_KEY)
        if not backend.table_exists(table):
            columns = columns_of(schema) if isinstance(schema, TableSchema) else []
            return pd.DataFrame(columns=columns)
        frame = backend.read_rows(table, window, list(order_by))
        if run_id is None:  # outside a run (a test's input context): nothing to share
            return frame
        # Kept as its first copy gives it (its columns in one block per type): each later
        # copy is then a plain copy of those blocks, where copying the frame as read would
        # gather its columns into blocks again every time.
        frame = frame.copy()
        for kept in [kept for kept in self._reads if kept[0] != run_id]:
            del self._reads[kept]
        self._reads[key] = frame
        while len(self._reads) > READS_KEPT:
            self._reads.popitem(last=False)
        return frame.copy()


def _run_of(context: InputContext) -> str | None:
    """The id of the run loading the input, or None outside a run."""
    try:
        return context.step_context.run_id
    except DagsterInvariantViolationError:
        return None


class Warehouse(ConfigurableResource):
    """Direct read access to the warehouse, for checks and reports."""

    url: str
    db_schema: str = DEFAULT_SCHEMA

    def query(self, sql: str, parameters: Sequence[object] = ()) -> pd.DataFrame:
        """The rows of a read-only query; write `{schema}` where the schema name goes."""
        return backend_for(self.url, self.db_schema).query(
            sql.format(schema=self.db_schema), parameters
        )

    def table_exists(self, table: str, *, schema: str | None = None) -> bool:
        """Whether `table` (in `schema`, else the pipeline's) has been materialized once."""
        return backend_for(self.url, schema or self.db_schema).table_exists(table)


def _window_of(
    context: InputContext | OutputContext, metadata: dict[str, object]
) -> TimeWindowFilter | None:
    if not context.has_asset_partitions:
        return None
    column = metadata.get(PARTITION_COLUMN_METADATA_KEY)
    if not isinstance(column, str):
        raise ValueError(
            f"partitioned asset {context.asset_key.to_user_string()} must declare "
            f"metadata['{PARTITION_COLUMN_METADATA_KEY}'] naming its time column"
        )
    window = context.asset_partitions_time_window
    return TimeWindowFilter(column=column, start=window.start, end=window.end)


def _partition_count(context: OutputContext) -> int:
    return len(context.asset_partition_keys) if context.has_asset_partitions else 0


def _row_counts(
    frame: pd.DataFrame, window: TimeWindowFilter | None, partitions: int
) -> dict[str, object]:
    """Row counts that are true on every partition the materialization is shown on.

    Dagster shows a ranged run's metadata on each of its days alike, so a range gets no
    `dagster/row_count` here (the UI would show the range's total as the day's): the
    asset gives each day its own count (`lib/asset_metadata.partition_figures`), and the
    range's total is named as the whole run's.
    """
    if window is None or partitions <= 1:
        return {"dagster/row_count": len(frame)}
    return {WHOLE_RUN + "rows": len(frame)}


def _check_inside(frame: pd.DataFrame, window: TimeWindowFilter, table: str) -> None:
    """Refuse rows outside the window: a later run of their own partition would double them."""
    if frame.empty:
        return
    values = pd.to_datetime(frame[window.column], utc=True)
    outside = (values < pd.Timestamp(window.start)) | (values >= pd.Timestamp(window.end))
    if outside.any():
        raise ValueError(
            f"table {table}: {int(outside.sum())} rows have {window.column} outside "
            f"[{window.start.isoformat()}, {window.end.isoformat()})"
        )


def _redacted_url(url: str) -> str:
    """The URL without its password, safe for metadata."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
