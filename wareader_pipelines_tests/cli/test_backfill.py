"""Ranged backfills from the shell: now in this process, or filed for the daemon like the UI does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.execution.backfill import BulkActionStatus

from wareader_pipelines.cli import backfill as backfill_module
from wareader_pipelines.cli import sample_run
from wareader_pipelines.cli.backfill import (
    daily_asset_keys,
    day_chunks,
    failure_line,
    parallel_plan,
    run_daily_ranges,
    submit_daily_backfill,
    worker_start_method,
)
from wareader_pipelines.cli.main import main as wareader_main
from wareader_pipelines.definitions import defs
from wareader_pipelines.lib.partitions import daily_partitions
from wareader_pipelines_tests.conftest import REPO_ROOT

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def test_day_chunks_cover_the_range_once_in_ranges_of_at_most_n_days() -> None:
    chunks = day_chunks(date(2024, 1, 1), date(2024, 12, 31), 92)
    assert chunks[0] == (date(2024, 1, 1), date(2024, 4, 1))
    assert chunks[-1][1] == date(2024, 12, 31)
    assert sum((end - start).days + 1 for start, end in chunks) == 366
    assert day_chunks(date(2024, 5, 2), date(2024, 5, 2), 92) == [(date(2024, 5, 2),) * 2]
    with pytest.raises(ValueError, match="before it starts"):
        day_chunks(date(2024, 5, 2), date(2024, 5, 1), 92)


def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, Path]:
    for name in list(os.environ):
        if name.startswith("WAREADER_"):
            monkeypatch.delenv(name)
    data, home = tmp_path / "data", tmp_path / "dagster_home"
    sample_run.seed_landing_zone(data / "landing")
    monkeypatch.setenv("WAREADER_DATA_DIR", str(data))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return data, home


def test_wareader_backfill_runs_one_ranged_run_of_the_selected_asset(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, home = _isolated(monkeypatch, tmp_path)
    status = wareader_main(
        ["backfill", "--from", "2024-05-01", "--to", "2024-05-07", "--select", "raw_messages"]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "all 1 runs succeeded" in out
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert (run.tags[RANGE_START], run.tags[RANGE_END]) == ("2024-05-01", "2024-05-07")
        assert {key.to_user_string() for key in run.asset_selection} == {"raw_messages"}
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as connection:
        days = connection.execute(
            "SELECT count(DISTINCT sent_at::DATE) FROM wareader.raw_messages"
        ).fetchone()[0]
        assert days > 1

    assert (
        wareader_main(["backfill", "--from", "2024-05-01", "--to", "2024-05-02", "--select", "x"])
        == 2
    )


@pytest.mark.heavy
def test_a_month_filed_like_the_ui_runs_as_one_ranged_run_through_the_daemon(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The local instance (queue of one run) with a real `dagster-daemon`, as `make ui` runs it."""
    data, home = _isolated(monkeypatch, tmp_path)
    sample_run.prepare_dagster_home(home)
    log = (tmp_path / "daemon.log").open("w")  # a file, not a pipe nobody reads (it would fill)
    daemon = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env={**os.environ, "PATH": "/usr/bin:/bin"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its code server and run workers share its process group
    )
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            backfill_id = submit_daily_backfill(
                defs(), instance, date(2024, 5, 1), date(2024, 5, 31)
            )
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                status = instance.get_backfill(backfill_id).status
                if status not in (BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING):
                    break
                assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
                time.sleep(2)
            runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
            failed = [run.run_id for run in runs if run.status != dg.DagsterRunStatus.SUCCESS]
            error = instance.get_backfill(backfill_id).error  # why the daemon failed it
            assert status == BulkActionStatus.COMPLETED_SUCCESS, (
                status,
                failed,
                error.to_string() if error else None,
                (tmp_path / "daemon.log").read_text()[-3000:],
            )
            assert len(runs) == 1
            assert (runs[0].tags[RANGE_START], runs[0].tags[RANGE_END]) == (
                "2024-05-01",
                "2024-05-31",
            )
            _every_day_has_its_check_result(instance, 31)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
        log.close()
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as connection:
        assert (
            connection.execute("SELECT count(*) FROM wareader.cleaned_messages").fetchone()[0] > 0
        )


def _every_day_has_its_check_result(instance: dg.DagsterInstance, days: int) -> None:
    """Each daily check's status per day, as the UI's partition list reads it: never Skipped."""
    checks = [
        key
        for key in defs().resolve_asset_graph().asset_check_keys
        if key.asset_key.to_user_string() in ("raw_messages", "cleaned_messages", "quarantine")
    ]
    assert len(checks) >= 4
    states = instance.event_log_storage.get_asset_check_state(
        [(key, daily_partitions) for key in checks]
    )
    for key in checks:
        by_status = {
            status.value: len(subset.subset_value.get_partition_keys())
            for status, subset in states[key].subsets.items()
            if len(subset.subset_value.get_partition_keys())
        }
        assert sum(by_status.get(s, 0) for s in ("SUCCEEDED", "FAILED")) == days, (key, by_status)


