"""The incremental marts' window as Dagster passes it: in the environment, read only when the
models run, so the next ranged run reuses the parsed project (dbt/macros/window.sql)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from wareader_pipelines.defs.analytics.assets import (
    INVOCATIONS_KEPT,
    PARSES_BY_WAREHOUSE,
    PARSES_KEPT,
    PARTIAL_PARSE_FILE,
    WINDOW_END_ENV,
    WINDOW_START_ENV,
    keep_parsed_project,
    prune_invocation_targets,
    start_from_parsed_project,
)
from wareader_testkit.dbt_build import DBT_DIR, DBT_EXECUTABLE, dbt_environment

WINDOW_SQL = "select {{ window_start() }} as window_start, {{ window_end() }} as window_end"


def _shown(
    project: Path, target: Path, url: str, env: dict[str, str], sql: str, *args: str
) -> tuple[dict[str, Any], str]:
    """The row dbt prints for a `dbt show --inline sql` of `project` against `url` with
    `env` set, and dbt's debug log of that invocation (taken out of `target`)."""
    done = subprocess.run(
        [
            str(DBT_EXECUTABLE),
            "show",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(target),
            "--log-path",
            str(target),
            "--inline",
            sql,
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
            return row, log
    raise AssertionError(f"dbt show printed no rows: {done.stdout[-4000:]}")


def _window(target: Path, url: str, env: dict[str, str], *args: str) -> tuple[str, str, str]:
    """The window dbt's macros give in a `dbt show` with `env` set, and dbt's debug log."""
    row, log = _shown(DBT_DIR, target, url, env, WINDOW_SQL, *args)
    return str(row["window_start"]), str(row["window_end"]), log


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


def test_each_warehouse_starts_from_the_project_last_parsed_for_it(tmp_path: Path) -> None:
    project = tmp_path / "dbt"
    (project / "target").mkdir(parents=True)
    for index in range(PARSES_KEPT + 2):
        invocation = project / "target" / f"build-{index}"
        start_from_parsed_project(invocation, project, f"/data/{index}/warehouse.duckdb")
        assert not (invocation / PARTIAL_PARSE_FILE).exists()  # none kept for it yet
        (invocation / PARTIAL_PARSE_FILE).write_bytes(f"parsed {index}".encode())
        keep_parsed_project(invocation, project, f"/data/{index}/warehouse.duckdb")
    # The shared file is the latest; each warehouse starts from its own.
    assert (project / "target" / PARTIAL_PARSE_FILE).read_bytes() == f"parsed {index}".encode()
    again = project / "target" / "build-again"
    start_from_parsed_project(again, project, "/data/3/warehouse.duckdb")
    assert (again / PARTIAL_PARSE_FILE).read_bytes() == b"parsed 3"
    # Only the last PARSES_KEPT warehouses' are kept.
    assert len(list((project / "target" / PARSES_BY_WAREHOUSE).iterdir())) == PARSES_KEPT
    oldest = project / "target" / "build-oldest"
    start_from_parsed_project(oldest, project, "/data/0/warehouse.duckdb")
    assert not (oldest / PARTIAL_PARSE_FILE).exists()


def test_only_the_newest_invocation_folders_are_kept(tmp_path: Path) -> None:
    project = tmp_path / "dbt"
    target = project / "target"
    names = [f"analytics_daily_marts-{index:07x}-abcdef{index % 10}" for index in range(55)]
    for age, name in enumerate(names):  # names[0] is the oldest
        (target / name / "compiled").mkdir(parents=True)
        os.utime(target / name, (1_700_000_000 + age, 1_700_000_000 + age))
    others = ["build-1", "parsed_by_warehouse", "analytics_models-123abcd"]  # not dbt's naming
    for name in others:
        (target / name).mkdir()
    (target / PARTIAL_PARSE_FILE).write_bytes(b"parsed")

    prune_invocation_targets(project)

    left = sorted(path.name for path in target.iterdir())
    assert left == sorted([*names[-INVOCATIONS_KEPT:], *others, PARTIAL_PARSE_FILE])
    prune_invocation_targets(project, kept=0)
    assert sorted(path.name for path in target.iterdir()) == sorted([*others, PARTIAL_PARSE_FILE])


PROBE_MACRO = "{% macro probe() %}'{{ 'VALUE' }}'{% endmacro %}\n"


def _probe(project: Path, target: Path, url: str) -> tuple[str, str]:
    """What `probe()` renders in a `dbt show` of `project` against `url`, and dbt's log."""
    row, log = _shown(project, target, url, {}, "select {{ probe() }} as probe")
    return str(row["probe"]), log


def test_a_kept_parse_is_reused_per_warehouse_and_never_as_it_was_after_a_change(
    tmp_path: Path,
) -> None:
    """The parse kept for a warehouse spares its next invocation dbt's parse after another
    warehouse's invocation, and after a change to the project dbt reads the changed file
    again: the kept parse's old macro is not what runs."""
    project = tmp_path / "dbt"
    shutil.copytree(DBT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    macro = project / "macros" / "probe.sql"
    macro.write_text(PROBE_MACRO.replace("VALUE", "before"))
    first, other = str(tmp_path / "a.duckdb"), str(tmp_path / "b.duckdb")

    def build(name: str, url: str) -> tuple[str, str]:
        target = project / "target" / name
        start_from_parsed_project(target, project, url)
        shown = _probe(project, target, url)
        keep_parsed_project(target, project, url)
        return shown

    assert build("a-1", first)[0] == "before"
    assert build("b-1", other)[0] == "before"  # the shared file is now b's
    shown, log = build("a-2", first)
    assert shown == "before"
    assert "skipping parsing" in log
    assert "Unable to do partial parsing" not in log

    macro.write_text(PROBE_MACRO.replace("VALUE", "after"))
    shown, log = build("a-3", first)
    assert shown == "after"
    assert "skipping parsing" not in log
