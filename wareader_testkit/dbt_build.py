"""`dbt build` of the project in its own process, configured only through the environment, as
the tests and benchmarks run it against a DuckDB file or a PostgreSQL URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

DBT_DIR = Path(__file__).resolve().parents[1] / "dbt"
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")


def dbt_environment(url: str) -> dict[str, str]:
    """This process's environment without PG*/WAREADER_* settings, pointed at `url` alone."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "WAREADER_"))}
    env.update(DO_NOT_TRACK="1", WAREADER_WAREHOUSE_URL=url)
    if url.startswith("postgresql://"):
        parts = urlparse(url)
        env.update(
            PGHOST=parts.hostname or "",
            PGPORT=str(parts.port),
            PGUSER=parts.username or "",
            PGDATABASE=parts.path.lstrip("/"),
        )
    return env


def run_dbt_build(url: str, target_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`dbt build *args` against `url`, its target and logs in `target_path`; never raises on a
    failed build (the caller reads `returncode` and `stdout`)."""
    return subprocess.run(
        [
            str(DBT_EXECUTABLE),
            "build",
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
            "--target-path",
            str(target_path),
            "--log-path",
            str(target_path),
            *args,
        ],
        env=dbt_environment(url),
        capture_output=True,
        text=True,
        check=False,
    )
