"""PostgreSQL backend of the warehouse: production tables in one schema.

A partition is replaced in one transaction (delete the window, then COPY the
new rows), so a reader sees either the old rows or the new ones and a crash
leaves the old rows. Table and schema DDL runs in its own short transaction
under an advisory lock, so parallel runs creating the same table do not race.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
import psycopg
from dagster import TableSchema

from wareader_pipelines.lib.tables import ANALYST_TABLES, MARTS_SCHEMA
from wareader_pipelines.resources.warehouse_backend import (
    TimeWindowFilter,
    columns_of,
    quoted,
    storable_frame,
    table_ddl,
)

# The group role analysts log in through (`CREATE ROLE alice LOGIN IN ROLE analyst`): it reads
# the analyst tables and the dbt marts, and nothing of the raw layer.
ANALYST_ROLE = "analyst"

# OIDs of the types read back as pandas columns of a specific dtype.
_TIMESTAMPTZ_OID = 1184
_TIMESTAMP_OID = 1114
_INTEGER_OIDS = {20: "Int64", 21: "Int16", 23: "Int32"}
_FLOAT_OIDS = {700, 701, 1700}
_BOOLEAN_OID = 16


def numbered_placeholders(sql: str) -> str:
    """`sql` with each `?` placeholder written `$1`, `$2`...; quotes and comments untouched.

    The warehouse's queries use `?` (DuckDB's style); PostgreSQL's server-side
    parameters are numbered. `$n` placeholders already in `sql` pass through.
    """
    out: list[str] = []
    number = 0
    index = 0
    length = len(sql)
    while index < length:
        char = sql[index]
        if char in ("'", '"'):
            end = index + 1
            while end < length:
                if sql[end] == char:
                    if end + 1 < length and sql[end + 1] == char:
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[index : end + 1])
            index = end + 1
        elif sql.startswith("--", index):
            end = sql.find("\n", index)
            end = length if end < 0 else end
            out.append(sql[index:end])
            index = end
        elif sql.startswith("/*", index):
            end = sql.find("*/", index + 2)
            end = length if end < 0 else end + 2
            out.append(sql[index:end])
            index = end
        elif char == "?":
            number += 1
            out.append(f"${number}")
            index += 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _nulls_to_none(value: Any) -> Any:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(value)
    return value


def _to_timestamp(value: Any) -> Any:
    """Timestamps as aware datetimes; naive ones are UTC, as DuckDB's UTC session reads them."""
    if isinstance(value, str):
        return value
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()


def _to_text(value: Any) -> Any:
    return value if isinstance(value, str) else str(value)


def _converter(sql_type: str) -> Callable[[Any], Any]:
    kind = sql_type.strip().lower()
    if kind in {"integer", "bigint", "smallint", "int", "int4", "int8"}:
        return _to_int
    if kind in {"double precision", "double", "real", "float"}:
        return float
    if kind == "boolean":
        return bool
    if kind in {"timestamptz", "timestamp with time zone"}:
        return _to_timestamp
    if kind == "text":
        return _to_text
    return lambda value: value


def copy_rows(frame: pd.DataFrame, schema: TableSchema) -> Iterator[tuple[Any, ...]]:
    """The frame's rows as Python values PostgreSQL's COPY accepts for the declared types."""
    converters = [_converter(column.type) for column in schema.columns]
    columns = []
    for column, convert in zip(schema.columns, converters, strict=True):
        values = frame[column.name].astype(object).tolist()
        columns.append(
            [None if (v := _nulls_to_none(value)) is None else convert(v) for value in values]
        )
    return zip(*columns, strict=True) if columns else iter(())


def grant_analyst_access(
    connection: psycopg.Connection[Any], schema: str, table: str, role: str = ANALYST_ROLE
) -> None:
    """Create the `analyst` role if missing and give it exactly what analysts may read.

    Run inside the table's DDL transaction whenever the pipeline creates or alters a table:
    SELECT on the tables of `tables.ANALYST_TABLES`, none on anything else of `schema` (the
    raw layer: raw_messages, message_statuses, quarantine...), and SELECT on every table dbt
    creates in the marts schema (default privileges of the pipeline's role, which runs dbt).
    """
    connection.execute("SELECT pg_advisory_xact_lock(hashtext('wareader.analyst_role'))")
    exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
    if exists is None:
        connection.execute(f"CREATE ROLE {quoted(role)} NOLOGIN")
    connection.execute(f"GRANT USAGE ON SCHEMA {quoted(schema)} TO {quoted(role)}")
    name = f"{quoted(schema)}.{quoted(table)}"
    if table in ANALYST_TABLES:
        connection.execute(f"GRANT SELECT ON {name} TO {quoted(role)}")
    else:
        connection.execute(f"REVOKE ALL ON {name} FROM {quoted(role)}, PUBLIC")
    marts = quoted(MARTS_SCHEMA)
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {marts}")
    connection.execute(f"GRANT USAGE ON SCHEMA {marts} TO {quoted(role)}")
    connection.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {marts} TO {quoted(role)}")
    connection.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {marts} GRANT SELECT ON TABLES TO {quoted(role)}"
    )


