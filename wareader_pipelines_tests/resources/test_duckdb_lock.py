"""A lock on the pipeline's DuckDB file fails with who holds it and what to do (issue 12)."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from wareader_pipelines.lib.tables import QUARANTINE
from wareader_pipelines.resources import duckdb_warehouse
from wareader_pipelines.resources.duckdb_warehouse import DuckDBBackend, WarehouseLocked


def test_a_session_holding_the_file_is_named_with_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(path)!r}, read_only=False); "
            "print('open', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        monkeypatch.setattr(duckdb_warehouse, "LOCK_RETRY_SECONDS", 0.3)
        backend = DuckDBBackend(str(path), schema="wareader")
        empty = pd.DataFrame({c.name: [] for c in QUARANTINE.columns})
        with pytest.raises(WarehouseLocked) as raised:
            backend.replace_rows("quarantine", QUARANTINE, empty, None)
    finally:
        holder.kill()
        holder.wait()
    message = str(raised.value)
    assert f"process {holder.pid} (python" in message
    assert "analytics.duckdb" in message and "PostgreSQL" in message
    assert "read-only mode" not in message


def test_a_pipeline_process_waits_for_the_turn_of_another_instead_of_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process of ours holding the file (a dbt build of the other backfill worker)
    makes a write wait until it lets go, where DuckDB's own lock alone would fail it."""
    path = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys\n"
            "from wareader_pipelines.resources.duckdb_warehouse import warehouse_turn\n"
            f"with warehouse_turn({str(path)!r}):\n"
            f"    c = duckdb.connect({str(path)!r})\n"
            "    print('open', flush=True)\n"
            "    sys.stdin.readline()\n"
            "    c.close()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    # DuckDB's lock alone would fail this write after 0.3 s; the turn makes it wait.
    monkeypatch.setattr(duckdb_warehouse, "LOCK_RETRY_SECONDS", 0.3)
    backend = DuckDBBackend(str(path), schema="wareader")
    rows = pd.DataFrame({c.name: [] for c in QUARANTINE.columns})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with ThreadPoolExecutor(1) as pool:
            write = pool.submit(backend.replace_rows, "quarantine", QUARANTINE, rows, None)
            time.sleep(1.0)
            assert not write.done()  # waiting for its turn, not failed
            assert holder.stdin is not None
            holder.stdin.write("done\n")
            holder.stdin.flush()
            write.result(timeout=30)
    finally:
        holder.kill()
        holder.wait()
    assert backend.table_exists("quarantine")
    with duckdb_warehouse.warehouse_turn(str(path)), duckdb_warehouse.warehouse_turn(str(path)):
        backend.query("SELECT 1")  # re-entrant in one process: no wait on itself
