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
import numpy as np
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
# DuckDB's rows per row group (its default); `streamed_writes` inserts in multiples of it.
ROW_GROUP_ROWS = 122_880
# DuckDB's cache while `streamed_writes` holds its connection: what it writes stays cached
# up to this, beside the frames being written.
STREAMED_MEMORY_LIMIT = "100MB"
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
        rows, repairs = _rows_to_store(frame)
        with self._connection() as connection:
            self._ensure_table(connection, table, schema)
            connection.execute("BEGIN TRANSACTION")
            try:
                self._delete_window(connection, table, window)
                if not frame.empty:
                    self._insert(connection, table, schema, rows)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return repairs

    @contextmanager
    def streamed_writes(self) -> Iterator[StreamedWrites]:
        """One connection for many `replace_rows` over consecutive windows (a range
        written a group of days at a time), each table's rows inserted in whole row groups.

        A window replaced on its own costs a checkpoint, and DuckDB rewrites the table's
        last, partly filled row group at each one: a million rows written in twelve
        windows cost over twice one write. Here each call inserts only whole row groups
        and carries the rest (fewer than `ROW_GROUP_ROWS` rows a table) in memory to the
        next call's, so DuckDB writes every row group once, in the same row order. The
        carried rows are inserted when the block ends, normally or by an error: the
        tables are complete only then. DuckDB's cache is capped meanwhile
        (`STREAMED_MEMORY_LIMIT`), as the connection lives long.

        DuckDB inserts on one thread meanwhile: carried rows and new ones are two Arrow
        chunks, and two threads would each fill row groups of their own chunk, leaving
        partly filled ones that the final checkpoint merges by rewriting most of the
        table (at 2M messages ~1,000 blocks re-read through the capped cache: 9 of the
        write's 27 CPU seconds; one thread's inserts cost no more CPU).
        """
        with self._connection() as connection:
            connection.execute(f"SET memory_limit = '{STREAMED_MEMORY_LIMIT}'")
            connection.execute("SET threads = 1")
            writes = StreamedWrites(self, connection)
            try:
                yield writes
            finally:
                try:
                    writes.flush()
                finally:
                    connection.execute("RESET threads")
                    connection.execute("RESET memory_limit")

    def _delete_window(
        self,
        connection: duckdb.DuckDBPyConnection,
        table: str,
        window: TimeWindowFilter | None,
    ) -> None:
        if window is None:
            connection.execute(f"DELETE FROM {self._name(table)}")
        else:
            connection.execute(
                f"DELETE FROM {self._name(table)} WHERE {quoted(window.column)} >= ? "
                f"AND {quoted(window.column)} < ?",
                [window.start, window.end],
            )

    def _insert(
        self,
        connection: duckdb.DuckDBPyConnection,
        table: str,
        schema: TableSchema,
        rows: pa.Table | pd.DataFrame,
    ) -> None:
        names = ", ".join(quoted(c) for c in columns_of(schema))
        casts = ", ".join(f"CAST({quoted(c.name)} AS {c.type})" for c in schema.columns)
        connection.register("incoming_rows", rows)  # replaced by the next, if this fails
        connection.execute(
            f"INSERT INTO {self._name(table)} ({names}) SELECT {casts} FROM incoming_rows"
        )
        connection.unregister("incoming_rows")

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


