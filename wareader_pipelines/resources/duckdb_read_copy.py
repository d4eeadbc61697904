"""A read copy of the DuckDB warehouse for analysts, without the restricted raw layer.

DuckDB lets one process hold a file while it writes, and an analyst's session
on `warehouse.duckdb`, even read-only, makes the pipeline's next write wait and
then fail. Analysts query a copy instead: written beside the warehouse in one
consistent read, then swapped in with a rename, so a session already open on
the old copy keeps working and the pipeline is never blocked by it.

The copy holds only what analysts may read (`tables.ANALYST_TABLES` and the dbt
marts): the raw layer, with phone numbers and names, is not in the file at all.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import duckdb

from wareader_pipelines.lib.tables import ANALYST_TABLES, MARTS_SCHEMA
from wareader_pipelines.resources.warehouse import DEFAULT_SCHEMA


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def publish_read_copy(
    warehouse: Path,
    target: Path,
    *,
    schema: str = DEFAULT_SCHEMA,
    tables: Sequence[str] = ANALYST_TABLES,
    marts_schema: str = MARTS_SCHEMA,
) -> Path:
    """Copy `schema`'s `tables` and every relation of `marts_schema` from `warehouse` into
    `target`, atomically replacing any older copy; returns `target`."""
    temporary = target.with_name(f".{target.name}.incoming")
    temporary.unlink(missing_ok=True)
    connection = duckdb.connect()
    try:
        connection.execute("ATTACH ? AS source (READ_ONLY)", [str(warehouse)])
        connection.execute("ATTACH ? AS copy", [str(temporary)])
        connection.execute("BEGIN TRANSACTION")  # one consistent read of the source
        present = connection.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'source'"
            " UNION ALL SELECT schema_name, view_name FROM duckdb_views()"
            " WHERE database_name = 'source' AND NOT internal"
        ).fetchall()
        wanted = {(schema, table) for table in tables}
        chosen = sorted((s, t) for s, t in present if (s, t) in wanted or s == marts_schema)
        for schema_name in sorted({s for s, _ in chosen}):
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS copy.{_quoted(schema_name)}")
        for schema_name, table in chosen:
            name = f"{_quoted(schema_name)}.{_quoted(table)}"
            connection.execute(f"CREATE TABLE copy.{name} AS SELECT * FROM source.{name}")
        connection.execute("COMMIT")
        connection.execute("DETACH copy")
    finally:
        connection.close()
    _bare_names(temporary, chosen, marts_schema)
    os.replace(temporary, target)
    return target


def _bare_names(copy: Path, chosen: Sequence[tuple[str, str]], marts_schema: str) -> None:
    """Views in the copy's default schema, so `SELECT … FROM fct_messages` works too.

    A mart wins a name it shares with an analyst table (the schema-qualified names
    always work). Made with the copy as the default database, so the views' text names
    no catalog and resolves whatever name the file is opened or attached under.
    """
    names: dict[str, str] = {}
    for schema_name, table in sorted(chosen, key=lambda st: st[0] != marts_schema):
        names.setdefault(table, f"{_quoted(schema_name)}.{_quoted(table)}")
    with duckdb.connect(str(copy)) as connection:
        for table, qualified in sorted(names.items()):
            connection.execute(f"CREATE VIEW main.{_quoted(table)} AS SELECT * FROM {qualified}")
