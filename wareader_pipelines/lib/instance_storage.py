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
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster import StringSource
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

# Engines (each with one open SQLite connection) kept per process: the index
# shard and the shards of the last few runs this process wrote or read.
_ENGINES_KEPT = 8
# pysqlite's busy timeout, as Dagster's own SQLite storages set it (dagster._core.storage.sqlite).
_BUSY_TIMEOUT_SECONDS = 30


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
