"""A lock on the pipeline's DuckDB file fails with who holds it and what to do (issue 12)."""

from __future__ import annotations

import subprocess
import sys
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
