"""Benchmark: our chat-export parser against whatstk and chat-miner, same file, same run.

One unzipped Android export (`dd/mm/yyyy, HH:MM - `, the layout both peers read without
help) is generated with `generate_landing.generate_export`, then every parser reads it in
turn, several rounds, alternating, in ONE process. On a shared machine absolute times
drift with the load; the ratio between parsers measured side by side holds, so the script
prints each parser's best round and the ratio of ours to each peer.

What each parser does in the timed part, from the file's path to a DataFrame:
- ours: read the bytes, `parse_export_batches(columnar=True)` (types, system lines, media
  markers, edits, keyed message ids and conversation id, sender names and numbers), as
  ingestion runs it, its Arrow batches made one pandas DataFrame over the Arrow columns
  (`pd.ArrowDtype`: ingestion keeps Arrow, never a Python object per value);
- ours, object DataFrame: the same, made a DataFrame of NumPy object columns as the
  peers' are (a Python object for every value of our 20 columns);
- ours, line parser: `parse_export` (one record per message, the parser before) and
  `frame_of` the rows;
- whatstk: `WhatsAppChat.from_source(filepath=..., hformat=...)` (the header format given,
  so its auto-detection is not timed);
- chat-miner: `WhatsAppParser(path).parse_file()` and its DataFrame.

The peers are not project dependencies: install them into a separate environment with
`make bench-peers` (the project's lock plus `benchmarks/requirements-peers.lock`). A
peer that is not installed is reported as such and left out of the ratios.

    python -m benchmarks.export_parsers --messages 200000 --rounds 3 [--parsers ours,whatstk]

The ratio to whatstk is judged against issue 13's target (4×) both by wall and by CPU
seconds of the process.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TARGET_RATIO = 4.0  # issue 13: at least 4x whatstk on the same file
WHATSTK_HFORMAT = "%d/%m/%Y, %H:%M - %name:"


def _our_batches(path: Path) -> Any:
    """The whole-block parser, as ingestion runs it (`columnar=True`), its batches as one
    Arrow table."""
    import pyarrow as pa

    from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
    from wareader_pipelines.parsing.chat_export import parse_export_batches

    parsing = parse_export_batches(
        f"exports/{path.name}",
        path.read_bytes(),
        pseudonyms=Pseudonymizer("benchmark-key"),
        landed_at=datetime(2025, 1, 2, tzinfo=UTC),
        columnar=True,
    )
    return pa.concat_tables([batch.message_table() for batch in parsing.batches])


def _ours(path: Path) -> int:
    """Ours to a pandas DataFrame backed by the Arrow columns (`pd.ArrowDtype`): the
    columns ingestion stores, in the peers' container, without a Python object per value."""
    import pandas as pd

    return len(_our_batches(path).to_pandas(types_mapper=pd.ArrowDtype))


def _ours_objects(path: Path) -> int:
    """Ours to a DataFrame of NumPy object columns, as the peers' are: the same parse plus
    one Python object per value of our 20 columns (the peers make 3 or 4)."""
    return len(_our_batches(path).to_pandas())


def _ours_by_line(path: Path) -> int:
    """The line parser (`parse_export`, one record per message) and `frame_of`: the parser
    before the whole-block one, and what `parse_export` still uses."""
    from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
    from wareader_pipelines.parsing.chat_export import parse_export
    from wareader_pipelines.parsing.records import MessageRecord, frame_of

    result = parse_export(
        f"exports/{path.name}",
        path.read_bytes(),
        pseudonyms=Pseudonymizer("benchmark-key"),
        landed_at=datetime(2025, 1, 2, tzinfo=UTC),
    )
    return len(frame_of(result.messages, MessageRecord))


def _whatstk(path: Path) -> int:
    from whatstk.whatsapp.objects import WhatsAppChat

    return len(WhatsAppChat.from_source(filepath=str(path), hformat=WHATSTK_HFORMAT).df)


def _chat_miner(path: Path) -> int:
    from chatminer.chatparsers import WhatsAppParser

    parser = WhatsAppParser(path)
    parser.parse_file()
    return len(parser.parsed_messages.get_df())


PARSERS: dict[str, Callable[[Path], int]] = {
    "ours": _ours,
    "ours, object DataFrame": _ours_objects,
    "ours, line parser": _ours_by_line,
    "whatstk": _whatstk,
    "chat-miner": _chat_miner,
}

