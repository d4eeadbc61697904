"""Great Expectations validation of plain rules: failing counts, example rows, rule sets."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from wareader_pipelines.quality import expectations, rules
from wareader_pipelines.quality.expectations import (
    Between,
    InSet,
    InWindow,
    Matches,
    NotNull,
    Unique,
    UniqueTogether,
    examples_markdown,
    summary,
    validate,
    validate_by_partition,
)
from wareader_pipelines.quality.languages import ISO_639_1

START = datetime(2024, 5, 13, tzinfo=UTC)
END = datetime(2024, 5, 14, tzinfo=UTC)


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b", "b", None, "e"],
            "score": [0.5, 2.0, -1.0, None, -1.5],
            "language": ["en", "xx", "pt", None, "pt"],
            "sent_at": [
                "2024-05-13 01:00",
                "2024-05-14 00:00",  # the end is outside: windows are half-open
                "2024-05-13 23:59:59",
                None,
                "2024-05-12 23:00",
            ],
            "sha256": ["0" * 64, "ABC", None, "f" * 64, "f" * 63],
        },
        index=[10, 11, 12, 13, 14],  # validation must not depend on a 0..n index
    )


def test_each_rule_counts_its_failing_rows_with_examples() -> None:
    validation = validate(
        frame(),
        [
            Unique("id"),
            NotNull("id"),
            Between("score", -1, 1),
            InSet("language", ISO_639_1),
            InWindow("sent_at", START, END),
            Matches("sha256", rules.SHA256_HEX),
            UniqueTogether(("id", "language")),
        ],
        example_columns=["id"],
    )
    assert validation.failing_counts() == {
        "id unique": 2,
        "id not null": 1,
        "score in [-1, 1]": 2,
        "language in accepted values": 1,
        "sent_at inside the partition": 2,
        "sha256 matches ^[0-9a-f]{64}$": 2,
        "(id, language) unique": 0,
    }
    assert not validation.passed
    assert validation.failing_count == 10
    by_rule = {outcome.rule: outcome for outcome in validation.outcomes}
    assert by_rule["score in [-1, 1]"].examples == [
        {"id": "b", "score": 2.0},
        {"id": "e", "score": -1.5},
    ]
    assert by_rule["sent_at inside the partition"].examples == [
        {"id": "b", "sent_at": "2024-05-14T00:00:00+00:00"},
        {"id": "e", "sent_at": "2024-05-12T23:00:00+00:00"},
    ]
    assert by_rule["language in accepted values"].examples == [{"id": "b", "language": "xx"}]
    assert len(validation.examples()) == 5
    assert validation.examples()[0] == {"rule": "id unique", "id": "b"}


def test_a_clean_frame_passes_and_an_empty_one_too() -> None:
    clean = frame().iloc[[0, 2]]
    rules_ = [Unique("id"), NotNull("id"), InWindow("sent_at", START, END)]
    assert validate(clean, rules_).passed
    assert validate(clean.iloc[:0], rules_).passed


EVERY_KIND_OF_RULE = [
    Unique("id"),
    UniqueTogether(("id", "language")),
    NotNull("id"),
    Between("score", -1, 1),
    InWindow("sent_at", START, END),
    InSet("language", ISO_639_1),
    Matches("sha256", rules.SHA256_HEX),
]


def test_an_empty_frame_is_told_what_great_expectations_says_without_running_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Empty days (an empty range run) skip GX; its own verdict on empty frames is the same."""
    typed = frame().astype({"id": "string", "language": "string", "sha256": "string"})
    for empty in (frame().iloc[:0], typed.iloc[:0]):
        prepared = expectations._prepared(empty, EVERY_KIND_OF_RULE)
        by_gx = [
            expectations._outcome(rule, result, prepared, ["id"])
            for rule, result in zip(
                EVERY_KIND_OF_RULE,
                expectations._run_suite(prepared, EVERY_KIND_OF_RULE),
                strict=True,
            )
        ]
        with monkeypatch.context() as patched:
            patched.setattr(expectations, "_run_suite", None)  # any call would fail
            told = validate(empty, EVERY_KIND_OF_RULE, example_columns=["id"])
            by_day = validate_by_partition(
                empty, EVERY_KIND_OF_RULE, [], ["2024-05-13"], example_columns=["id"]
            )
        assert told.outcomes == by_gx
        assert told.row_count == 0 and told.passed
        assert by_day["2024-05-13"].outcomes == by_gx


