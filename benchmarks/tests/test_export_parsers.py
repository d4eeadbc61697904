"""The export-parser benchmark: one generated export, read by every installed parser."""

from __future__ import annotations

from pathlib import Path

from benchmarks.export_parsers import measure, report
from wareader_testkit.generate_landing import generate_export


def test_one_export_is_generated_and_our_parser_reads_every_message(tmp_path: Path) -> None:
    path, generated = generate_export(tmp_path, messages=400)
    assert path.parent == tmp_path / "exports" and path.suffix == ".txt"
    assert generated.export_messages == 400
    assert path.read_text(encoding="utf-8").count("\n") >= 400

    results = measure(path, rounds=2, names=["ours", "ours, line parser"])
    assert results["ours"]["rows"] == results["ours, line parser"]["rows"] == 400
    assert len(results["ours"]["seconds"]) == len(results["ours"]["cpu"]) == 2

    # A peer's row, to check the ratio line without installing the peer here.
    results["whatstk"] = {
        "rows": 400,
        "seconds": [x * 5 for x in results["ours"]["seconds"]],
        "cpu": [x * 3 for x in results["ours"]["cpu"]],
    }
    table = report(results, 400, (1.0, 1.5))
    assert "| ours | 400 |" in table
    assert (
        "ours vs whatstk: 5.00× as fast; by CPU seconds 3.00× (target ≥ 4×: wall meets, CPU misses)"
        in table
    )
