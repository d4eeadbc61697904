"""Benchmark: ingestion plus cleaning of a generated landing zone, at several sizes.

For each size the landing zone is generated first (not timed; reused from `--workdir`
when it is already there), then ONE fresh Python process per size runs, on a cold
parsed-export cache:

1. parse  `read_landing_window` over the whole generated range (webhook bodies and
          chat exports → raw_messages, message_statuses, quarantine, deduplicated);
2. setup  the language detector and spaCy's tokenizers, loaded once per process
          (a fixed cost, shown apart so that projections to other sizes are fair;
          streamed, paid once the first group is handed to the cleaning worker);
   clean  `clean_messages` (pseudonyms, normalization, PII masking, language, counts);
          of which "language detection" is the time spent inside the detector's
          `detect_batch`, measured in place by wrapping the detector (clean_messages
          does not report it itself);
3. write  `replace_rows` of raw_messages, message_statuses, quarantine and
          cleaned_messages into a fresh DuckDB file (streamed: one connection,
          `DuckDBBackend.streamed_writes`, whole row groups at a time).

It prints messages per second, wall time per stage, the CPU seconds of the run and of
its worker processes (on a shared machine CPU time drifts less than wall time), the peak
RSS of the run process (`ru_maxrss`, so imports and all stages count) and of its largest
worker (its VmHWM sampled from /proc: see `DescendantPeaks`), the strict readings from
high-water marks only (`_strict_sums`: run + the largest worker's whole VmHWM, run + every
worker's, and by phase), and the 1-minute load average; and compares against the targets of
issue 13 (1M messages in 60 s on 2 cores, peak memory under 1.5 GiB). The export parser's
comparison with its peers is `benchmarks/export_parsers.py`.

    python -m benchmarks.ingest_and_clean --sizes 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
TARGET_MESSAGES = 1_000_000
TARGET_SECONDS = 60.0
TARGET_PEAK_MIB = 1536
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
# The range streams through parse, clean and write this many days at a time. Half a month
# rather than a month: each group's frames, cleaning and write copies (~200 MiB at 1M for 31
# days) lie beside what the read holds for the whole range, so halving them cut the run's
# peak by ~100 MiB, for ~7 more CPU seconds of per-group work (measured under load 6-8).
DAYS_PER_GROUP = 16
# The generator's languages and spaCy's multi-language fallback: loaded before cleaning.
WARM_LANGUAGES: list[str | None] = ["en", "es", "pt", "de", "fr", "it", None]
_REPO_ROOT = Path(__file__).resolve().parents[1]


def _peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory so far, in MiB (Linux reports KiB): of this process, or with
    RUSAGE_CHILDREN of its largest finished child (the export workers)."""
    return resource.getrusage(who).ru_maxrss / 1024


