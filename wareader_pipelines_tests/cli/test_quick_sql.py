"""`wareader sql` answers from the analysts' copy without importing Dagster or the code location."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from wareader_pipelines_tests.conftest import REPO_ROOT

PROBE = """
import sys
from wareader_pipelines.cli.entry import main
status = main(["sql", "SELECT count(*) AS n FROM marts.fct_messages"])
print("dagster imported:", "dagster" in sys.modules)
sys.exit(status)
"""


def test_sql_reads_the_copy_beside_the_warehouse_without_loading_dagster(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with duckdb.connect(str(data / "analytics.duckdb")) as connection:
        connection.execute("CREATE SCHEMA marts")
        connection.execute("CREATE TABLE marts.fct_messages AS SELECT range AS id FROM range(7)")
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("WAREADER_")
    }
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env={**environment, "WAREADER_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert "│ 7 │" in completed.stdout or " 7 " in completed.stdout, completed.stdout
    assert "dagster imported: False" in completed.stdout
    missing = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env={**environment, "WAREADER_DATA_DIR": str(tmp_path / "elsewhere")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1
    assert "no read copy yet: run `wareader demo`" in missing.stdout