def test_a_missing_column_fails_that_rule_only() -> None:
    validation = validate(frame().iloc[[0]], [NotNull("absent"), Unique("id")])
    absent, unique = validation.outcomes
    assert not absent.passed and absent.error == "missing columns ['absent']"
    assert unique.passed
    assert summary(validation)["rule_errors"] == {"absent not null": "missing columns ['absent']"}


def test_summary_and_markdown_carry_counts_and_rows() -> None:
    validation = validate(frame(), [NotNull("id"), Between("score", -1, 1)], example_columns=["id"])
    assert summary(validation) == {
        "failing_count": 3,
        "row_count": 5,
        "failing_by_rule": {"id not null": 1, "score in [-1, 1]": 2},
    }
    table = examples_markdown(validation)
    assert table.splitlines()[0] == "| rule | id | score |"
    assert "| score in [-1, 1] | e | -1.5 |" in table
    assert examples_markdown(validate(frame().iloc[[0]], [NotNull("id")])) == "_no failing rows_"


def test_rule_sets_name_the_contract_columns() -> None:
    assert len(ISO_639_1) == 184 and {"en", "pt", "es", "de", "zh"} <= ISO_639_1
    sentiment = rules.message_sentiment_blocking(START, END, "sent_at")
    assert Between("score", -1, 1) in sentiment
    assert InSet("label", frozenset({"positive", "neutral", "negative"})) in sentiment
    archives = rules.conversation_archives_blocking(START, END)
    assert NotNull("sha256") in archives and Matches("sha256", rules.SHA256_HEX) in archives
    summaries = rules.conversation_summaries_blocking(START, END, "day_start")
    assert Between("input_tokens", 0, None) in summaries
    assert Between("output_tokens", 0, None) in summaries
    assert InSet("language", ISO_639_1) in rules.cleaned_messages_warning()


def test_one_validation_over_a_range_tells_each_day_its_own_outcome() -> None:
    """Rows are judged once; each day counts its own rows and failures, unplaced rows in all."""
    days = pd.DataFrame(
        {
            "id": ["a", "b", "b", "c", "d"],
            "score": [0.5, 2.0, 0.1, 0.2, None],
        }
    )
    by_day = validate_by_partition(
        days,
        [Unique("id"), Between("score", -1, 1), NotNull("score")],
        ["2024-05-01", "2024-05-01", "2024-05-02", "2024-05-03", None],
        ["2024-05-01", "2024-05-02", "2024-05-03"],
        example_columns=["id"],
    )
    first, second, third = (by_day[day] for day in ("2024-05-01", "2024-05-02", "2024-05-03"))
    # Row "d" has no day: every day counts it (and its null score) among its rows.
    assert (first.row_count, second.row_count, third.row_count) == (3, 2, 2)
    # "b" is duplicated across two days: both days fail; the score 2.0 is the 1st's alone.
    assert first.failing_counts() == {"id unique": 1, "score in [-1, 1]": 1, "score not null": 1}
    assert second.failing_counts() == {"id unique": 1, "score in [-1, 1]": 0, "score not null": 1}
    assert third.failing_counts() == {"id unique": 0, "score in [-1, 1]": 0, "score not null": 1}
    assert [row["id"] for row in second.examples()] == ["b", "d"]
    assert not third.passed
    clean = validate_by_partition(
        days.iloc[[0, 3]],
        [Unique("id")],
        ["2024-05-01", "2024-05-03"],
        ["2024-05-01", "2024-05-02"],
    )
    assert clean["2024-05-01"].passed and clean["2024-05-02"].row_count == 0


def test_great_expectations_does_not_fingerprint_the_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    """GX hashes every column of a frame it validates only to name the batch; not wanted."""
    from great_expectations.execution_engine import pandas_execution_engine

    def no_fingerprint(frame: pd.DataFrame) -> str:
        raise AssertionError("the frame was fingerprinted")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", no_fingerprint)
    validation = validate(frame(), [Unique("id"), NotNull("id")])
    assert [o.failing_count for o in validation.outcomes] == [2, 1]
