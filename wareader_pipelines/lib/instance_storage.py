"""The local Dagster instance's event log: Dagster's SQLite storage with connections kept open.

Dagster's `SqliteEventLogStorage` opens a new SQLAlchemy engine and SQLite
connection for every event and closes it again. In WAL mode each close of the
last connection checkpoints the log into the database and deletes the WAL file,
so every event costs several fsyncs and a file create/delete: a ranged run over a
year stores 1,464 materializations, and measured on this project's shared disk the
opening, committing and closing took most of the run (benchmarks/README.md,
"Issue 13"). This subclass keeps one engine per database file for the life of the
process (a small LRU: run shards come and go, the index stays) and sets
`synchronous=NORMAL`, SQLite's documented setting for WAL mode: a commit is
durable against a crash of the process, and only the last commits before a power
loss or kernel crash can be lost (never the database's integrity). That is the
right trade for the local instance; production keeps its event log in
PostgreSQL (dagster.yaml.example).

Dagster's webserver follows a live run by watching its `<run_id>.db` file for
modifications; with the connection kept open a commit writes only to the
`-wal` file, so after each write to a run's shard its `.db` file's mtime is
touched to keep the live log in the UI moving as before.

Dagster hands a storage whole batches of asset events (the per-partition
materializations of one output, the planned events of a new run) when
`DAGSTER_EVENT_BATCH_SIZE` is set, and its SQLite storage then still writes them
one by one. `store_event_batch` here writes a batch the way Dagster's PostgreSQL
storage does: one multi-row insert per shard in one transaction, the tags in one
statement, and the asset's row in the asset-key table updated once with the
batch's last event (each event would overwrite the same columns). Dagster reads
the batch size from the environment of the process that stores the events; this
storage is built in every such process of the instance (webserver, daemon, run
worker), so it switches batching on there unless the environment already sets it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster import DagsterEventType, StringSource
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluation,
    AssetCheckEvaluationPlanned,
)
from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    SqlEventLogStorageTable,
)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME
from dagster._serdes import ConfigurableClassData, serialize_value
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

# Engines (each with one open SQLite connection) kept per process: the index
# shard and the shards of the last few runs this process wrote or read.
_ENGINES_KEPT = 8
# pysqlite's busy timeout, as Dagster's own SQLite storages set it (dagster._core.storage.sqlite).
_BUSY_TIMEOUT_SECONDS = 30
# Dagster's switch for batched event writes (dagster._core.instance.utils), and the batch
# size set when the environment leaves it unset: a year of daily partitions is one batch.
EVENT_BATCH_SIZE_VARIABLE = "DAGSTER_EVENT_BATCH_SIZE"
DEFAULT_EVENT_BATCH_SIZE = 1000
# The asset events this storage writes as one batch (Dagster's own batches hold only these,
# plus planned checks, which go one by one as in Dagster's storage).
_BATCHED_TYPES = frozenset(
    {
        DagsterEventType.ASSET_MATERIALIZATION,
        DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        DagsterEventType.ASSET_OBSERVATION,
    }
)


def _events_folder(dagster_home: str) -> str:
    """Where Dagster's default SQLite storage keeps run shards: DAGSTER_HOME/history/runs."""
    return os.path.join(dagster_home, "history", "runs", "")


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log (same files and layout), one open connection per shard.

    Configured in dagster.yaml with `dagster_home` (usually `env: DAGSTER_HOME`):
    the shards live where Dagster's default storage keeps them, so an instance can
    switch to and from this class without losing its history.
    """

    def __init__(self, dagster_home: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        self._dagster_home = dagster_home
        self._tables_present: set[str] = set()
        self._asset_key_columns_present: set[str] = set()
        super().__init__(base_dir=_events_folder(dagster_home), inst_data=inst_data)
        os.environ.setdefault(EVENT_BATCH_SIZE_VARIABLE, str(DEFAULT_EVENT_BATCH_SIZE))

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> KeptOpenSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine_for(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                sqlite = conn.connection.dbapi_connection
                changes = sqlite.total_changes  # type: ignore[union-attr]
                with conn.begin():
                    yield conn
                wrote = sqlite.total_changes != changes  # type: ignore[union-attr]
            if wrote and shard != INDEX_SHARD_NAME:
                # the webserver's watchdog follows `<run_id>.db`, not its -wal file
                os.utime(self.path_for_shard(shard))

    def _engine_for(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is not None:
                self._engines.move_to_end(shard)
                return engine
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=QueuePool,
                pool_size=1,
                max_overflow=4,
                connect_args={"timeout": _BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            db.event.listen(engine, "connect", _on_connect)
            self._engines[shard] = engine
            while len(self._engines) > _ENGINES_KEPT:
                _, evicted = self._engines.popitem(last=False)
                evicted.dispose()
            return engine

    def has_table(self, table_name: str) -> bool:
        """Whether the index shard has `table_name`, on the kept connection; a yes is cached.

        Dagster asks this for every asset event (to know whether the tags table exists)
        and, in its own storage, builds a new engine to answer it.
        """
        if table_name in self._tables_present:
            return True
        # not index_connection(): Dagster asks while it holds that (non-reentrant) lock
        with self._engine_for(INDEX_SHARD_NAME).connect() as conn:
            present = bool(conn.dialect.has_table(conn, table_name))
        if present:
            self._tables_present.add(table_name)
        return present

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        """Dagster reflects the asset-key table's columns for every asset event; a yes is cached
        (columns are only ever added, by `dagster instance migrate`)."""
        if column_name in self._asset_key_columns_present:
            return True
        present = super()._has_asset_key_col_on_connection(conn, column_name)
        if present:
            self._asset_key_columns_present.add(column_name)
        return present

    def store_event(self, event: EventLogEntry) -> None:
        """Dagster's `store_event`; a run's check evaluation is written as `_store_check_evaluation`
        says, every other event as Dagster writes it."""
        if event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION and event.run_id:
            self._store_check_evaluation(event)
        else:
            super().store_event(event)

    def _store_check_evaluation(self, event: EventLogEntry) -> None:
        """The rows Dagster's SQLite storage writes for a check evaluation of a run, written with
        the event serialized once (Dagster serializes it twice) and the index shard's two
        writes (the mirrored event, the check's execution row) in one transaction, not two.

        A ranged run stores one evaluation per check and day (lib/asset_checks.py): 4,773 in
        an empty year run. The execution row the run's planned event made for this partition
        is updated, or one is inserted when none was planned, as Dagster does.
        """
        evaluation = event.get_dagster_event().event_specific_data
        assert isinstance(evaluation, AssetCheckEvaluation)
        row = self._event_to_row(event)
        with self.run_connection(event.run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), row)
        status = (
            AssetCheckExecutionRecordStatus.SUCCEEDED
            if evaluation.passed
            else AssetCheckExecutionRecordStatus.FAILED
        )
        values = {
            "execution_status": status.value,
            "evaluation_event": row["event"],
            "evaluation_event_timestamp": row["timestamp"],
            "materialization_event_storage_id": (
                evaluation.target_materialization_data.storage_id
                if evaluation.target_materialization_data
                else None
            ),
            "partition": evaluation.partition,
        }
        executions = AssetCheckExecutionsTable.c
        with self.index_transaction() as conn:
            event_id = conn.execute(SqlEventLogStorageTable.insert(), row).inserted_primary_key[0]
            updated = conn.execute(
                AssetCheckExecutionsTable.update()
                .where(
                    executions.asset_key == evaluation.asset_key.to_string(),
                    executions.check_name == evaluation.check_name,
                    executions.run_id == event.run_id,
                    executions.partition.is_(None)
                    if evaluation.partition is None
                    else executions.partition == evaluation.partition,
                )
                .values(evaluation_event_storage_id=event_id, **values)
            ).rowcount
            if updated == 0:
                conn.execute(
                    AssetCheckExecutionsTable.insert().values(
                        asset_key=evaluation.asset_key.to_string(),
                        check_name=evaluation.check_name,
                        run_id=event.run_id,
                        evaluation_event_storage_id=event_id,
                        **values,
                    )
                )
            elif updated > 1:
                raise DagsterInvariantViolationError(
                    f"Updated {updated} rows for asset check evaluation "
                    f"{evaluation.asset_check_key} as a result of duplicate AssetCheckPlanned events."
                )

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Store Dagster's batch of asset events of one run: one transaction per shard.

        The rows are the ones `store_event` would write, in the same order; consecutive
        events of another kind (planned checks) go through `store_event` one by one.
        """
        pending: list[EventLogEntry] = []
        for event in events:
            if event.dagster_event_type in _BATCHED_TYPES and (
                not pending or pending[0].run_id == event.run_id
            ):
                pending.append(event)
                continue
            self._store_asset_events(pending)
            pending = []
            if event.dagster_event_type in _BATCHED_TYPES:
                pending.append(event)
            else:
                self.store_event(event)
        self._store_asset_events(pending)

    def _store_asset_events(self, events: Sequence[EventLogEntry]) -> None:
        if len(events) <= 1:
            for event in events:
                self.store_event(event)
            return
        rows = [self._event_to_row(event) for event in events]  # each event serialized once
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        # The index shard mirrors asset events; their ids there are the storage ids.
        insert = SqlEventLogStorageTable.insert().returning(
            SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
        )
        with self.index_transaction() as conn:
            event_ids = [int(row[0]) for row in conn.execute(insert, rows)]
            self._store_asset_event_tags(conn, events, event_ids)
            last_of_asset: dict[str, tuple[EventLogEntry, int]] = {}
            for event, event_id in zip(events, event_ids, strict=True):
                asset_key = event.get_dagster_event().asset_key
                if asset_key is not None:
                    last_of_asset[asset_key.to_string()] = (event, event_id)
            for event, event_id in last_of_asset.values():
                self._store_asset_event(conn, event, event_id)

    def _store_asset_check_evaluation_planned(
        self, event: EventLogEntry, event_id: int | None
    ) -> None:
        """Dagster's rows for a planned check, one per partition, with the event serialized once
        (Dagster serializes it again for each of the range's partitions)."""
        planned = event.get_dagster_event().event_specific_data
        assert isinstance(planned, AssetCheckEvaluationPlanned)
        partition_keys = (
            planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        )
        serialized = serialize_value(event)
        timestamp = self._event_insert_timestamp(event)
        with self.index_connection() as conn:
            conn.execute(
                AssetCheckExecutionsTable.insert(),
                [
                    {
                        "asset_key": planned.asset_key.to_string(),
                        "check_name": planned.check_name,
                        "partition": partition_key,
                        "run_id": event.run_id,
                        "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
                        "evaluation_event": serialized,
                        "evaluation_event_timestamp": timestamp,
                        "evaluation_event_storage_id": event_id,
                    }
                    for partition_key in partition_keys
                ],
            )

    def dispose(self) -> None:
        """Close the kept connections (and stop the file watcher, as Dagster's does)."""
        with self._engines_lock:
            engines, self._engines = list(self._engines.values()), OrderedDict()
        for engine in engines:
            engine.dispose()
        super().dispose()


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
