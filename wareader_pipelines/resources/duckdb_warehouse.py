"""DuckDB backend of the warehouse: the embedded default, one file on disk.

DuckDB lets one process hold the file while it writes, so every call opens a
connection, does its work in one transaction and closes it: write windows stay
short, and a lock held by another process is retried for a while, then fails
naming the holder and pointing to the analysts' copy or PostgreSQL.

The pipeline's own processes (two ranged runs of a parallel backfill, a dbt
invocation) take turns through `warehouse_turn`, an advisory lock on a file
beside the warehouse, before they open it: DuckDB's own lock only refuses, and
dbt-duckdb does not retry, so without the turn a dbt build would fail whenever
the other run happened to be writing.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from dagster import TableSchema

from wareader_pipelines.resources.warehouse_backend import (
    TimeWindowFilter,
    columns_of,
    quoted,
    storable_frame,
    table_ddl,
)

LOCK_RETRY_SECONDS = 60.0
_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class _Turn:
    """This process's hold on one warehouse's turn file: taken by the first user, given back
    by the last (threads and nested users of one process share it; DuckDB allows one process
    many connections to a file)."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.users = 0
        self.descriptor: int | None = None


_TURNS: dict[str, _Turn] = {}
_TURNS_GUARD = threading.Lock()


def turn_file(path: str) -> Path:
    """The advisory lock file of the DuckDB warehouse at `path` (beside it, never inside)."""
    warehouse = Path(path)
    return warehouse.with_name(f".{warehouse.name}.turn")


@contextmanager
def warehouse_turn(path: str, *, wait_seconds: float = LOCK_RETRY_SECONDS * 5) -> Iterator[None]:
    """Wait until no other pipeline process uses the DuckDB file at `path`, and hold it.

    An exclusive `flock` on `turn_file(path)`, taken before DuckDB opens the file: the
    other process waits here instead of failing on DuckDB's lock. Re-entrant within a
    process. A holder that dies gives the turn back with its file descriptor.
    """
    key = os.path.abspath(path)
    with _TURNS_GUARD:
        turn = _TURNS.setdefault(key, _Turn())
    with turn.guard:
        if turn.users == 0:
            lock_path = turn_file(key)
            try:
                lock_path.parent.mkdir(parents=True, exist_ok=True)
                descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:  # a read-only place: nothing of ours writes there to take turns with
                descriptor = None
            started = time.monotonic()
            delay = 0.01
            while descriptor is not None:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() - started > wait_seconds:
                        os.close(descriptor)
                        raise WarehouseLocked(
                            f"the DuckDB warehouse {path} stayed in use by another pipeline "
                            f"process for {wait_seconds:.0f} s ({lock_path})"
                        ) from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.2)
            turn.descriptor = descriptor
        turn.users += 1
    try:
        yield
    finally:
        with turn.guard:
            turn.users -= 1
            if turn.users == 0 and turn.descriptor is not None:
                os.close(turn.descriptor)  # closing the descriptor releases the flock
                turn.descriptor = None


class WarehouseLocked(RuntimeError):
    """Another process holds the DuckDB warehouse file; the message says who and what to do."""


def lock_message(path: str, error: Exception, waited: float) -> str:
    """What holds the warehouse file and what to do instead, from DuckDB's lock error."""
    found = _HOLDER.search(str(error))
    holder = "another process"
    if found is not None:
        pid = found["pid"]
        try:  # the short process name only: a command line may carry secrets
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            name = Path(found["program"]).name
        holder = f"process {pid} ({name}, {found['program']})"
    return (
        f"the DuckDB warehouse {path} is held by {holder}; waited {waited:.0f} s. DuckDB lets "
        "one process hold the file while it writes, so no other session may open it, not even "
        "read-only. Close that session. To query while the pipeline runs, open the analysts' "
        "copy (data/analytics.duckdb: `wareader sql`, refreshed by `wareader snapshot`), or "
        "run the warehouse on PostgreSQL (WAREADER_WAREHOUSE_URL=postgresql://...), where "
        "readers never block the pipeline."
    )


