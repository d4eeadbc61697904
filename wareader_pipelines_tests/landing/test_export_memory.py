"""Parsing one accepted export stays under 4 x the text cap of memory (issue 12).

An export just under a 24 MiB cap (~330k messages, multi-line bodies, emoji), as a
.txt and as a zip with a media file, is parsed the way ingestion does it (streamed
from the landing zone into the Parquet cache) in a child process, whose peak
resident memory (VmHWM) is compared with what it held before: the growth must
stay under 4 x the cap. Before the parser streamed, the same file took ~23 x its size
(`python -m benchmarks.export_memory`).

Two hostile shapes go through the same child: a different author on every line (~620k
of them; before the parser capped distinct authors per export, its per-author state took
~12 x the cap), and a new date on every line, most of them in years no table stores,
in a third of the cap (before, its per-date state took ~16 x its size and the years
failed the whole export).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from wareader_pipelines.parsing.export_limits import DEFAULT_MAX_AUTHORS
from wareader_testkit.plain_export import export_text

CAP = 24 * 2**20
LANDED = datetime(2025, 1, 2, tzinfo=UTC)
_CHILD = textwrap.dedent(
    """
    import json, sys
    from wareader_pipelines.landing.window import IngestionStats, _ExportCache, _export_into_cache
    from wareader_pipelines.resources.landing_zone import LandingZone
    from wareader_pipelines.resources.pipeline_settings import PipelineSettings

    root, key, cap = sys.argv[1], sys.argv[2], int(sys.argv[3])
    zone = LandingZone(uri=root + "/landing")
    settings = PipelineSettings(
        pseudonym_key="k", cache_dir=root + "/cache", export_max_text_bytes=cap,
        export_workers=0,
    )
    pseudonyms = settings.pseudonyms()
    cache = _ExportCache(__import__("pathlib").Path(root) / "cache" / "exports", pseudonyms)
    landed = {item.key: item for item in zone.list("exports/")}
    # A small export first: everything parsing imports and initialises is then in place.
    _export_into_cache(zone, landed["exports/tiny.txt"], settings, pseudonyms, cache,
                       IngestionStats())

    def status(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024

    before = status("VmRSS")
    stats = IngestionStats()
    digest = _export_into_cache(zone, landed[key], settings, pseudonyms, cache, stats)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forked parent (pytest).
    peak = status("VmHWM")
    import pyarrow.parquet as pq
    messages_path = cache._paths(digest)[0]
    quarantine = pq.read_table(cache._paths(digest)[1], columns=["reason"])["reason"]
    print(json.dumps({
        "growth": peak - before,
        "messages": pq.ParquetFile(messages_path).metadata.num_rows,
        "quarantined": len(quarantine),
        "reasons": sorted(set(quarantine.to_pylist())),
        "rejected": stats.exports_rejected,
    }))
    """
)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    root = tmp_path_factory.mktemp("memory")
    exports = root / "landing" / "exports"
    exports.mkdir(parents=True)
    text = export_text(CAP - 2**20)
    (exports / "WhatsApp Chat with Big.txt").write_bytes(text)
    with zipfile.ZipFile(exports / "WhatsApp Chat with Big.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("WhatsApp Chat with Big.txt", text)
        z.writestr("IMG-20240513-WA0001.jpg", random.Random(1).randbytes(2**20))
    (exports / "tiny.txt").write_bytes(export_text(4096, seed=1))
    (exports / "WhatsApp Chat with Crowd.txt").write_bytes(_crowd_text(CAP - 2**20))
    # A third of the cap: its per-date state took ~5 x the cap before, at a third of the time.
    (exports / "WhatsApp Chat with Dates.txt").write_bytes(_dates_text(CAP // 3))
    for path in exports.iterdir():
        os.utime(path, (LANDED.timestamp(),) * 2)
    headers = sum(1 for line in text.split(b"\n") if line[:2].isdigit())
    return root, headers


def _crowd_text(size: int) -> bytes:
    """An Android export of at most `size` bytes whose every line has an author of its own."""
    return _lines_up_to(
        (
            f"13/05/2024, 21:{number % 60:02d} - Person {number:07d}: hi\n"
            for number in itertools.count()
        ),
        size,
    )


def _dates_text(size: int) -> bytes:
    """An Android export of at most `size` bytes whose every line has a date of its own, in
    the years 1000 to 9999 (only 1678 to 2261 can be stored)."""
    return _lines_up_to(
        (
            f"{day:02d}/{month:02d}/{year}, 21:05 - Ana: hi\n"
            for year, month, day in itertools.product(
                range(1000, 10000), range(1, 13), range(1, 29)
            )
        ),
        size,
    )


def _lines_up_to(lines: Iterator[str], size: int) -> bytes:
    """The first of `lines` that fit in `size` bytes together, encoded as one text."""
    kept = []
    total = 0
    for line in lines:
        encoded = line.encode()
        total += len(encoded)
        if total > size:
            return b"".join(kept)
        kept.append(encoded)
    raise AssertionError("the lines end before the size is reached")


def _parsed_in_a_child(root: Path, key: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root), key, str(CAP)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["growth"] < 4 * CAP, (
        f"{report['growth'] / 2**20:.0f} MiB for a {CAP // 2**20} MiB cap"
    )
    return report


@pytest.mark.parametrize(
    "key", ["exports/WhatsApp Chat with Big.txt", "exports/WhatsApp Chat with Big.zip"]
)
def test_parsing_an_export_at_the_cap_takes_under_four_times_the_cap(
    landing: tuple[Path, int], key: str
) -> None:
    root, headers = landing
    report = _parsed_in_a_child(root, key)
    assert report["rejected"] == [] and report["messages"] == headers
    assert report["quarantined"] == 0


def test_an_author_on_every_line_takes_under_four_times_the_cap(
    landing: tuple[Path, int],
) -> None:
    """The first DEFAULT_MAX_AUTHORS authors' lines are kept; every later author's line is
    quarantined with its reason, and the export still succeeds."""
    root, _ = landing
    report = _parsed_in_a_child(root, "exports/WhatsApp Chat with Crowd.txt")
    lines = (root / "landing/exports/WhatsApp Chat with Crowd.txt").read_bytes().count(b"\n")
    assert report["rejected"] == []
    assert report["messages"] == DEFAULT_MAX_AUTHORS
    assert report["quarantined"] == lines - DEFAULT_MAX_AUTHORS
    assert len(report["reasons"]) == 1 and "distinct senders" in report["reasons"][0]


def test_a_date_on_every_line_takes_under_four_times_the_cap(
    landing: tuple[Path, int],
) -> None:
    """Every storable date's line is kept, every other one quarantined with its reason."""
    root, _ = landing
    report = _parsed_in_a_child(root, "exports/WhatsApp Chat with Dates.txt")
    lines = (root / "landing/exports/WhatsApp Chat with Dates.txt").read_bytes().splitlines()
    storable = sum(1678 <= int(line[6:10]) <= 2261 for line in lines)
    assert 0 < storable < len(lines) // 2
    assert report["rejected"] == []
    assert report["messages"] == storable and report["quarantined"] == len(lines) - storable
    assert all("outside the years 1678-2261" in reason for reason in report["reasons"])
