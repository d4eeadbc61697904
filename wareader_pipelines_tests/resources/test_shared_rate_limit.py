"""Rate limits shared through PostgreSQL hold across processes, windows and token settling."""

import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

from wareader_pipelines.resources.shared_rate_limit import (
    Limit,
    SharedRateLimiter,
    llm_limits,
)
from wareader_pipelines_tests.resources.rate_limit_worker import LIMIT, WINDOW

REPO = Path(__file__).resolve().parents[2]


def test_two_processes_never_exceed_the_shared_limit(postgres_url: str, tmp_path: Path) -> None:
    outputs = [tmp_path / "a.txt", tmp_path / "b.txt"]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wareader_pipelines_tests.resources.rate_limit_worker",
                postgres_url,
                "whatsapp:106540352242922",
                "4",
                str(out),
            ],
            cwd=REPO,
        )
        for out in outputs
    ]
    for worker in workers:
        assert worker.wait(timeout=60) == 0
    per_process = [
        [datetime.fromisoformat(line) for line in out.read_text().split()] for out in outputs
    ]
    assert [len(stamps) for stamps in per_process] == [4, 4]
    grants = sorted(per_process[0] + per_process[1])
    window = timedelta(seconds=WINDOW)
    for start in grants:
        assert sum(1 for at in grants if start <= at < start + window) <= LIMIT
    # 8 grants at 3 per second need at least two full windows after the first grant.
    assert grants[-1] - grants[0] >= 2 * window


def test_tokens_are_settled_and_a_day_window_counts_everything(postgres_url: str) -> None:
    limiter = SharedRateLimiter(
        postgres_url,
        "openai",
        llm_limits(
            requests_per_minute=None,
            tokens_per_minute=1000,
            requests_per_day=None,
            tokens_per_day=1500,
        ),
    )
    wait, grant = limiter.try_reserve({"requests": 1, "tokens": 900})
    assert wait == 0 and grant is not None
    wait, refused = limiter.try_reserve({"requests": 1, "tokens": 200})
    assert refused is None and 55 < wait <= 60  # the minute's 1000 are estimated used
    limiter.settle(grant, "tokens", 300)  # the answer was shorter than estimated
    assert limiter.try_reserve({"requests": 1, "tokens": 600})[1] is not None  # 900 this minute
    wait, refused = limiter.try_reserve({"requests": 1, "tokens": 700})
    assert refused is None  # 1600 > the day's 1500, and > the minute's 1000
    other = SharedRateLimiter(postgres_url, "anthropic", [Limit("tokens", 1000, 60)])
    assert other.try_reserve({"tokens": 1000})[1] is not None  # scopes are separate
    limiter.close()
    other.close()


def test_a_pause_holds_every_caller_of_the_scope(postgres_url: str) -> None:
    first = SharedRateLimiter(postgres_url, "sendgrid", [Limit("emails", 100, 1.0)])
    second = SharedRateLimiter(postgres_url, "sendgrid", [Limit("emails", 100, 1.0)])
    first.pause(0.5)
    wait, grant = second.try_reserve({"emails": 1})
    assert grant is None and 0 < wait <= 0.5
    time.sleep(wait + 0.05)
    assert second.try_reserve({"emails": 1})[1] is not None
    first.close()
    second.close()


def test_the_llm_resource_counts_its_calls_in_the_shared_store(
    postgres_url: str, llm_server, tmp_path: Path
) -> None:
    from datetime import UTC, date

    from wareader_pipelines.llm.chunking import TranscriptLine
    from wareader_pipelines.llm.summarize import ConversationDay
    from wareader_pipelines.resources.llm import LLMResource

    llm = LLMResource(
        provider="openai",
        api_key="k",
        base_url=llm_server.openai_base_url,
        use_cache=False,
        cache_path=str(tmp_path / "c.sqlite"),
        rate_limit_url=postgres_url,
        requests_per_minute=2,
        tokens_per_minute=0,
        rate_window_seconds=1.0,
        max_concurrency=4,
    )
    line = TranscriptLine(datetime(2024, 5, 1, 9, tzinfo=UTC), "A", "hello", "en")
    days = [ConversationDay(f"c{n}", date(2024, 5, 1), (line,)) for n in range(5)]

    run = llm.summarize(days)

    assert run.stats.api_calls == 5
    # What the limiter guarantees is the spacing of its grants (the provider sees each call
    # a client-side delay later; the first call also builds the SDK client).
    with psycopg.connect(postgres_url) as connection:
        grants = [
            at
            for (at,) in connection.execute(
                "SELECT granted_at FROM wareader_rate_grants WHERE scope = 'llm:openai' "
                "AND dimension = 'requests' ORDER BY granted_at"
            )
        ]
    assert len(grants) == 5 == len(llm_server.requests())
    for start in grants:
        assert sum(1 for at in grants if start <= at < start + timedelta(seconds=1)) <= 2
    assert grants[-1] - grants[0] >= timedelta(seconds=2)


def _grant_times(url: str, scope: str) -> list[datetime]:
    with psycopg.connect(url) as connection:
        return [
            at
            for (at,) in connection.execute(
                "SELECT granted_at FROM wareader_rate_grants WHERE scope = %s ORDER BY granted_at",
                (scope,),
            )
        ]


def test_sendgrid_sends_count_per_recipient_in_the_shared_store(
    postgres_url: str, http_recorder
) -> None:
    from wareader_pipelines.resources.email import EmailNotifier
    from wareader_pipelines_tests.resources.test_email import NOTICE

    http_recorder.default_status = 202
    notifier = EmailNotifier(
        backend="sendgrid",
        sender="wareader <noreply@example.org>",
        sendgrid_api_key="SG.test-key",
        sendgrid_base_url=http_recorder.base_url,
        sendgrid_per_second=2,
        rate_limit_url=postgres_url,
    )
    for _ in range(3):
        notifier.send_notice(NOTICE, recipients=["ana@example.org"])

    assert len(http_recorder.requests) == 3
    grants = _grant_times(postgres_url, "sendgrid")
    assert len(grants) == 3 and grants[-1] - grants[0] >= timedelta(seconds=1)


def test_cloud_api_calls_count_per_phone_number_in_the_shared_store(
    postgres_url: str, graph_api
) -> None:
    from wareader_pipelines.resources.whatsapp import WhatsAppCloudAPI
    from wareader_pipelines_tests.servers.graph_api import GRAPH_TOKEN, PHONE_NUMBER_ID

    graph_api.add_media("555", b"\xff\xd8" + b"x" * 10, "image/jpeg")
    api = WhatsAppCloudAPI(
        access_token=GRAPH_TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        base_url=graph_api.base_url,
        calls_per_minute=3,
        rate_limit_url=postgres_url,
    )
    api.media_info(media_id="555")
    api.media_info(media_id="555")
    api.close()

    assert (
        len(_grant_times(postgres_url, f"whatsapp:{PHONE_NUMBER_ID}"))
        == 2
        == len(graph_api.requests)
    )