class StreamedWrites:
    """`replace_rows` on one open connection, each table's rows carried until they fill
    whole row groups (see `DuckDBBackend.streamed_writes`)."""

    def __init__(self, backend: DuckDBBackend, connection: duckdb.DuckDBPyConnection) -> None:
        self._backend = backend
        self._connection = connection
        self._ensured: set[str] = set()
        self._carried: dict[str, tuple[TableSchema, pa.Table | pd.DataFrame]] = {}

    def replace_rows(
        self,
        table: str,
        schema: TableSchema,
        frame: pd.DataFrame,
        window: TimeWindowFilter | None,
    ) -> dict[str, int]:
        """Make `frame` the table's rows in `window` (the whole table if None), as
        `DuckDBBackend.replace_rows` does; the rows beyond the last whole row group are
        inserted by a later call or at the end of the block."""
        rows, repairs = _rows_to_store(frame)
        backend, connection = self._backend, self._connection
        if table not in self._ensured:
            backend._ensure_table(connection, table, schema)
            self._ensured.add(table)
        carried = self._without_window(table, window)
        connection.execute("BEGIN TRANSACTION")
        try:
            backend._delete_window(connection, table, window)
            joined = rows if carried is None else _joined(carried, rows)
            if joined is None:  # the carried rows and these are not one Arrow table
                backend._insert(connection, table, schema, carried)
                joined = rows
            whole = len(joined)
            if isinstance(joined, pa.Table):
                whole -= whole % ROW_GROUP_ROWS
            if whole:
                backend._insert(
                    connection,
                    table,
                    schema,
                    joined.slice(0, whole) if isinstance(joined, pa.Table) else joined,
                )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            if carried is not None:
                self._carried[table] = (schema, carried)
            raise
        if whole < len(joined):  # a compact copy: not the whole group's buffers kept for it
            rest = joined.slice(whole)
            self._carried[table] = (schema, rest.take(np.arange(len(rest))))
        return repairs

    def _without_window(
        self, table: str, window: TimeWindowFilter | None
    ) -> pa.Table | pd.DataFrame | None:
        """Take the rows carried for `table`, less those in `window` (replaced now)."""
        schema, carried = self._carried.pop(table, (None, None))
        if carried is None or schema is None or window is None:
            return None if window is None else carried
        column = next(c for c in schema.columns if c.name == window.column)
        inside = (
            f"coalesce(CAST({quoted(column.name)} AS {column.type}) >= ? "
            f"AND CAST({quoted(column.name)} AS {column.type}) < ?, false)"
        )
        self._connection.register("carried_rows", carried)
        try:
            [(count,)] = self._connection.execute(
                f"SELECT count(*) FROM carried_rows WHERE {inside}", [window.start, window.end]
            ).fetchall()
            if count:
                carried = self._connection.sql(
                    f"SELECT * FROM carried_rows WHERE NOT {inside}",
                    params=[window.start, window.end],
                ).to_arrow_table()
        finally:
            self._connection.unregister("carried_rows")
        return carried

    def flush(self) -> None:
        """Insert every table's carried rows."""
        while self._carried:
            table, (schema, rows) = self._carried.popitem()
            self._backend._insert(self._connection, table, schema, rows)


def _rows_to_store(frame: pd.DataFrame) -> tuple[pa.Table | pd.DataFrame, dict[str, int]]:
    """`frame` as DuckDB should read it, its text repaired where no warehouse could store
    it, and how many values were repaired per column (see `storable_frame`)."""
    rows = _storable_arrow(frame)
    if rows is not None:
        return rows, {}
    frame, repairs = storable_frame(frame)  # something to repair, or a column Arrow cannot type
    return _columnar(frame), repairs


def _joined(first: pa.Table | pd.DataFrame, then: pa.Table | pd.DataFrame) -> pa.Table | None:
    """`first`'s rows then `then`'s as one Arrow table (a column of nulls only takes the
    other's type), or None when they differ in a type or either is not Arrow."""
    if not isinstance(first, pa.Table) or not isinstance(then, pa.Table):
        return None
    try:
        return pa.concat_tables([first, then], promote_options="default")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


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
        if is_text and _may_hold_nul(column) and pc.any(pc.match_substring(column, "\x00")).as_py():
            return None
    return table


def _may_hold_nul(column: pa.ChunkedArray) -> bool:
    """Whether a zero byte is in the bytes of a text column's values: the smallest byte of
    each chunk's value buffer, found at memory speed (several times faster than matching
    each value). A buffer may hold bytes of no value (a slice's): then the values decide."""
    for chunk in column.chunks:
        values = chunk.buffers()[2]
        if values is not None and values.size and not np.frombuffer(values, np.uint8).min():
            return True
    return False


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