SHORT_NAMES = {
    "ours": "ours",
    "objects": "ours, object DataFrame",
    "lines": "ours, line parser",
    "whatstk": "whatstk",
    "chat-miner": "chat-miner",
}
"""`--parsers` names of the PARSERS."""


def _installed(name: str) -> bool:
    module = {
        "ours": "wareader_pipelines",
        "ours, object DataFrame": "wareader_pipelines",
        "ours, line parser": "wareader_pipelines",
        "whatstk": "whatstk",
        "chat-miner": "chatminer",
    }[name]
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _cpu_seconds() -> float:
    """CPU seconds of this process and its children, user and system."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(path: Path, rounds: int, names: list[str]) -> dict[str, dict[str, Any]]:
    """Each parser's rows and seconds per round, rounds alternating between parsers."""
    results: dict[str, dict[str, Any]] = {
        name: {"seconds": [], "cpu": [], "rows": None} for name in names
    }
    for name in names:  # a first, untimed pass: imports and warm caches for everyone
        results[name]["rows"] = PARSERS[name](path)
    for _ in range(rounds):
        for name in names:
            gc.collect()
            started, cpu = time.perf_counter(), _cpu_seconds()
            PARSERS[name](path)
            results[name]["seconds"].append(time.perf_counter() - started)
            results[name]["cpu"].append(_cpu_seconds() - cpu)
    return results


def report(results: dict[str, dict[str, Any]], messages: int, load: tuple[float, float]) -> str:
    """Best round per parser (wall and CPU), msg/s, and our ratio to each peer."""
    lines = [
        "| parser | rows | best s | best CPU s | msg/s | rounds s |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, result in results.items():
        best = min(result["seconds"])
        rounds = ", ".join(f"{s:.2f}" for s in result["seconds"])
        lines.append(
            f"| {name} | {result['rows']:,} | {best:.2f} | {min(result['cpu']):.2f} "
            f"| {messages / best:,.0f} | {rounds} |"
        )
    lines.append("")
    ours = min(results["ours"]["seconds"])
    for name, result in results.items():
        if name == "ours":
            continue
        ratio = min(result["seconds"]) / ours
        cpu_ratio = min(result["cpu"]) / min(results["ours"]["cpu"])
        target = ""
        if name == "whatstk":
            by_wall = "meets" if ratio >= TARGET_RATIO else "misses"
            by_cpu = "meets" if cpu_ratio >= TARGET_RATIO else "misses"
            target = f" (target ≥ {TARGET_RATIO:g}×: wall {by_wall}, CPU {by_cpu})"
        lines.append(
            f"- ours vs {name}: {ratio:.2f}× as fast; by CPU seconds {cpu_ratio:.2f}×{target}"
        )
    lines.append(f"- load average {load[0]:.1f} → {load[1]:.1f} on {os.cpu_count()} CPUs")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Generate the file, measure every installed parser, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--parsers",
        default=",".join(SHORT_NAMES),
        help=f"comma-separated, from: {', '.join(SHORT_NAMES)} (default: all; ours always)",
    )
    args = parser.parse_args(argv)
    chosen = {name.strip() for name in args.parsers.split(",")} | {"ours"}
    unknown = sorted(chosen - set(SHORT_NAMES))
    if unknown:
        parser.error(f"unknown parsers {unknown}: choose from {', '.join(SHORT_NAMES)}")
    wanted = [SHORT_NAMES[name] for name in SHORT_NAMES if name in chosen]

    from wareader_testkit.generate_landing import generate_export

    names = [name for name in wanted if _installed(name)]
    missing = [name for name in wanted if name not in names]
    with tempfile.TemporaryDirectory(prefix="wareader-peers-") as scratch:
        path, generated = generate_export(Path(scratch), messages=args.messages, seed=args.seed)
        print(f"{path.name}: {generated.export_messages:,} messages, {path.stat().st_size:,} bytes")
        load_before = os.getloadavg()[0]
        results = measure(path, args.rounds, names)
        load = (load_before, os.getloadavg()[0])
    print(report(results, generated.export_messages, load))
    if missing:
        print(f"- not installed, left out: {', '.join(missing)} (see `make bench-peers`)")


if __name__ == "__main__":
    main()
