"""Analysts on the read copy never block the pipeline's writes to the warehouse."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from wareader_pipelines.lib.tables import QUARANTINE
from wareader_pipelines.resources.duckdb_read_copy import publish_read_copy
from wareader_pipelines.resources.duckdb_warehouse import DuckDBBackend
from wareader_pipelines.resources.warehouse_backend import TimeWindowFilter


def _rows(n: int) -> pd.DataFrame:
    at = datetime(2024, 5, 1, tzinfo=UTC)
    return pd.DataFrame(
        {
            "source_file": [f"f{i}" for i in range(n)],
            "location": "whole file",
            "reason": "r",
            "excerpt": "e",
            "landed_at": at,
            "partition_at": at,
        }
    )


def test_the_pipeline_writes_while_an_analyst_holds_the_read_copy(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    copy = tmp_path / "analytics.duckdb"
    backend = DuckDBBackend(str(warehouse), schema="wareader")
    window = TimeWindowFilter(
        "partition_at", datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC)
    )
    backend.replace_rows("quarantine", QUARANTINE, _rows(3), window)
    publish_read_copy(warehouse, copy)

    # Another process keeps a session open on the copy, as an analyst's notebook would.
    analyst = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print(c.execute('select count(*) from wareader.quarantine').fetchone()[0], flush=True); "
            "time.sleep(30)",
            str(copy),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert analyst.stdout is not None and analyst.stdout.readline().strip() == "3"
        backend.replace_rows("quarantine", QUARANTINE, _rows(5), window)  # does not wait or fail
        publish_read_copy(warehouse, copy)  # swapped in under the open session
        assert analyst.poll() is None
    finally:
        analyst.kill()
        analyst.wait()
    with duckdb.connect(str(copy), read_only=True) as connection:
        assert connection.execute("select count(*) from wareader.quarantine").fetchone()[0] == 5
