"""`wareader sql`: one query on the analysts' DuckDB copy in about a second.

It imports neither Dagster nor the code location: the copy's path follows from the
same two settings the warehouse resource reads (`WAREADER_WAREHOUSE_URL`, else
`WAREADER_DATA_DIR`/warehouse.duckdb), and the copy sits beside the warehouse file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

READ_COPY_NAME = "analytics.duckdb"


def read_copy_path(warehouse_url: str) -> Path | None:
    """Where the analysts' copy of a DuckDB warehouse goes; None for PostgreSQL."""
    if warehouse_url.startswith(("postgresql://", "postgres://")):
        return None
    return Path(warehouse_url).resolve().with_name(READ_COPY_NAME)


def configured_warehouse_url(environment: Mapping[str, str] = os.environ) -> str:
    """The warehouse URL as the code location would bind it."""
    data_dir = Path(environment.get("WAREADER_DATA_DIR") or "./data")
    return environment.get("WAREADER_WAREHOUSE_URL") or str(data_dir / "warehouse.duckdb")


def run_query(query: str, *, max_rows: int = 50) -> int:
    """Print the result of `query` on the read copy; 1 when there is no copy to query."""
    read_copy = read_copy_path(configured_warehouse_url())
    if read_copy is None:
        print("the warehouse is PostgreSQL: query it with psql as the analyst role")
        return 1
    if not read_copy.exists():
        print("no read copy yet: run `wareader demo` or `wareader snapshot` first")
        return 1
    import duckdb

    with duckdb.connect(str(read_copy), read_only=True) as connection:
        try:
            connection.sql(query).show(max_rows=max_rows)
        except duckdb.Error as error:
            print(f"query failed: {error}", file=sys.stderr)
            return 1
    return 0
