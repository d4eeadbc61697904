"""The incremental marts' window as Dagster passes it: in the environment, read only when the
models run, so the next ranged run reuses the parsed project (dbt/macros/window.sql)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from wareader_pipelines.defs.analytics.assets import (
    PARTIAL_PARSE_FILE,
    WINDOW_END_ENV,
    WINDOW_START_ENV,
    keep_parsed_project,
)
from wareader_testkit.dbt_build import DBT_DIR, DBT_EXECUTABLE, dbt_environment

WINDOW_SQL = "select {{ window_start() }} as window_start, {{ window_end() }} as window_end"


def _window(target: Path, url: str, env: dict[str, str], *args: str) -> tuple[str, str, str]:
    """The window dbt's macros give in a `dbt show` with `env` set, and dbt's debug log."""
    done = subprocess.run(
        [
            str(DBT_EXECUTABLE),
            "show",
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(target),
            "--inline",
            WINDOW_SQL,
            "--output",
            "json",
            "--log-format",
            "json",
            *args,
        ],
        env={**dbt_environment(url), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    for line in done.stdout.splitlines():
        shown = json.loads(line).get("data", {}).get("preview")
        if shown:
            (row,) = json.loads(shown)
            log = (target / "dbt.log").read_text()
            (target / "dbt.log").unlink()
            return str(row["window_start"]), str(row["window_end"]), log
    raise AssertionError(f"dbt show printed no rows: {done.stdout[-4000:]}")


def test_the_window_comes_from_the_environment_and_keeps_the_parsed_project(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "warehouse.duckdb")
    target = tmp_path / "target"
    first = {
        WINDOW_START_ENV: "2024-03-01T00:00:00+00:00",
        WINDOW_END_ENV: "2024-03-02T00:00:00+00:00",
    }
    start, end, _ = _window(target, url, first)
    assert (start[:10], end[:10]) == ("2024-03-01", "2024-03-02")

    # Another window: the project parsed for the first one is reused as it is.
    second = {
        WINDOW_START_ENV: "2024-05-10T00:00:00+00:00",
        WINDOW_END_ENV: "2024-05-12T00:00:00+00:00",
    }
    start, end, log = _window(target, url, second)
    assert (start[:10], end[:10]) == ("2024-05-10", "2024-05-12")
    assert "skipping parsing" in log
    assert "Unable to do partial parsing" not in log

    # Without the environment the vars still set it (analysts' own `dbt build --vars`).
    by_vars = json.dumps({"min_sent_at": "2023-01-01T00:00:00+00:00"})
    start, end, _ = _window(target, url, {}, "--vars", by_vars)
    assert (start[:10], end[:10]) == ("2023-01-01", "9999-12-31")


def test_keep_parsed_project_replaces_the_shared_file_and_tolerates_none(tmp_path: Path) -> None:
    project = tmp_path / "dbt"
    (project / "target").mkdir(parents=True)
    (project / "target" / PARTIAL_PARSE_FILE).write_bytes(b"old")
    invocation = project / "target" / "analytics_daily_marts-1"
    invocation.mkdir()

    keep_parsed_project(invocation, project)  # dbt wrote none: the old file stays
    assert (project / "target" / PARTIAL_PARSE_FILE).read_bytes() == b"old"

    (invocation / PARTIAL_PARSE_FILE).write_bytes(b"new")
    keep_parsed_project(invocation, project)
    assert (project / "target" / PARTIAL_PARSE_FILE).read_bytes() == b"new"
    assert sorted(p.name for p in (project / "target").iterdir()) == [
        "analytics_daily_marts-1",
        PARTIAL_PARSE_FILE,
    ]