def test_the_last_line_counts_failed_runs() -> None:
    class Run:
        def __init__(self, success: bool) -> None:
            self.success = success

    assert failure_line([Run(True), Run(True)]) is None
    assert failure_line([Run(True), Run(False), Run(False)]) == "FAILED: 2 of 3 runs"


def test_the_demo_never_seeds_a_configured_landing_zone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _isolated(monkeypatch, tmp_path)
    configured = tmp_path / "their-landing"
    configured.mkdir()
    monkeypatch.setenv("WAREADER_LANDING_URI", str(configured))
    status = wareader_main(["demo", "--first-day", "2024-05-02", "--last-day", "2024-05-02"])
    out = capsys.readouterr().out
    assert f"using the configured landing zone {configured} (no sample copied)" in out
    assert list(configured.iterdir()) == []
    assert status == 0, out
    assert out.rstrip().splitlines()[-1].startswith("all ")


def test_a_parallel_plan_orders_what_reads_other_days_after_them() -> None:
    """Ingestion in any order; a chunk's cleaning after every older chunk's ingestion (it
    masks names seen before its days); each chunk's marts after its own assets and the older
    chunk's marts (they read a session gap before their days). Every ingestion is listed
    first: the last chunk's assets wait for all of it, so an ingestion started late leaves a
    worker idle at the end."""
    chunks = day_chunks(date(2024, 1, 1), date(2024, 3, 31), 31)
    plan = {run.name: run for run in parallel_plan(defs(), daily_asset_keys(defs()), chunks)}
    assert list(plan) == [f"ingest {i}" for i in range(3)] + [
        f"{stage} {i}" for i in range(3) for stage in ("assets", "marts")
    ]
    assert {key.to_user_string() for key in plan["ingest 1"].keys} == {
        "raw_messages",
        "message_statuses",
        "quarantine",
        "api_errors",
    }
    assert {key.to_user_string() for key in plan["marts 1"].keys} == {
        "fct_messages",
        "daily_conversation_metrics",
    }
    assert "cleaned_messages" in {key.to_user_string() for key in plan["assets 1"].keys}
    assert (plan["ingest 2"].after, plan["ingest 2"].after_finished) == ([], [])
    assert (plan["assets 2"].after, plan["assets 2"].after_finished) == (
        ["ingest 2"],
        ["ingest 0", "ingest 1"],
    )
    assert (plan["marts 0"].after, plan["marts 0"].after_finished) == (["assets 0"], [])
    assert (plan["marts 2"].after, plan["marts 2"].after_finished) == (["assets 2"], ["marts 1"])
    assert (plan["ingest 1"].start, plan["ingest 1"].end) == chunks[1]
    only_marts = parallel_plan(defs(), [dg.AssetKey("fct_messages")], chunks)
    assert [(run.name, run.after, run.after_finished) for run in only_marts] == [
        ("marts 0", [], []),
        ("marts 1", [], ["marts 0"]),
        ("marts 2", [], ["marts 1"]),
    ]


def test_backfill_workers_are_forked_only_from_a_process_running_one_thread() -> None:
    """A fork copies every lock of every thread as it is at that moment; with a second
    thread running the workers are spawned instead."""
    if threading.active_count() == 1:
        assert worker_start_method() == "fork"
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert worker_start_method() == "spawn"
    finally:
        stop.set()
        other.join()


def test_forked_backfill_workers_run_the_given_definitions_and_report_every_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Forked workers run the job of the definitions handed to `run_daily_ranges` (no
    definitions loaded again); each run's outcome comes back, a failed run as failed."""
    home = tmp_path / "dagster_home"
    sample_run.prepare_dagster_home(home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setattr(backfill_module, "worker_start_method", lambda: "fork")
    out = tmp_path / "out"
    out.mkdir()

    @dg.asset(partitions_def=daily_partitions)
    def days_seen(context) -> None:  # unannotated: Dagster cannot read a postponed annotation
        window = context.partition_time_window
        if window.start.day == 11:
            raise RuntimeError("this chunk fails")
        (out / f"{window.start:%m%d}-{os.getpid()}").write_text(str(len(context.partition_keys)))

    definitions = dg.Definitions(assets=[days_seen])
    with dg.DagsterInstance.get() as instance:
        results = run_daily_ranges(
            definitions,
            instance,
            date(2024, 1, 1),
            date(2024, 1, 15),
            workers=2,
            max_days_per_run=5,
            log=lambda line: None,
        )
        assert [result.success for result in results] == [True, True, False]
        assert all(instance.get_run_by_id(result.run_id) for result in results)
    written = {path.name.split("-")[0]: path for path in out.iterdir()}
    assert sorted(written) == ["0101", "0106"]
    assert [path.read_text() for _, path in sorted(written.items())] == ["5", "5"]
    # run in the workers, not here
    assert all(path.name.split("-")[1] != str(os.getpid()) for path in written.values())
