"""The benchmark's measured run: it really ingests, cleans and writes, and reports honestly."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from benchmarks.ingest_and_clean import (
    DescendantPeaks,
    LoadedLater,
    TimedDetector,
    report_table,
    run_pipeline,
)
from wareader_testkit.generate_landing import generate_landing


class _SlowDetector:
    name = "fake"

    def detect_batch(self, texts: list[str]) -> list[tuple[str | None, float]]:
        return [("en", 1.0) for _ in texts]


def test_timed_detector_delegates_and_counts() -> None:
    timed = TimedDetector(_SlowDetector())
    assert timed.detect_batch(["a", "b"]) == [("en", 1.0), ("en", 1.0)]
    assert timed.detect_batch([]) == []
    assert timed.texts == 2
    assert timed.seconds > 0
    assert timed.name == "fake"


def test_a_detector_loaded_later_is_made_once_at_its_first_use() -> None:
    """The streamed run loads its language model after the first group is read: named at
    once, made at `load` or at the first batch, and only once."""
    made: list[_SlowDetector] = []
    later = LoadedLater("fake", lambda: made.append(_SlowDetector()) or made[-1])
    timed = TimedDetector(later)
    assert timed.name == "fake" and made == []
    assert timed.detect_batch(["a"]) == [("en", 1.0)]
    assert later.load() is made[0] and len(made) == 1


def test_run_pipeline_writes_every_message_and_times_each_stage(tmp_path: Path) -> None:
    generated = generate_landing(tmp_path / "landing", messages=800, seed=3)
    work = tmp_path / "work"
    result = run_pipeline(generated.root, generated.start, generated.end, work)

    assert result["messages"] == generated.messages
    assert result["statuses"] == generated.statuses
    assert result["duplicates_dropped"] == generated.duplicate_messages
    assert result["exports_from_cache"] == 0  # a cold run
    assert result["groups"] == 23  # a year streamed 16 days at a time
    # The stages split the wall time between consecutive clock readings, whatever the load:
    # they add up to it, and detection is a part of cleaning.
    stages = result["parse_s"] + result["setup_s"] + result["clean_s"] + result["write_s"]
    assert stages == pytest.approx(result["wall_s"])
    assert all(result[stage] >= 0 for stage in ("parse_s", "setup_s", "clean_s", "write_s"))
    assert 0 < result["language_detection_s"] <= result["clean_s"]
    assert 0 < result["texts_detected"] < generated.messages  # short texts are not detected
    assert result["peak_rss_mib"] >= result["peak_rss_after_parse_mib"] > 0
    # A test process may have peaked higher before this run (another test on this worker).
    assert result["peak_reached_in"].split(" #")[0] in {
        "parse",
        "setup",
        "clean",
        "write",
        "before the run",
    }
    # The spawned cleaning worker is seen and counted with its whole own memory; the sampled
    # tree holds the run and at least that worker's private memory.
    assert 50 < result["cleaning_worker_peak_rss_mib"] <= result["worker_peak_rss_mib"]
    assert 0 < result["worker_peak_private_mib"] <= result["worker_peak_rss_mib"]
    assert result["cleaning_worker_peak_rss_mib"] <= result["worker_peak_own_mib"]
    assert result["worker_peak_own_mib"] <= result["worker_peak_rss_mib"]
    assert result["together_peak_mib"] > result["worker_peak_private_mib"]
    # The strict readings, from high-water marks only: by phase at least the run's peak with
    # the cleaning worker (alive to the end), at most the run's peak with every worker.
    run_and_cleaning = result["peak_rss_mib"] + result["cleaning_worker_peak_rss_mib"]
    every = result["peak_rss_mib"] + result["all_workers_peak_rss_mib"]
    assert run_and_cleaning <= result["strict_by_phase_mib"] <= every
    assert result["export_worker_peak_rss_mib"] <= result["worker_peak_rss_mib"]
    assert set(result["languages"]) & {"en", "es", "pt", "de", "fr", "it"}

    with duckdb.connect(str(work / "warehouse.duckdb"), read_only=True) as connection:
        counts = {
            table: connection.execute(f"select count(*) from wareader.{table}").fetchone()[0]
            for table in ("raw_messages", "cleaned_messages", "message_statuses", "quarantine")
        }
    assert counts == {
        "raw_messages": generated.messages,
        "cleaned_messages": generated.messages,
        "message_statuses": generated.statuses,
        "quarantine": generated.malformed_bodies,
    }

    result["process_s"] = result["wall_s"] + result["imports_s"]
    table = report_table([(800, generated.summary(), result)])
    assert "| 800 |" in table
    assert "1,000,000 messages in 60 s" in table
    assert "peak RSS < 1,536 MiB" in table
    total = result["peak_rss_mib"] + result["worker_peak_own_mib"]
    assert f"= {total:,.0f} |" in table  # run + largest worker's own = sum, held to the target
    strict = result["peak_rss_mib"] + result["worker_peak_rss_mib"]
    assert f"run + the largest worker's VmHWM {strict:,.0f}" in table
    assert result["cpu_s"] > 0 and result["worker_cpu_s"] >= 0
    stages = ("parse_cpu_s", "setup_cpu_s", "clean_cpu_s", "write_cpu_s")
    assert all(result[stage] >= 0 for stage in stages)
    assert abs(sum(result[stage] for stage in stages) - result["cpu_s"]) < 1e-6


def test_the_strict_bound_by_phase_adds_only_the_workers_not_yet_gone() -> None:
    """A worker gone when the run had peaked at 500 MiB counts beside those 500 MiB, not
    beside the run's later peak; a worker alive to the end counts beside that peak."""
    peaks = DescendantPeaks()
    mib = 1024
    peaks.peaks_kib = {1: 250 * mib, 2: 220 * mib, 3: 10 * mib}
    # 1 (the export worker) was gone when the run's VmHWM was 500 MiB; 2 and 3 at the end.
    peaks.run_hwm_at_end = {1: 500 * mib, 2: 1200 * mib}
    bound = peaks.strict_by_phase_mib(1200 * mib)
    # while 1 lived: 500 + 250 + 220 + 10; afterwards: 1200 + 220 + 10
    assert bound == max(500 + 250 + 220 + 10, 1200 + 220 + 10) == 1430
    peaks.run_hwm_at_end = {1: 1000 * mib, 2: 1200 * mib}
    assert peaks.strict_by_phase_mib(1200 * mib) == 1000 + 250 + 220 + 10
    assert peaks.all_mib() == 480 and peaks.forked_mib() == 250
