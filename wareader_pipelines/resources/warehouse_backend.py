"""What a warehouse engine must do, and the small types the engines and the IO manager share.

Its own module so that `warehouse.py` (which picks an engine) and each engine
(`duckdb_warehouse.py`, `postgres_warehouse.py`) import it without importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import pandas as pd
from dagster import TableSchema

from wareader_pipelines.parsing.storable_text import is_storable, storable


@dataclass(frozen=True, slots=True)
class TimeWindowFilter:
    """Rows whose `column` falls in [start, end)."""

    column: str
    start: datetime
    end: datetime


class WarehouseBackend(Protocol):
    """What a database must do for the warehouse; one implementation per engine."""

    def replace_rows(
        self,
        table: str,
        schema: TableSchema,
        frame: pd.DataFrame,
        window: TimeWindowFilter | None,
    ) -> dict[str, int]:
        """Make `frame` the table's rows in `window` (the whole table if None), atomically.

        Text neither engine can store (a NUL, a lone surrogate) is repaired first
        (`storable_frame`); returns how many values were repaired per column.
        """
        ...

    def read_rows(
        self, table: str, window: TimeWindowFilter | None, order_by: Sequence[str]
    ) -> pd.DataFrame:
        """The table's rows in `window` (all if None), in `order_by` order."""
        ...

    def query(self, sql: str, parameters: Sequence[object] = ()) -> pd.DataFrame:
        """The result of a read-only SQL query; positional parameters written `?` (or `$1`, `$2`...)."""
        ...

    def table_exists(self, table: str) -> bool:
        """Whether the table has been created."""
        ...


def columns_of(schema: TableSchema) -> list[str]:
    """The column names a table schema declares, in order."""
    return [column.name for column in schema.columns]


def quoted(name: str) -> str:
    """`name` as an SQL identifier, the same for DuckDB and PostgreSQL."""
    return '"' + name.replace('"', '""') + '"'


def table_ddl(table_sql: str, schema: TableSchema, existing_columns: set[str]) -> list[str]:
    """Statements that create `table_sql` as `schema` declares, or add the columns it lacks.

    `existing_columns` are the names the table has now (empty if it does not exist yet);
    a column a new schema version declares is added, nothing is ever dropped.
    """
    columns = ", ".join(f"{quoted(c.name)} {c.type}" for c in schema.columns)
    return [f"CREATE TABLE IF NOT EXISTS {table_sql} ({columns})"] + [
        f"ALTER TABLE {table_sql} ADD COLUMN {quoted(c.name)} {c.type}"
        for c in schema.columns
        if existing_columns and c.name not in existing_columns
    ]


def storable_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """`frame` with every text value both engines can store, and how many were repaired
    per column (only columns with repairs).

    PostgreSQL refuses NUL in `text` and DuckDB refuses a lone surrogate when it
    encodes UTF-8: one such value in an LLM summary, a quarantine excerpt or a report
    would fail the whole write. NUL is removed and a lone surrogate becomes U+FFFD
    (`storable_text.storable`). Each column is searched once as one joined string, so a
    clean frame costs one scan of its text.
    """
    repairs: dict[str, int] = {}
    repaired = frame
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
            continue
        texts = [value for value in values.tolist() if isinstance(value, str)]
        if not texts or is_storable("\x1f".join(texts)):
            continue
        fixed: list[object] = []
        count = 0
        for value in values.tolist():
            if isinstance(value, str) and not is_storable(value):
                value = storable(value)[0]
                count += 1
            fixed.append(value)
        if repaired is frame:
            repaired = frame.copy()
        repaired[column] = pd.Series(fixed, index=frame.index, dtype=values.dtype)
        repairs[column] = count
    return repaired, repairs
