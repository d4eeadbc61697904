"""Benchmark: peak memory of parsing one chat export, at several sizes, streamed vs whole.

For each size an Android export of that many bytes is generated (`wareader_testkit.plain_export`, as
`wareader_pipelines_tests/landing/test_export_memory.py` uses: five people, multi-line bodies,
media markers, emoji), then parsed in a fresh child process, two ways:

- `streamed`: as ingestion does it, from the landing-zone file into the Parquet cache a
  batch at a time (`window._export_into_cache`); the bound docs/operations.md states;
- `in memory` (the baseline, how every export was parsed before issue 12): the file's
  bytes read whole, `parse_export` (every row kept), then `frame_of` the rows.

Each child reports the growth of its peak resident memory (VmHWM; ru_maxrss would
include the forked parent's) over what it held
after parsing a small export first (imports done), the wall and CPU seconds of the parse,
and the 1-minute load average at start and end:

    python -m benchmarks.export_memory --sizes 16,64,128
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
mode, root, key = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
from datetime import UTC, datetime
from wareader_pipelines.landing.window import IngestionStats, _ExportCache, _export_into_cache
from wareader_pipelines.parsing.chat_export import parse_export
from wareader_pipelines.parsing.records import MessageRecord, frame_of
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings

zone = LandingZone(uri=str(root / "landing"))
settings = PipelineSettings(pseudonym_key="k", cache_dir=str(root / f"cache-{os.getpid()}"),
                            export_max_text_bytes=2**31, export_workers=0)
pseudonyms = settings.pseudonyms()
cache = _ExportCache(Path(settings.cache_dir) / "exports", pseudonyms)
landed = {item.key: item for item in zone.list("exports/")}

def parse(item):
    if mode == "streamed":
        digest = _export_into_cache(zone, item, settings, pseudonyms, cache, IngestionStats())
        import pyarrow.parquet as pq
        return pq.ParquetFile(cache._paths(digest)[0]).metadata.num_rows
    result = parse_export(item.key, zone.read(item.key), pseudonyms=pseudonyms,
                          landed_at=item.modified_at)
    return len(frame_of(result.messages, MessageRecord))

parse(landed["exports/tiny.txt"])
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

before = status("VmRSS")
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu, wall = usage.ru_utime + usage.ru_stime, time.perf_counter()
messages = parse(landed[key])
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "messages": messages,
    "wall": time.perf_counter() - wall,
    "cpu": usage.ru_utime + usage.ru_stime - cpu,
    "growth": status("VmHWM") - before,  # not ru_maxrss: Linux keeps the forked parent's
}))
"""


def _load() -> float:
    return os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="16,64", help="export sizes in MiB, comma separated")
    parser.add_argument("--modes", default="streamed,in memory")
    arguments = parser.parse_args()
    from wareader_testkit.plain_export import export_text

    with tempfile.TemporaryDirectory(prefix="export-memory-") as folder:
        root = Path(folder)
        exports = root / "landing" / "exports"
        exports.mkdir(parents=True)
        (exports / "tiny.txt").write_bytes(export_text(4096, seed=1))
        print(f"load {_load():.2f} at start")
        print(
            f"{'MiB':>5} {'mode':>10} {'messages':>9} {'wall s':>7} {'cpu s':>6} "
            f"{'peak growth MiB':>15} {'x text':>6}"
        )
        for size in [int(value) for value in arguments.sizes.split(",")]:
            key = f"exports/WhatsApp Chat with Size{size}.txt"
            text = export_text(size * 2**20)
            (root / "landing" / key).write_bytes(text)
            del text
            for mode in arguments.modes.split(","):
                done = subprocess.run(
                    [sys.executable, "-c", _CHILD, mode, str(root), key],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                report = json.loads(done.stdout.strip().splitlines()[-1])
                growth = report["growth"] / 2**20
                print(
                    f"{size:>5} {mode:>10} {report['messages']:>9} {report['wall']:>7.1f} "
                    f"{report['cpu']:>6.1f} {growth:>15.0f} {growth / size:>6.1f}"
                )
        print(f"load {_load():.2f} at end")


if __name__ == "__main__":
    main()
