"""Token estimates, speaker labels and splitting a day into chunks without losing text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wareader_pipelines.llm.chunking import (
    TranscriptLine,
    estimate_tokens,
    speaker_labels,
    split_into_chunks,
)


def test_estimates_err_high() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("hello world, how are you") == 8  # 24 bytes; real: ~6
    assert estimate_tokens("日本語") == 3  # one per character


def test_speaker_labels_in_order_of_appearance() -> None:
    labels = speaker_labels(["x", "y", "x", None, *[f"s{i}" for i in range(30)]])
    assert [labels["x"], labels["y"], labels[None], labels["s0"]] == ["A", "B", "C", "D"]
    assert labels["s29"] == "AG"


def test_rendering_keeps_newlines_visible() -> None:
    line = TranscriptLine(datetime(2024, 5, 1, 9, 5, tzinfo=UTC), "A", "one\ntwo")
    assert line.render() == "[09:05] A: one / two"


def test_chunks_fit_the_budget_and_keep_every_line_in_order() -> None:
    lines = [f"[09:{i:02d}] A: message {i} with a few words" for i in range(60)]
    chunks = split_into_chunks(lines, budget_tokens=60)
    assert len(chunks) > 5
    assert all(estimate_tokens(chunk) <= 60 for chunk in chunks)
    assert "\n".join(chunks).split("\n") == lines


def test_a_line_longer_than_the_budget_is_split_not_cut() -> None:
    words = [f"word{i}" for i in range(400)]
    chunks = split_into_chunks(["[09:00] A: " + " ".join(words)], budget_tokens=50)
    assert len(chunks) > 10
    assert all(estimate_tokens(chunk) <= 50 for chunk in chunks)
    joined = " ".join(chunks).replace(" (continued)", "")
    assert joined.split()[2:] == words


def test_text_without_spaces_is_split_too() -> None:
    chunks = split_into_chunks(["あ" * 300], budget_tokens=40)
    assert "".join(c.replace(" (continued)", "") for c in chunks) == "あ" * 300


def test_a_tiny_budget_is_refused() -> None:
    with pytest.raises(ValueError):
        split_into_chunks(["x"], budget_tokens=4)