def _cpu_seconds(who: int) -> float:
    """User plus system CPU seconds of this process or of its finished children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class DescendantPeaks(threading.Thread):
    """Samples the memory of every process descending from this one, and of all together.

    `RUSAGE_CHILDREN` cannot tell a spawned worker's memory: a child started by fork and
    exec keeps the RSS it had before the exec (Linux carries the old high-water mark over),
    so a fresh cleaning worker spawned by a 2 GiB process "peaks" at 2 GiB although it
    never holds more than a few hundred MiB. So each worker's memory is read from /proc
    while it lives (the last interval of a worker's life can be missed):

    - VmHWM, the high-water mark of its resident memory. For a forked worker (the export
      worker) it includes the pages it still shares with the run, counted in the run's
      own peak already;
    - its private memory (Private_Clean + Private_Dirty of smaps_rollup), what it holds
      beyond the run: the fair share to add to the run's peak;
    - beside them, at every sample, the run's resident memory plus every worker's private
      memory: the whole tree's memory at that moment (its peak: `together_kib`);
    - when a worker is first seen gone, the run's own VmHWM at that sample (`run_hwm_at_end`):
      the most the run held while that worker lived, an upper bound however the samples
      fall, as VmHWM only grows. With the workers' VmHWMs it bounds the whole tree without
      any sampled RSS (`strict_by_phase_mib`).
    """

    def __init__(self, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peaks_kib: dict[int, int] = {}  # VmHWM
        self.private_kib: dict[int, int] = {}
        self.spawned: set[int] = set()  # fresh interpreters (the cleaning worker), not forks
        self.together_kib = 0
        self.run_hwm_at_end: dict[int, int] = {}  # worker: the run's VmHWM when it was gone
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.sample()

    def sample(self) -> None:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as file:
                    parent = int(file.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
        together = _status_kib(os.getpid(), "VmRSS:") or 0
        run_hwm = _status_kib(os.getpid(), "VmHWM:") or 0
        pending = list(children.get(os.getpid(), []))
        seen: set[int] = set()
        while pending:
            pid = pending.pop()
            pending.extend(children.get(pid, []))
            high = _status_kib(pid, "VmHWM:")
            private = _private_kib(pid)
            if high is None or private is None:
                continue  # gone
            seen.add(pid)
            self.peaks_kib[pid] = max(self.peaks_kib.get(pid, 0), high)
            self.private_kib[pid] = max(self.private_kib.get(pid, 0), private)
            together += private
            if pid not in self.spawned and _is_spawned(pid):
                self.spawned.add(pid)
        self.together_kib = max(self.together_kib, together)
        for pid in self.peaks_kib.keys() - seen - self.run_hwm_at_end.keys():
            self.run_hwm_at_end[pid] = run_hwm

    def forked_mib(self) -> float:
        """The largest forked worker's whole VmHWM (the export worker), shared pages and all."""
        return (
            max((k for pid, k in self.peaks_kib.items() if pid not in self.spawned), default=0)
            / 1024
        )

    def all_mib(self) -> float:
        """Every worker's whole VmHWM added up, as if all had peaked at once."""
        return sum(self.peaks_kib.values()) / 1024

    def strict_by_phase_mib(self, run_peak_kib: int) -> float:
        """An upper bound of the whole tree's memory from high-water marks only: at any
        moment, the run holds at most its VmHWM at the next worker's end (or its peak), and
        only the workers not yet gone can hold anything, each at most its VmHWM. So the
        bound is, over the moments workers were seen gone (and the end), the run's VmHWM
        then plus the VmHWMs of every worker gone then or later. It counts pages a forked
        worker shares with the run twice, like the plain sums; unlike `together_kib`, no
        sample can miss a peak (only a worker living less than one interval is missed)."""
        ends = {pid: self.run_hwm_at_end.get(pid, run_peak_kib) for pid in self.peaks_kib}
        moments = sorted({*ends.values(), run_peak_kib})
        return (
            max(
                moment + sum(self.peaks_kib[pid] for pid, end in ends.items() if end >= moment)
                for moment in moments
            )
            / 1024
        )

    def largest_mib(self) -> float:
        return max(self.peaks_kib.values(), default=0) / 1024

    def largest_private_mib(self) -> float:
        return max(self.private_kib.values(), default=0) / 1024

    def spawned_mib(self) -> float:
        """The largest spawned worker's VmHWM (the cleaning worker: all of it is its own)."""
        return max((self.peaks_kib[pid] for pid in self.spawned), default=0) / 1024

    def own_mib(self) -> float:
        """The largest worker's own peak: a spawned worker's whole VmHWM (its shared
        libraries included), a forked worker's private memory (the pages it shares with
        the run are in the run's peak already)."""
        return (
            max(
                (
                    self.peaks_kib[pid] if pid in self.spawned else self.private_kib[pid]
                    for pid in self.peaks_kib
                ),
                default=0,
            )
            / 1024
        )


def _status_kib(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as file:
            for line in file:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _private_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as file:
            return sum(
                int(line.split()[1])
                for line in file
                if line.startswith(("Private_Clean:", "Private_Dirty:"))
            )
    except (OSError, ValueError):
        return None


def _is_spawned(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return b"spawn_main" in file.read()
    except OSError:
        return False


class LoadedLater:
    """A language detector made when first used (or `load`ed), named before it is made."""

    def __init__(self, name: str, make: Callable[[], Any]) -> None:
        self.name = name
        self._make = make
        self._inner: Any = None

    def load(self) -> Any:
        if self._inner is None:
            self._inner = self._make()
        return self._inner

    def detect_batch(self, texts: Sequence[str]) -> list[tuple[str | None, float]]:
        return self.load().detect_batch(texts)  # type: ignore[no-any-return]


class TimedDetector:
    """Wraps a language detector and adds up the wall time spent in its `detect_batch`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.seconds = 0.0
        self.texts = 0

    def detect_batch(self, texts: Sequence[str]) -> list[tuple[str | None, float]]:
        started = time.perf_counter()
        try:
            return self.inner.detect_batch(texts)
        finally:
            self.seconds += time.perf_counter() - started
            self.texts += len(texts)


def run_pipeline(
    landing: Path,
    start: datetime,
    end: datetime,
    work: Path,
    *,
    detector_name: str | None = None,
    languages: Sequence[str] = (),
    export_workers: int | None = None,
    days_per_group: int = DAYS_PER_GROUP,
) -> dict[str, Any]:
    """Run parse → clean → write over `landing` for [start, end); return the measurements.

    With `days_per_group` the range streams through the stages a group of days at a time
    (`read_landing_groups`, `RangeCleaner`, each group's rows replaced in the warehouse):
    only a group's rows are frames at once. With 0 the whole range is one window, cleaned
    and written at once. The stages' times and CPU seconds are summed over the groups.

    `work` receives the parsed-export cache (must be empty for a cold run) and the DuckDB
    file. Meant to run in a fresh process, so that the peak RSS belongs to this run.
    """
    imports_started = time.perf_counter()
    from wareader_pipelines.landing.window import read_landing_groups, read_landing_window
    from wareader_pipelines.lib import tables
    from wareader_pipelines.nlp.cleaning import CleaningWorkers, RangeCleaner, clean_messages
    from wareader_pipelines.nlp.language import language_detector
    from wareader_pipelines.nlp.text import Tokenizers
    from wareader_pipelines.resources.duckdb_warehouse import DuckDBBackend
    from wareader_pipelines.resources.landing_zone import LandingZone
    from wareader_pipelines.resources.pipeline_settings import PipelineSettings
    from wareader_pipelines.resources.warehouse_backend import TimeWindowFilter

    imports_seconds = time.perf_counter() - imports_started
    settings = PipelineSettings(
        pseudonym_key="benchmark-key",
        cache_dir=str(work / "cache"),
        languages=list(languages),
        **({"language_detector": detector_name} if detector_name else {}),
        export_workers=export_workers,
    )
    zone = LandingZone(uri=str(landing))
    backend = DuckDBBackend(str(work / "warehouse.duckdb"), schema="wareader")

    peaks = DescendantPeaks()
    peaks.start()
    load_before = os.getloadavg()[0]
    clock = _StageClock()

    # One-time costs every run process pays, whatever its size: the language model, and
    # spaCy's tokenizers (importing spacy.lang.fr alone compiles regexes for seconds).
    # Streamed, they are paid once the first group is read and handed to the cleaning
    # worker, which cleans it meanwhile (before, both cores waited on them but one);
    # whole-range, before the read, as the cleaning asset pays them.
    expected = tuple(settings.languages) or None
    model = LoadedLater(
        settings.language_detector,
        lambda: language_detector(settings.language_detector, expected),
    )
    detector = TimedDetector(model)
    tokenizers = Tokenizers()
    set_up: list[bool] = []

    def setup() -> None:
        if not set_up:
            model.load()
            tokenizers.word_counts(["warm up"] * len(WARM_LANGUAGES), WARM_LANGUAGES)
            clock.lap("setup")
            set_up.append(True)

    if not days_per_group:
        setup()

    if days_per_group:
        groups: Iterator[Any] = read_landing_groups(
            zone, start, end, settings=settings, days_per_group=days_per_group
        )
    else:
        groups = iter(
            [_Whole(start, end, read_landing_window(zone, start, end, settings=settings))]
        )
    workers = CleaningWorkers(
        settings.worker_processes(),
        settings.language_detector,
        expected,
        warm_languages=tuple(WARM_LANGUAGES),
    )
    cleaner = RangeCleaner(
        pseudonyms=settings.pseudonyms(),
        detector=detector,
        tokenizers=tokenizers,
        default_region=settings.phone_region,
        workers=workers,
    )
    if days_per_group:
        # The cleaning worker starts up (a few CPU seconds) while the first group is read.
        cleaner.start_workers()
    counts = {"messages": 0, "statuses": 0, "quarantine": 0, "groups": 0}
    languages_found: dict[str, int] = {}
    stats = None
    rss_after_parse = rss_after_clean = 0.0

    def write_ingestion(group: Any) -> None:
        """Write a group's ingestion tables (its raw rows stay with its cleaning batch)."""
        window = group.window
        for table, schema, frame, column in (
            ("raw_messages", tables.RAW_MESSAGES, window.raw_messages, "sent_at"),
            ("message_statuses", tables.MESSAGE_STATUSES, window.message_statuses, "status_at"),
            ("quarantine", tables.QUARANTINE, window.quarantine, "partition_at"),
        ):
            writes.replace_rows(
                table, schema, frame, TimeWindowFilter(column, group.start, group.end)
            )
        counts["messages"] += len(window.raw_messages)
        counts["statuses"] += len(window.message_statuses)
        counts["quarantine"] += len(window.quarantine)
        counts["groups"] += 1
        clock.lap("write")

    def finish(pending: list[Any]) -> None:
        """Collect the last group's cleaning and write it.

        Called before the next group's ingestion tables are written: the last group's raw
        rows (held by its batch until its cleaning is collected) are let go first, so a
        write's own copies (Arrow, then DuckDB's until the commit) never lie beside two
        groups' raw rows.
        """
        nonlocal rss_after_clean
        window_filter, batch = pending
        pending.clear()
        cleaned = batch.result()
        del batch  # the last hold on the group's raw rows
        clock.lap("clean")
        rss_after_clean = _peak_rss_mib()
        writes.replace_rows("cleaned_messages", tables.CLEANED_MESSAGES, cleaned, window_filter)
        for language, count in cleaned["language"].value_counts(dropna=False).items():
            languages_found[str(language)] = languages_found.get(str(language), 0) + count
        del cleaned
        clock.lap("write")

    # A group's cleaning starts (its days handed to the cleaning worker) before the last
    # group's cleaning is collected and before its own tables are written and the next
    # group is read: the worker cleans while this process reads and writes.
    pending: list[Any] = []
    # One warehouse connection for every group's writes, in whole row groups (the last,
    # partial ones inserted when it closes: that time is the write stage's too).
    with cleaner:
        with backend.streamed_writes() as writes:
            for group in _timed(groups, clock, "parse"):
                stats = group.window.stats
                rss_after_parse = rss_after_parse or _peak_rss_mib()
                if days_per_group:
                    batch = cleaner.start(group.window.raw_messages)
                else:  # one batch, as the cleaned_messages asset cleans a run's range
                    batch = _Done(
                        clean_messages(
                            group.window.raw_messages,
                            pseudonyms=settings.pseudonyms(),
                            detector=detector,
                            tokenizers=tokenizers,
                            default_region=settings.phone_region,
                            workers=workers,
                        )
                    )
                clock.lap("clean")
                setup()  # the first time only, while the worker cleans the first group
                if pending:
                    finish(pending)
                write_ingestion(group)
                pending = [TimeWindowFilter("sent_at", group.start, group.end), batch]
                del group, batch
            if pending:
                finish(pending)
        clock.lap("write")
    assert stats is not None, "at least one group"
    peaks.stop()
    return {
        "messages": counts["messages"],
        "statuses": counts["statuses"],
        "quarantine": counts["quarantine"],
        "groups": counts["groups"],
        "days_per_group": days_per_group,
        "duplicates_dropped": stats.duplicate_messages,
        "webhook_bodies": stats.webhook_bodies,
        "exports": stats.exports,
        "exports_from_cache": stats.exports_from_cache,
        "imports_s": imports_seconds,
        "parse_s": clock.wall["parse"],
        "setup_s": clock.wall["setup"],
        "clean_s": clock.wall["clean"],
        "language_detection_s": detector.seconds,
        "texts_detected": detector.texts,
        "detector": detector.name,
        "write_s": clock.wall["write"],
        "wall_s": sum(clock.wall.values()),
        "peak_rss_mib": _peak_rss_mib(),
        "peak_reached_in": clock.peak_lap,  # the stage's lap (1 = its first) that last raised it
        # The largest worker's own peak (see DescendantPeaks), and what RUSAGE_CHILDREN says
        # (inflated for spawned workers by the RSS of this process when it spawned them).
        "worker_peak_rss_mib": peaks.largest_mib(),
        "worker_peak_own_mib": peaks.own_mib(),
        "worker_peak_private_mib": peaks.largest_private_mib(),
        "cleaning_worker_peak_rss_mib": peaks.spawned_mib(),
        "together_peak_mib": peaks.together_kib / 1024,
        # The strict readings: whole VmHWMs only, shared pages counted twice (see _strict_sums).
        "export_worker_peak_rss_mib": peaks.forked_mib(),
        "all_workers_peak_rss_mib": peaks.all_mib(),
        "strict_by_phase_mib": peaks.strict_by_phase_mib(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        ),
        "worker_peak_rss_rusage_mib": _peak_rss_mib(resource.RUSAGE_CHILDREN),
        "workers_seen": len(peaks.peaks_kib),
        "cpu_s": sum(clock.cpu.values()),
        # CPU seconds of the run process per stage (parse excludes the export workers)
        "parse_cpu_s": clock.cpu["parse"],
        "setup_cpu_s": clock.cpu["setup"],
        "clean_cpu_s": clock.cpu["clean"],
        "write_cpu_s": clock.cpu["write"],
        "worker_cpu_s": _cpu_seconds(resource.RUSAGE_CHILDREN),
        # Other work on the machine slows every stage: the 1-minute load around the run.
        "load_average": [load_before, os.getloadavg()[0]],
        "cpus": os.cpu_count(),
        # after the (first group's) read, and after the (last group's) cleaning
        "peak_rss_after_parse_mib": rss_after_parse,
        "peak_rss_after_clean_mib": rss_after_clean,
        "languages": dict(sorted(languages_found.items(), key=lambda item: -item[1])[:8]),
    }


class _StageClock:
    """Wall and CPU seconds of this process per stage, each lap added to the stage it ends;
    and the lap in which the process's peak memory was last raised (where to look; "before
    the run" when the process had peaked higher already, as in a test process)."""

    def __init__(self) -> None:
        self.wall = {"parse": 0.0, "setup": 0.0, "clean": 0.0, "write": 0.0}
        self.cpu = dict(self.wall)
        self.laps = {stage: 0 for stage in self.wall}
        self.peak_lap = "before the run"
        self._peak = _peak_rss_mib()
        self._wall = time.perf_counter()
        self._cpu = _cpu_seconds(resource.RUSAGE_SELF)

    def lap(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), _cpu_seconds(resource.RUSAGE_SELF)
        self.wall[stage] += wall - self._wall
        self.cpu[stage] += cpu - self._cpu
        self.laps[stage] += 1
        peak = _peak_rss_mib()
        if peak > self._peak:
            self._peak, self.peak_lap = peak, f"{stage} #{self.laps[stage]}"
        self._wall, self._cpu = wall, cpu


def _timed(items: Iterator[T], clock: _StageClock, stage: str) -> Iterator[T]:
    """`items`, the time spent producing each one added to `stage`."""
    for item in items:
        clock.lap(stage)
        yield item


@dataclass(frozen=True)
class _Done:
    """A batch cleaned already (`--days-per-group 0`)."""

    frame: Any

    def result(self) -> Any:
        return self.frame


@dataclass(frozen=True)
class _Whole:
    """The whole range as one group (`--days-per-group 0`)."""

    start: datetime
    end: datetime
    window: Any


def _landing_for(workdir: Path, size: int, seed: int, webhook_share: float) -> dict[str, Any]:
    """Generate the landing zone of `size` messages (or reuse it); return its summary."""
    from wareader_testkit.generate_landing import generate_landing

    folder = workdir / f"landing-{size}-seed{seed}-share{webhook_share:g}"
    summary_file = folder / "generated.json"
    if summary_file.exists():
        return json.loads(summary_file.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    generated = generate_landing(
        folder / "landing", messages=size, seed=seed, webhook_share=webhook_share
    )
    summary = generated.summary() | {"generate_s": time.perf_counter() - started}
    summary_file.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    return summary


def _run_child(summary: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Run `run_pipeline` for one generated landing zone in a fresh Python process."""
    with tempfile.TemporaryDirectory(prefix="wareader-bench-") as scratch:
        result_file = Path(scratch) / "result.json"
        command = [
            sys.executable,
            "-m",
            "benchmarks.ingest_and_clean",
            "--run-one",
            summary["root"],
            "--start",
            summary["start"],
            "--end",
            summary["end"],
            "--scratch",
            scratch,
            "--result-file",
            str(result_file),
        ]
        if args.detector:
            command += ["--detector", args.detector]
        if args.export_workers is not None:
            command += ["--export-workers", str(args.export_workers)]
        if args.languages:
            command += ["--languages", args.languages]
        command += ["--days-per-group", str(args.days_per_group)]
        started = time.perf_counter()
        subprocess.run(command, check=True, cwd=_REPO_ROOT)
        result = json.loads(result_file.read_text())
        result["process_s"] = time.perf_counter() - started
        return result


def _peak_sum_mib(result: dict[str, Any]) -> float:
    """The run's peak plus its largest worker's own peak: the figure held to the target.

    An upper bound of the memory the run and its workers hold at once (the two peaks need
    not fall together). A worker's own peak is a spawned worker's whole VmHWM, a forked
    one's private memory: its VmHWM also counts the pages it shares with the run, which
    the run's peak holds already (both VmHWMs are printed; `together_peak_mib` is the
    whole tree sampled at once)."""
    return float(result["peak_rss_mib"] + result["worker_peak_own_mib"])


def _strict_sums(result: dict[str, Any]) -> tuple[float, float, float]:
    """The strict readings of the run's and its workers' memory, from high-water marks only
    (no sampled RSS), each worker's shared pages counted in full:

    - run + the largest worker's whole VmHWM (the forked export worker's, whose VmHWM
      holds the ~250 MiB of imports it shares with the run);
    - run + every worker's whole VmHWM, as if all peaked at once (the export worker is
      gone before the first group is built, when the run peaks);
    - by phase (`DescendantPeaks.strict_by_phase_mib`): the run's VmHWM when each worker
      was gone, plus the VmHWMs of the workers still there: the tightest strict bound.
    """
    run = float(result["peak_rss_mib"])
    return (
        run + float(result["worker_peak_rss_mib"]),
        run + float(result["all_workers_peak_rss_mib"]),
        float(result["strict_by_phase_mib"]),
    )


def report_table(rows: list[tuple[int, dict[str, Any], dict[str, Any]]]) -> str:
    """The results table, then the comparison with the named baselines."""
    lines = [
        "| size | msg/s | wall s | parse s | setup s | clean s | of which lang-det s "
        "| write s | CPU s (+ workers) | CPU s parse/setup/clean/write | peak MiB run + worker = sum "
        "| strict MiB: run + largest VmHWM / + all VmHWMs / by phase | 1M projected s | load |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, _, r in rows:
        wall = r["wall_s"]
        detect = r["language_detection_s"]
        # Setup is paid once per process; the rest grows with the number of messages.
        projected = r["setup_s"] + (wall - r["setup_s"]) * TARGET_MESSAGES / max(r["messages"], 1)
        lines.append(
            f"| {size:,} | {r['messages'] / wall:,.0f} | {wall:.1f} | {r['parse_s']:.1f} "
            f"| {r['setup_s']:.1f} | {r['clean_s']:.1f} | {detect:.1f} ({detect / wall:.1%}) "
            f"| {r['write_s']:.1f} | {r['cpu_s']:.1f} (+{r['worker_cpu_s']:.1f}) "
            f"| {r['parse_cpu_s']:.1f}/{r['setup_cpu_s']:.1f}/{r['clean_cpu_s']:.1f}"
            f"/{r['write_cpu_s']:.1f} "
            f"| {r['peak_rss_mib']:,.0f} + {r['worker_peak_own_mib']:,.0f} "
            f"= {_peak_sum_mib(r):,.0f} "
            f"| {' / '.join(f'{value:,.0f}' for value in _strict_sums(r))} | {projected:,.0f} "
            f"| {r['load_average'][0]:.1f}–{r['load_average'][1]:.1f} |"
        )
    lines.append("")
    lines.append(
        f"Baseline (target): {TARGET_MESSAGES:,} messages in {TARGET_SECONDS:.0f} s "
        f"= {TARGET_MESSAGES / TARGET_SECONDS:,.0f} msg/s, peak RSS < {TARGET_PEAK_MIB:,} MiB."
    )
    for size, generated, r in rows:
        rate = r["messages"] / r["wall_s"]
        fast_enough = rate >= TARGET_MESSAGES / TARGET_SECONDS
        # The workers live beside the run process: count the largest one too.
        small_enough = _peak_sum_mib(r) <= TARGET_PEAK_MIB
        largest, every, by_phase = _strict_sums(r)
        parse_rate = r["messages"] / r["parse_s"] if r["parse_s"] else 0.0
        lines.append(
            f"- {size:,}: rate {'meets' if fast_enough else 'misses'} the target "
            f"({rate / (TARGET_MESSAGES / TARGET_SECONDS):.0%} of it), memory "
            f"{'within' if small_enough else 'over'} it (run {r['peak_rss_mib']:,.0f} MiB + "
            f"largest worker's own {r['worker_peak_own_mib']:,.0f} = {_peak_sum_mib(r):,.0f}; "
            f"VmHWM: cleaning worker {r['cleaning_worker_peak_rss_mib']:,.0f}, largest worker "
            f"{r['worker_peak_rss_mib']:,.0f} (run + that = "
            f"{r['peak_rss_mib'] + r['worker_peak_rss_mib']:,.0f}); largest private "
            f"{r['worker_peak_private_mib']:,.0f}; whole tree at once "
            f"{r['together_peak_mib']:,.0f} sampled); strictly, from high-water marks "
            f"only (shared pages counted twice): run + the largest worker's VmHWM "
            f"{largest:,.0f} ({'within' if largest <= TARGET_PEAK_MIB else 'over'}, export "
            f"worker {r['export_worker_peak_rss_mib']:,.0f}), run + every worker's VmHWM "
            f"{every:,.0f} ({'within' if every <= TARGET_PEAK_MIB else 'over'}), by phase "
            f"{by_phase:,.0f} ({'within' if by_phase <= TARGET_PEAK_MIB else 'over'}); "
            f"parse stage {parse_rate / 1000:.1f}k "
            f"msg/s; {r['messages']:,} messages kept of {generated['messages']:,} generated "
            f"({r['duplicates_dropped']:,} duplicate deliveries dropped); "
            f"{r['texts_detected']:,} texts sent to the {r['detector']} detector; "
            f"imports {r['imports_s']:.1f} s and process {r['process_s']:.1f} s not in wall; "
            f"load average {r['load_average'][0]:.1f} → {r['load_average'][1]:.1f} "
            f"on {r['cpus']} CPUs."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Generate, then measure each size in its own process; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default=",".join(str(s) for s in DEFAULT_SIZES), help="comma list of sizes"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--webhook-share", type=float, default=0.3)
    parser.add_argument("--detector", help="fasttext or langdetect (default: the settings')")
    parser.add_argument(
        "--export-workers",
        type=int,
        help="processes parsing exports beside the run (default: the settings', CPUs - 1)",
    )
    parser.add_argument("--languages", help="comma list of expected ISO 639-1 codes")
    parser.add_argument(
        "--days-per-group",
        type=int,
        default=DAYS_PER_GROUP,
        help="stream the range this many days at a time (0: the whole range as one window)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep generated landing zones here and reuse them (default: a temp dir, removed)",
    )
    parser.add_argument("--json", type=Path, help="also write all measurements to this file")
    # Internal: one measured run, in the child process.
    parser.add_argument("--run-one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--start", type=datetime.fromisoformat, help=argparse.SUPPRESS)
    parser.add_argument("--end", type=datetime.fromisoformat, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.run_one is not None:
        languages = [c for c in (args.languages or "").split(",") if c.strip()]
        result = run_pipeline(
            args.run_one,
            args.start,
            args.end,
            args.scratch,
            detector_name=args.detector,
            export_workers=args.export_workers,
            languages=languages,
            days_per_group=args.days_per_group,
        )
        args.result_file.write_text(json.dumps(result))
        return

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="wareader-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    try:
        for size in sizes:
            generated = _landing_for(workdir, size, args.seed, args.webhook_share)
            result = _run_child(generated, args)
            rows.append((size, generated, result))
            print(
                f"{size:,}: {result['messages']:,} messages in {result['wall_s']:.1f} s, "
                f"peak {result['peak_rss_mib']:,.0f} MiB run + "
                f"{result['worker_peak_own_mib']:,.0f} MiB largest worker's own "
                f"= {_peak_sum_mib(result):,.0f} MiB; strict (run + largest VmHWM / + all "
                f"VmHWMs / by phase) {' / '.join(f'{v:,.0f}' for v in _strict_sums(result))} MiB",
                flush=True,
            )
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(report_table(rows))
    if args.json:
        args.json.write_text(
            json.dumps(
                [{"size": s, "generated": g, "result": r} for s, g, r in rows],
                indent=2,
                ensure_ascii=False,
            )
        )


if __name__ == "__main__":
    main()
