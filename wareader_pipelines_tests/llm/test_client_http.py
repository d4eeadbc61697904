"""The client through the official SDKs against the fake provider on 127.0.0.1: retries and
their waits, the rate limit as the server sees it, timeouts, and errors that must not retry."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dagster import Failure

from wareader_pipelines.llm.chunking import TranscriptLine
from wareader_pipelines.llm.summarize import ConversationDay
from wareader_pipelines.resources.llm import LLMResource
from wareader_testkit.fake_llm import MALFORMED, FakeLLMServer, slow, status
from wareader_testkit.loopback import refused_port

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def _days(count: int, word: str = "hello") -> list[ConversationDay]:
    return [
        ConversationDay(f"c{n}", date(2024, 5, 1), (TranscriptLine(T0, "A", f"{word} {n}", "en"),))
        for n in range(count)
    ]


def _llm(server: FakeLLMServer, tmp_path: Path, **config: object) -> LLMResource:
    settings: dict[str, object] = {
        "provider": "openai",
        "api_key": "k",
        "base_url": server.openai_base_url,
        "use_cache": False,
        "cache_path": str(tmp_path / "c.sqlite"),
        "tokens_per_minute": 0,
        "backoff_base_seconds": 0.2,
    }
    settings.update(config)
    return LLMResource(**settings)


def test_429_waits_at_least_retry_after_then_succeeds(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    llm_server.enqueue(status(429, retry_after="1"), status(429, retry_after_ms="300"))

    run = _llm(llm_server, tmp_path, max_concurrency=1).summarize(_days(1))

    arrivals = [r.arrived_at for r in llm_server.requests()]
    assert [r.behaviour for r in llm_server.requests()] == ["status", "status", "ok"]
    assert arrivals[1] - arrivals[0] >= 1.0
    assert arrivals[2] - arrivals[1] >= 0.3
    assert run.stats.retries == 2
    assert run.stats.retry_waits[0] >= 1.0 and 0.3 <= run.stats.retry_waits[1] < 1.0
    assert run.outcomes[0].summary is not None


def test_500_backs_off_exponentially(tmp_path: Path, llm_server: FakeLLMServer) -> None:
    llm_server.enqueue(status(500), status(502), status(503))

    run = _llm(llm_server, tmp_path).summarize(_days(1))

    arrivals = [r.arrived_at for r in llm_server.requests()]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    # base 0.2 s: the client picks waits in [0.1, 0.2], [0.2, 0.4], [0.4, 0.8] and the server
    # sees at least those gaps (upper bounds on wall time would flake on a loaded machine).
    waits = run.stats.retry_waits
    assert 0.1 <= waits[0] <= 0.2 and 0.2 <= waits[1] <= 0.4 and 0.4 <= waits[2] <= 0.8
    assert all(gap >= wait for gap, wait in zip(gaps, waits, strict=True))
    assert run.stats.retries == 3 and run.outcomes[0].summary is not None


def test_a_slow_answer_times_out_and_is_retried(tmp_path: Path, llm_server: FakeLLMServer) -> None:
    llm_server.enqueue(slow(2.0))

    run = _llm(llm_server, tmp_path, timeout_seconds=0.5).summarize(_days(1))

    assert len(llm_server.requests()) == 2
    assert run.stats.retries == 1 and run.outcomes[0].summary is not None


def test_retries_are_bounded_and_the_row_fails_with_the_reason(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    llm_server.misbehave_when("", status(503))

    run = _llm(llm_server, tmp_path, max_attempts=3, backoff_base_seconds=0.02).summarize(_days(1))

    assert len(llm_server.requests()) == 3
    assert run.outcomes[0].summary is None
    assert "after 3 attempt(s)" in run.outcomes[0].failure


@pytest.mark.parametrize(("code", "fix"), [(400, "WAREADER_LLM_MODEL"), (403, "OPENAI_API_KEY")])
def test_client_errors_are_not_retried_and_name_the_setting(
    tmp_path: Path, llm_server: FakeLLMServer, code: int, fix: str
) -> None:
    llm_server.misbehave_when("", status(code))

    with pytest.raises(Failure) as failure:
        _llm(llm_server, tmp_path, max_concurrency=1).summarize(_days(1))

    assert len(llm_server.requests()) == 1
    assert "'openai'" in failure.value.description and fix in failure.value.description


def test_a_missing_key_fails_before_any_request(tmp_path: Path, llm_server: FakeLLMServer) -> None:
    with pytest.raises(Failure, match="AZURE_OPENAI_API_KEY"):
        _llm(llm_server, tmp_path, provider="azure", api_key=None).summarize(_days(1))
    assert llm_server.requests() == []


def test_malformed_json_is_repaired_with_one_more_request(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    llm_server.enqueue(MALFORMED)

    run = _llm(llm_server, tmp_path).summarize(_days(1))

    assert [r.purpose for r in llm_server.requests()] == ["summary", "repair"]
    assert "{summary: oops" in llm_server.requests()[1].user
    assert run.outcomes[0].summary is not None and run.outcomes[0].usage.api_calls == 2


def test_the_server_never_counts_more_requests_than_the_limit_in_a_window(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    llm_server.latency = 0.05
    llm = _llm(
        llm_server, tmp_path, requests_per_minute=5, rate_window_seconds=1.0, max_concurrency=8
    )

    run = llm.summarize(_days(16))

    arrivals = sorted(r.arrived_at for r in llm_server.requests())
    assert len(arrivals) == 16 and all(o.summary for o in run.outcomes)
    most = max(sum(1 for t in arrivals if s <= t < s + 1.0) for s in arrivals)
    assert most <= 5
    assert arrivals[-1] - arrivals[0] >= 2.8  # 16 requests at 5 per second need 3 windows


def test_tokens_per_minute_hold_as_well(tmp_path: Path, llm_server: FakeLLMServer) -> None:
    llm = _llm(
        llm_server,
        tmp_path,
        tokens_per_minute=2_000,
        rate_window_seconds=1.0,
        max_output_tokens=800,
    )

    llm.summarize(_days(5))

    arrivals = sorted(r.arrived_at for r in llm_server.requests())
    # Each request reserves >800 tokens until its real usage is known: at most 2 per window.
    assert max(sum(1 for t in arrivals if s <= t < s + 1.0) for s in arrivals) <= 2


def test_the_cache_answers_a_repeated_request(tmp_path: Path, llm_server: FakeLLMServer) -> None:
    llm = _llm(llm_server, tmp_path, use_cache=True)
    first = llm.summarize(_days(3))
    llm_server.reset()

    second = llm.summarize(_days(3))

    assert llm_server.requests() == []
    assert second.stats.cache_hits == 3 and second.stats.api_calls == 0
    assert [o.summary for o in second.outcomes] == [o.summary for o in first.outcomes]
    # Another model is another key.
    llm_server.reset()
    _llm(llm_server, tmp_path, use_cache=True, model="gpt-4.1").summarize(_days(3))
    assert len(llm_server.requests()) == 3


def test_no_event_loop_leaks_between_runs() -> None:
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()


def test_azure_goes_through_the_deployment_url_with_its_key_header(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    llm = _llm(
        llm_server,
        tmp_path,
        provider="azure",
        api_key="azure-key",
        base_url=None,
        azure_endpoint=f"http://127.0.0.1:{llm_server.port}",
        azure_api_version="2024-10-21",
        model="my-deployment",
    )

    run = llm.summarize(_days(2))

    requests = llm_server.requests()
    assert len(requests) == 2 and all(o.summary for o in run.outcomes)
    for request in requests:
        assert request.path == (
            "/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21"
        )
        headers = {key.lower(): value for key, value in request.headers.items()}
        assert headers["api-key"] == "azure-key"
        assert "max_completion_tokens" in request.body
        assert request.body["response_format"] == {"type": "json_object"}


def test_azure_without_an_endpoint_names_the_setting(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    llm = _llm(llm_server, tmp_path, provider="azure", api_key="k", base_url=None)

    with pytest.raises(Failure, match="AZURE_OPENAI_ENDPOINT"):
        llm.summarize(_days(1))
    assert llm_server.requests() == []


def test_local_needs_no_key_and_speaks_max_tokens(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    llm = _llm(llm_server, tmp_path, provider="local", api_key=None, max_output_tokens=300)

    run = llm.summarize(_days(2))

    requests = llm_server.requests()
    assert len(requests) == 2 and all(o.summary for o in run.outcomes)
    assert {r.path for r in requests} == {"/v1/chat/completions"}
    assert {r.body["model"] for r in requests} == {"llama3.1:8b"}
    assert all(
        r.body["max_tokens"] == 300 and "max_completion_tokens" not in r.body for r in requests
    )
    assert run.outcomes[0].summary is not None


def test_json_mode_off_sends_no_response_format(tmp_path: Path, llm_server: FakeLLMServer) -> None:
    """For local servers that reject `response_format`: the documented switch must work."""
    _llm(llm_server, tmp_path, provider="local", api_key=None, json_mode=False).summarize(_days(1))
    _llm(llm_server, tmp_path, provider="local", api_key=None).summarize(_days(1))

    first, second = llm_server.requests()
    assert "response_format" not in first.body
    assert second.body["response_format"] == {"type": "json_object"}


def test_a_refused_connection_is_retried_then_fails_the_row(tmp_path: Path) -> None:
    with refused_port() as port:  # held, never listening: every connection is refused
        run = LLMResource(
            provider="local",
            base_url=f"http://127.0.0.1:{port}/v1",
            use_cache=False,
            max_attempts=3,
            backoff_base_seconds=0.02,
        ).summarize(_days(1))

    assert run.stats.api_calls == 3 and run.stats.retries == 2
    assert run.outcomes[0].summary is None
    assert "connection failed" in run.outcomes[0].failure
    assert "after 3 attempt(s)" in run.outcomes[0].failure


def test_max_concurrency_bounds_the_calls_in_flight(
    tmp_path: Path, llm_server: FakeLLMServer
) -> None:
    llm_server.latency = 0.3
    llm = _llm(llm_server, tmp_path, max_concurrency=2, requests_per_minute=0)

    llm.summarize(_days(6))

    arrivals = sorted(r.arrived_at for r in llm_server.requests())
    # Each answer takes 0.3 s, so a third arrival within 0.29 s of two others means 3 in flight.
    assert len(arrivals) == 6
    assert max(sum(1 for t in arrivals if s <= t < s + 0.29) for s in arrivals) <= 2
    assert arrivals[-1] - arrivals[0] >= 0.6  # three waves of two
