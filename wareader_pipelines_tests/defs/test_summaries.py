"""conversation_summaries materialized over a hand-built day, offline and through real HTTP."""

from __future__ import annotations

import json
import re
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from wareader_pipelines.defs.summaries.assets import NO_FAILED_SUMMARIES, conversation_summaries
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
from wareader_testkit.fake_llm import MALFORMED, FakeLLMServer, status


def _materialize(
    tmp_path: Path, frame: pd.DataFrame, llm: LLMResource, *, raise_on_error: bool = True
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [upstream(frame), conversation_summaries],
        partition_key=DAY,
        resources={"io_manager": WarehouseIOManager(url=str(tmp_path / "w.duckdb")), "llm": llm},
        raise_on_error=raise_on_error,
    )


def _table(tmp_path: Path) -> pd.DataFrame:
    return backend_for(str(tmp_path / "w.duckdb")).read_rows(
        "conversation_summaries", None, ["conversation_id"]
    )


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    materialization = result.asset_materializations_for_node("conversation_summaries")[0]
    return {key: value.value for key, value in materialization.metadata.items()}


def _openai(server: FakeLLMServer, tmp_path: Path, **config: object) -> LLMResource:
    return LLMResource(
        provider="openai",
        api_key="test-key",
        base_url=server.openai_base_url,
        cache_path=str(tmp_path / "cache" / "llm.sqlite"),
        backoff_base_seconds=0.05,
        **config,
    )


def test_offline_default_writes_readable_summaries_in_each_language(tmp_path: Path) -> None:
    result = _materialize(tmp_path, sample_day(), LLMResource(cache_path=str(tmp_path / "c.db")))

    table = _table(tmp_path).set_index("conversation_id")
    assert list(table.index) == ["conv-de", "conv-en", "conv-es"]
    assert set(table["status"]) == {"ok"} and set(table["provider"]) == {"extractive"}
    assert table.loc["conv-es", "summary_language"] == "es"
    assert "batidora" in table.loc["conv-es", "summary"]
    assert "blender" in json.loads(table.loc["conv-en", "topics"])
    assert any(
        "Can you check?" in item for item in json.loads(table.loc["conv-en", "action_items"])
    )
    assert table.loc["conv-en", "message_count"] == 4  # the image counts, the system line not
    assert table.loc["conv-de", "message_count"] == 2
    assert str(table.loc["conv-en", "day"])[:10] == DAY
    assert table["cost_usd"].eq(0).all() and table["api_calls"].eq(0).all()
    # Offline quotes are redacted like everything analysts see.
    assert not any(digits in " ".join(table["summary"]) for digits in SAMPLE_PHONES)
    metadata = _metadata(result)
    assert metadata["api_calls"] == 0 and metadata["failures"] == 0
    assert "Rechnung" in metadata["example_summary"]
    check = result.get_asset_check_evaluations()[0]
    assert check.check_name == NO_FAILED_SUMMARIES and check.passed