class DuckDBBackend:
    """Tables in a DuckDB file, under one schema."""

    def __init__(self, path: str, schema: str) -> None:
        self.path = path
        self.schema = schema

    @contextmanager
    def _connection(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with warehouse_turn(self.path):
            started = time.monotonic()
            deadline = started + LOCK_RETRY_SECONDS
            delay = 0.05
            while True:
                try:
                    connection = duckdb.connect(
                        self.path, read_only=read_only and Path(self.path).exists()
                    )
                    break
                except duckdb.IOException as error:
                    if "lock" not in str(error).lower():
                        raise
                    if time.monotonic() > deadline:
                        waited = time.monotonic() - started
                        raise WarehouseLocked(lock_message(self.path, error, waited)) from error
                    time.sleep(delay)
                    delay = min(delay * 2, 2.0)
            try:
                connection.execute("SET TimeZone = 'UTC'")
                yield connection
            finally:
                connection.close()

    def _name(self, table: str) -> str:
        return f"{quoted(self.schema)}.{quoted(table)}"

    def _ensure_table(
        self, connection: duckdb.DuckDBPyConnection, table: str, schema: TableSchema
    ) -> None:
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted(self.schema)}")
        existing = {
            row[0]
            for row in connection.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ?",
                [self.schema, table],
            ).fetchall()
        }
        for statement in table_ddl(self._name(table), schema, existing):
            connection.execute(statement)

    def replace_rows(
        self,
        table: str,
        schema: TableSchema,
        frame: pd.DataFrame,
        window: TimeWindowFilter | None,
    ) -> dict[str, int]:
        rows = _storable_arrow(frame)
        if rows is None:  # something to repair, or a column Arrow cannot type
            frame, repairs = storable_frame(frame)
            rows = _columnar(frame)
        else:
            repairs = {}
        names = ", ".join(quoted(c) for c in columns_of(schema))
        casts = ", ".join(f"CAST({quoted(c.name)} AS {c.type})" for c in schema.columns)
        with self._connection() as connection:
            self._ensure_table(connection, table, schema)
            connection.execute("BEGIN TRANSACTION")
            try:
                if window is None:
                    connection.execute(f"DELETE FROM {self._name(table)}")
                else:
                    connection.execute(
                        f"DELETE FROM {self._name(table)} WHERE {quoted(window.column)} >= ? "
                        f"AND {quoted(window.column)} < ?",
                        [window.start, window.end],
                    )
                if not frame.empty:
                    connection.register("incoming_rows", rows)
                    connection.execute(
                        f"INSERT INTO {self._name(table)} ({names}) SELECT {casts} FROM incoming_rows"
                    )
                    connection.unregister("incoming_rows")
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return repairs

    def read_rows(
        self, table: str, window: TimeWindowFilter | None, order_by: Sequence[str]
    ) -> pd.DataFrame:
        sql = f"SELECT * FROM {self._name(table)}"
        parameters: list[object] = []
        if window is not None:
            sql += f" WHERE {quoted(window.column)} >= ? AND {quoted(window.column)} < ?"
            parameters = [window.start, window.end]
        if order_by:
            sql += " ORDER BY " + ", ".join(quoted(c) for c in order_by)
        with self._connection(read_only=True) as connection:
            return connection.execute(sql, parameters).df()

    def query(self, sql: str, parameters: Sequence[object] = ()) -> pd.DataFrame:
        with self._connection(read_only=True) as connection:
            return connection.execute(sql, list(parameters)).df()

    def table_exists(self, table: str) -> bool:
        if not Path(self.path).exists():
            return False
        with self._connection(read_only=True) as connection:
            found = connection.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [self.schema, table],
            ).fetchone()
        return bool(found and found[0])


def _storable_arrow(frame: pd.DataFrame) -> pa.Table | None:
    """`frame` as an Arrow table when it needs no text repair (see `storable_frame`), else
    None.

    Arrow refuses a lone surrogate when it encodes a string, and NUL is searched in C++,
    column by column: a million clean rows are checked without a Python call per value.
    """
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeError):
        return None
    for column in table.columns:
        is_text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        if is_text and pc.any(pc.match_substring(column, "\x00")).as_py():
            return None
    return table


def _columnar(frame: pd.DataFrame) -> pa.Table | pd.DataFrame:
    """`frame` as an Arrow table for DuckDB to read, or as it is when Arrow cannot type a
    column (mixed values in one object column).

    DuckDB reads pandas' object columns one Python value at a time, on one thread; the
    Arrow conversion does the same work in C++ (a million cleaned rows: several seconds
    less). Missing values (None, NaN, NaT) become NULL either way.
    """
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return frame