class PostgresBackend:
    """Tables in a PostgreSQL database, under one schema; connections last one call."""

    def __init__(self, url: str, schema: str) -> None:
        self.url = url
        self.schema = schema

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        with psycopg.connect(self.url, options="-c TimeZone=UTC") as connection:
            yield connection

    def _name(self, table: str) -> str:
        return f"{quoted(self.schema)}.{quoted(table)}"

    def _ensure_table(
        self,
        connection: psycopg.Connection[Any],
        table: str,
        schema: TableSchema,
        window: TimeWindowFilter | None,
    ) -> None:
        with connection.transaction():
            connection.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{self.schema}.{table}"]
            )
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted(self.schema)}")
            existing = {
                row[0]
                for row in connection.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = %s AND table_name = %s",
                    [self.schema, table],
                ).fetchall()
            }
            for statement in table_ddl(self._name(table), schema, existing):
                connection.execute(statement)
            grant_analyst_access(connection, self.schema, table)
            if window is not None:
                index = quoted(f"{table}_{window.column}_idx")
                connection.execute(
                    f"CREATE INDEX IF NOT EXISTS {index} "
                    f"ON {self._name(table)} ({quoted(window.column)})"
                )

    def replace_rows(
        self,
        table: str,
        schema: TableSchema,
        frame: pd.DataFrame,
        window: TimeWindowFilter | None,
    ) -> dict[str, int]:
        frame, repairs = storable_frame(frame)
        names = ", ".join(quoted(c) for c in columns_of(schema))
        with self._connection() as connection:
            self._ensure_table(connection, table, schema, window)
            with connection.transaction(), connection.cursor() as cursor:
                if window is None:
                    cursor.execute(f"DELETE FROM {self._name(table)}")
                else:
                    column = quoted(window.column)
                    cursor.execute(
                        f"DELETE FROM {self._name(table)} WHERE {column} >= %s AND {column} < %s",
                        [window.start, window.end],
                    )
                if not frame.empty:
                    with cursor.copy(f"COPY {self._name(table)} ({names}) FROM STDIN") as copy:
                        for row in copy_rows(frame, schema):
                            copy.write_row(row)
        return repairs

    def read_rows(
        self, table: str, window: TimeWindowFilter | None, order_by: Sequence[str]
    ) -> pd.DataFrame:
        sql = f"SELECT * FROM {self._name(table)}"
        parameters: list[object] = []
        if window is not None:
            column = quoted(window.column)
            sql += f" WHERE {column} >= ? AND {column} < ?"
            parameters = [window.start, window.end]
        if order_by:
            sql += " ORDER BY " + ", ".join(quoted(c) for c in order_by)
        return self.query(sql, parameters)

    def query(self, sql: str, parameters: Sequence[object] = ()) -> pd.DataFrame:
        with (
            self._connection() as connection,
            psycopg.RawCursor(connection) as cursor,
        ):
            cursor.execute(numbered_placeholders(sql), list(parameters))
            if cursor.description is None:
                return pd.DataFrame()
            names = [column.name for column in cursor.description]
            rows = cursor.fetchall()
            frame = pd.DataFrame.from_records(rows, columns=names)
            for position, column in enumerate(cursor.description):
                frame.isetitem(position, _typed(frame.iloc[:, position], column.type_code))
            return frame

    def table_exists(self, table: str) -> bool:
        with self._connection() as connection:
            found = connection.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = %s",
                [self.schema, table],
            ).fetchone()
        return bool(found and found[0])


def _typed(values: pd.Series, type_code: int) -> pd.Series:
    """A column read from PostgreSQL with the dtype DuckDB's `.df()` would give it."""
    if type_code == _TIMESTAMPTZ_OID:
        return pd.to_datetime(values, utc=True)
    if type_code == _TIMESTAMP_OID:
        return pd.to_datetime(values)
    if type_code in _INTEGER_OIDS:
        return values.astype(_INTEGER_OIDS[type_code])
    if type_code in _FLOAT_OIDS:
        return values.astype("float64")
    if type_code == _BOOLEAN_OID and values.notna().all():
        return values.astype(bool)
    return values
