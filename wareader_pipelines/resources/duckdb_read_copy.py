"""A read copy of the DuckDB warehouse for analysts.

DuckDB lets one process hold a file while it writes, and an analyst's session
on `warehouse.duckdb`, even read-only, makes the pipeline's next write wait and
then fail. Analysts query a copy instead: written beside the warehouse in one
consistent read, then swapped in with a rename, so a session already open on
the old copy keeps working and the pipeline is never blocked by it.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


def publish_read_copy(warehouse: Path, target: Path) -> Path:
    """Copy every schema of `warehouse` into `target`, atomically replacing any older copy."""
    temporary = target.with_name(f".{target.name}.incoming")
    temporary.unlink(missing_ok=True)
    connection = duckdb.connect()
    try:
        connection.execute("ATTACH ? AS source (READ_ONLY)", [str(warehouse)])
        connection.execute("ATTACH ? AS copy", [str(temporary)])
        connection.execute("COPY FROM DATABASE source TO copy")
        connection.execute("DETACH copy")
    finally:
        connection.close()
    os.replace(temporary, target)
    return target
