"""message_sentiment materialized offline and through batched LLM requests over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pandas as pd

from wareader_pipelines.defs.enrichment.sentiment import message_sentiment
from wareader_pipelines.resources.llm import LLMResource
from wareader_pipelines.resources.warehouse import WarehouseIOManager, backend_for
from wareader_pipelines_tests.llm.frames import (
    DAY,
    SAMPLE_PHONES,
    cleaned_frame,
    message,
    sample_day,
    upstream,
)
from wareader_testkit.fake_llm import MALFORMED, WRONG_IDS, FakeLLMServer


def _materialize(
    tmp_path: Path, frame: pd.DataFrame, llm: LLMResource
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [upstream(frame), message_sentiment],
        partition_key=DAY,
        resources={"io_manager": WarehouseIOManager(url=str(tmp_path / "w.duckdb")), "llm": llm},
    )


def _table(tmp_path: Path) -> pd.DataFrame:
    return backend_for(str(tmp_path / "w.duckdb")).read_rows(
        "message_sentiment", None, ["sent_at", "message_id"]
    )


def _openai(server: FakeLLMServer, tmp_path: Path, **config: object) -> LLMResource:
    return LLMResource(
        provider="openai",
        api_key="test-key",
        base_url=server.openai_base_url,
        cache_path=str(tmp_path / "llm.sqlite"),
        tokens_per_minute=0,
        **config,
    )


def test_offline_scores_english_with_vader_others_by_emoji_and_never_guesses(
    tmp_path: Path,
) -> None:
    _materialize(tmp_path, sample_day(), LLMResource())

    table = _table(tmp_path).set_index("message_id")
    # One row per message with text: not the caption-less image, not the system line.
    assert len(table) == 8
    english = table[table["language"] == "en"]
    assert set(english["method"]) == {"vader"}
    assert english.loc[english["score"].idxmax(), "label"] == "positive"
    emoji_row = table.loc["wamid.conv-es.9.13.cust-2"]
    assert (emoji_row["method"], emoji_row["label"]) == ("emoji", "positive")
    german = table[table["language"] == "de"]
    assert set(german["method"]) == {"unsupported"}
    assert german["score"].isna().all() and german["label"].isna().all()
    assert set(table["provider"]) == {"offline"}


def test_llm_sentiment_is_batched_and_mapped_back_by_id(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    words = ["great work", "this is not right", "the parcel", "danke super", "broken again"]
    expected = ["positive", "negative", "neutral", "positive", "negative"]
    rows = [
        message(f"conv-{i % 7}", "cust", i % 600, f"{words[i % 5]} #{i}", "en", hour=i // 600)
        for i in range(1_000)
    ]

    result = _materialize(tmp_path, cleaned_frame(rows), _openai(llm_server, tmp_path))

    requests = llm_server.requests("sentiment")
    assert len(requests) == 5  # 1,000 messages, 200 per request
    for request in requests:
        ids = [item["id"] for item in json.loads(request.user)["messages"]]
        assert ids == [str(n) for n in range(1, len(ids) + 1)]
    table = _table(tmp_path)
    assert len(table) == 1_000 and set(table["method"]) == {"llm"}
    assert set(table["model"]) == {"gpt-5-mini"}
    number = table["message_id"].str.extract(r"wamid\.conv-\d\.(\d+)\.(\d+)").astype(int)
    index = number[0] * 600 + number[1]
    assert (table["label"] == index.map(lambda i: expected[i % 5])).all()
    metadata = result.asset_materializations_for_node("message_sentiment")[0].metadata
    assert metadata["api_calls"].value == 5 and metadata["llm_failures"].value == 0


def test_llm_sentiment_sends_redacted_text_and_falls_back_offline_on_bad_answers(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    llm_server.misbehave_when("Rechnung", MALFORMED)  # the batch holding the German message

    _materialize(tmp_path, sample_day(), _openai(llm_server, tmp_path, sentiment_batch_size=4))

    sent = " ".join(r.user for r in llm_server.requests())
    assert not any(
        number[-7:] in sent.replace(" ", "").replace("-", "") for number in SAMPLE_PHONES
    )
    table = _table(tmp_path).set_index("message_id")
    failed = table[table["llm_failure"].notna()]
    assert len(failed) == 4 and "after one repair attempt" in failed["llm_failure"].iloc[0]
    assert set(failed["method"]) <= {"vader", "emoji", "unsupported"}
    assert set(table.loc[table["llm_failure"].isna(), "method"]) == {"llm"}


def test_an_answer_with_the_wrong_ids_is_repaired_then_failed_never_mismapped(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    llm_server.enqueue(WRONG_IDS)  # one batch's first answer leaves out id 1 and adds 999

    _materialize(tmp_path, sample_day(), _openai(llm_server, tmp_path, sentiment_batch_size=4))

    repairs = llm_server.requests("repair")
    assert len(llm_server.requests("sentiment")) == 2 and len(repairs) == 1
    assert "missing ['1'], unknown ['999']" in repairs[0].user
    table = _table(tmp_path)
    assert set(table["method"]) == {"llm"} and table["llm_failure"].isna().all()

    llm_server.reset()
    llm_server.misbehave_when("Rechnung", WRONG_IDS)  # that batch's repair is wrong too
    llm = _openai(llm_server, tmp_path, sentiment_batch_size=4, use_cache=False)

    _materialize(tmp_path, sample_day(), llm)

    table = _table(tmp_path).set_index("message_id")
    failed = table[table["llm_failure"].notna()]
    assert len(failed) == 4 and "ids do not match" in failed["llm_failure"].iloc[0]
    assert "llm" not in set(failed["method"])
    assert set(table.loc[table["llm_failure"].isna(), "method"]) == {"llm"}