def test_second_materialization_of_an_unchanged_partition_makes_no_request(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    llm = _openai(llm_server, tmp_path)
    first = _materialize(tmp_path, sample_day(), llm)
    assert len(llm_server.requests()) == 3
    assert _metadata(first)["api_calls"] == 3
    first_table = _table(tmp_path)

    llm_server.reset()
    second = _materialize(tmp_path, sample_day(), llm)

    assert llm_server.requests() == []
    metadata = _metadata(second)
    assert metadata["api_calls"] == 0 and metadata["cache_hits"] == 3
    assert metadata["input_tokens"] == 0 and metadata["cost_usd"] == 0
    second_table = _table(tmp_path)
    assert second_table["summary"].tolist() == first_table["summary"].tolist()
    # Rows keep what the summary cost to produce, cached or not.
    assert second_table["input_tokens"].tolist() == first_table["input_tokens"].tolist()
    assert (second_table["cost_usd"] > 0).all()
    assert second_table["summary_language"].tolist() == ["de", "en", "es"]


def test_a_changed_day_misses_the_cache_only_for_its_conversation(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    llm = _openai(llm_server, tmp_path)
    _materialize(tmp_path, sample_day(), llm)
    llm_server.reset()
    changed = pd.concat(
        [
            sample_day(),
            cleaned_frame([message("conv-en", "biz", 30, "Tracking: it left the depot.")]),
        ]
    )

    _materialize(tmp_path, changed, llm)

    assert len(llm_server.requests()) == 1
    assert "left the depot" in llm_server.requests()[0].user


def test_a_day_longer_than_the_budget_is_map_reduced_without_losing_a_message(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    rows = [
        message(
            "conv-long",
            f"s{i % 3}",
            i,
            f"Message number {i} about the warranty claim and the replacement part {i * 7}.",
        )
        for i in range(120)
    ]
    llm = _openai(llm_server, tmp_path, max_input_tokens=600, tokens_per_minute=0)

    _materialize(tmp_path, cleaned_frame(rows), llm)

    maps = llm_server.requests("summary")
    combines = llm_server.requests("combine")
    assert len(maps) >= 3 and len(combines) >= 1
    parts = {re.search(r"Part (\d+) of (\d+)", r.user).groups() for r in maps}
    assert {int(total) for _, total in parts} == {len(maps)}
    sent = "\n".join(r.user for r in maps)
    assert all(f"Message number {i} about" in sent for i in range(120))
    assert all(len(r.user) / 3 <= 600 for r in maps)
    row = _table(tmp_path).iloc[0]
    assert row["status"] == "ok" and row["chunk_count"] == len(maps)
    assert row["api_calls"] == len(maps) + len(combines)


def test_the_provider_never_sees_a_phone_number_unless_raw_text_is_switched_on(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    def digits_seen() -> set[str]:
        bodies = re.sub(r"\D", "", " ".join(json.dumps(r.body) for r in llm_server.requests()))
        return {number for number in SAMPLE_PHONES if number in bodies}

    _materialize(tmp_path, sample_day(), _openai(llm_server, tmp_path, use_cache=False))
    assert len(llm_server.requests()) == 3
    assert digits_seen() == set()
    assert "[PHONE]" in " ".join(r.user for r in llm_server.requests())

    llm_server.reset()
    raw = _openai(llm_server, tmp_path, use_cache=False, send_raw_text=True)
    _materialize(tmp_path, sample_day(), raw)
    assert digits_seen() == set(SAMPLE_PHONES)  # the check above could have failed


def test_invalid_json_is_repaired_once_then_recorded_as_a_failed_row(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    llm_server.misbehave_when("Rechnung", MALFORMED)  # the German conversation, and its repair
    llm_server.enqueue(MALFORMED)  # the first other request: repaired successfully

    result = _materialize(tmp_path, sample_day(), _openai(llm_server, tmp_path))

    table = _table(tmp_path).set_index("conversation_id")
    assert table.loc["conv-de", "status"] == "failed"
    assert pd.isna(table.loc["conv-de", "summary"])
    assert "after one repair attempt" in table.loc["conv-de", "failure_reason"]
    assert table.loc["conv-de", "api_calls"] == 2
    assert list(table.loc[["conv-en", "conv-es"], "status"]) == ["ok", "ok"]
    assert len(llm_server.requests("repair")) == 2
    metadata = _metadata(result)
    assert metadata["failures"] == 1 and metadata["repairs"] == 2
    check = result.get_asset_check_evaluations()[0]
    assert not check.passed
    assert check.metadata["failed_rows"].value == 1
    assert "conv-de" in check.metadata["failures"].value


def test_anthropic_wire_format_and_transient_errors(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    llm_server.enqueue(status(529), status(503))
    llm = LLMResource(
        provider="anthropic",
        api_key="test-key",
        base_url=llm_server.anthropic_base_url,
        cache_path=str(tmp_path / "c.sqlite"),
        backoff_base_seconds=0.05,
    )

    result = _materialize(tmp_path, sample_day(), llm)

    assert {r.wire for r in llm_server.requests()} == {"anthropic"}
    assert len(llm_server.requests()) == 5
    assert set(_table(tmp_path)["model"]) == {"claude-sonnet-4-6"}
    assert _metadata(result)["retries"] == 2


@pytest.mark.parametrize(
    ("provider", "variable"), [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")]
)
def test_a_rejected_key_fails_the_run_naming_the_setting_without_retrying(
    tmp_path: Path, llm_server: FakeLLMServer, provider: str, variable: str
) -> None:
    llm_server.misbehave_when("", status(401))
    base = llm_server.anthropic_base_url if provider == "anthropic" else llm_server.openai_base_url
    llm = LLMResource(
        provider=provider, api_key="wrong", base_url=base, cache_path=str(tmp_path / "c.sqlite")
    )

    result = _materialize(tmp_path, sample_day(), llm, raise_on_error=False)

    assert not result.success
    failure = result.failure_data_for_node("conversation_summaries")
    assert variable in str(failure.user_failure_data.description)
    assert len(llm_server.requests()) <= 3  # one per conversation at most: no retries


def test_summaries_follow_the_dominant_language_unless_config_names_one(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    mixed = cleaned_frame(
        [
            message("conv-mix", "cust", 0, "Hi, one question in English first.", "en"),
            message("conv-mix", "cust", 1, "Bueno, mejor en español: ¿hay envío gratis?", "es"),
            message("conv-mix", "biz", 2, "Sí, el envío es gratis desde 50 euros.", "es"),
            message("conv-mix", "cust", 3, "¡Perfecto, gracias!", "es"),
        ]
    )

    _materialize(tmp_path, mixed, _openai(llm_server, tmp_path, use_cache=False))

    assert "in Spanish." in llm_server.requests()[0].user
    row = _table(tmp_path).iloc[0]
    assert row["summary_language"] == "es"
    assert json.loads(row["languages"]) == ["es", "en"]

    llm_server.reset()
    _materialize(
        tmp_path, mixed, _openai(llm_server, tmp_path, use_cache=False, summary_language="fr")
    )

    assert "in French." in llm_server.requests()[0].user
    assert _table(tmp_path).iloc[0]["summary_language"] == "fr"
