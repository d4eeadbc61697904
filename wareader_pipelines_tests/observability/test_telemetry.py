"""Traces and metrics of the costly calls, exported to in-memory readers: model calls
(tokens, cost, latency), Graph API requests, warehouse writes, receiver requests."""

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import httpx
import pandas as pd

from wareader_pipelines.lib import tables
from wareader_pipelines.lib.partitions import DAILY_BACKFILL_POLICY, daily_partitions
from wareader_pipelines.llm.chunking import TranscriptLine
from wareader_pipelines.llm.summarize import ConversationDay
from wareader_pipelines.observability import telemetry
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.llm import LLMResource
from wareader_pipelines.resources.warehouse import WarehouseIOManager
from wareader_pipelines.resources.whatsapp import WhatsAppCloudAPI
from wareader_pipelines.webhook_receiver.app import create_app
from wareader_pipelines.webhook_receiver.settings import ReceiverSettings
from wareader_pipelines.webhook_receiver.signature import sign
from wareader_pipelines_tests.observability.conftest import Recorded
from wareader_pipelines_tests.servers.graph_api import (
    GRAPH_TOKEN,
    PHONE_NUMBER_ID,
    FakeGraphAPI,
    ScriptedAnswer,
)
from wareader_testkit.fake_llm import FakeLLMServer

SECRET_TEXT = "segredo do Zé 555-0123"


def test_a_model_call_is_traced_with_tokens_cost_and_latency(
    recorded: Recorded, llm_server: FakeLLMServer, tmp_path: Path
) -> None:
    llm = LLMResource(
        provider="openai",
        model="gpt-4o-mini",
        api_key="k",
        base_url=llm_server.openai_base_url,
        use_cache=False,
        cache_path=str(tmp_path / "c.sqlite"),
    )
    line = TranscriptLine(datetime(2024, 5, 1, 9, tzinfo=UTC), "A", SECRET_TEXT, "pt")
    run = llm.summarize([ConversationDay("c1", date(2024, 5, 1), (line,))])

    model = {"provider": "openai", "model": "gpt-4o-mini"}
    assert recorded.total(telemetry.LLM_CALLS, outcome="ok", **model) == run.stats.api_calls >= 1
    input_tokens = recorded.total(telemetry.LLM_TOKENS, direction="input", **model)
    output_tokens = recorded.total(telemetry.LLM_TOKENS, direction="output", **model)
    assert (input_tokens, output_tokens) == (run.stats.input_tokens, run.stats.output_tokens)
    assert input_tokens > 0 and output_tokens > 0
    cost = recorded.total(telemetry.LLM_COST, **model)
    assert cost == llm.cost_of(int(input_tokens), int(output_tokens)) > 0
    [latency] = recorded.points(telemetry.LLM_DURATION)
    assert latency.count == run.stats.api_calls and latency.sum > 0
    [span, *_] = recorded.finished("llm.chat")
    assert span.attributes["gen_ai.usage.input_tokens"] > 0
    assert SECRET_TEXT not in json.dumps(dict(span.attributes), ensure_ascii=False)


def test_graph_api_requests_are_counted_by_status_without_ids(
    recorded: Recorded, graph_api: FakeGraphAPI
) -> None:
    graph_api.add_media("1234567890", b"\xff\xd8" + b"x" * 100, "image/jpeg")
    graph_api.fail_next(
        f"/{graph_api.version}/1234567890",
        ScriptedAnswer(500, {"error": {"message": "boom", "code": 1}}, {"retry-after": "0"}),
    )
    api = WhatsAppCloudAPI(
        access_token=GRAPH_TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        base_url=graph_api.base_url,
        backoff_base_seconds=0.01,
    )
    api.download_media(media_id="1234567890")
    api.close()

    statuses = {
        (p.attributes["route"], p.attributes["status"]): p.value
        for p in recorded.points(telemetry.GRAPH_REQUESTS)
    }
    route = f"/{graph_api.version}/{{id}}"
    assert statuses[(route, 500)] == 1 and statuses[(route, 200)] == 1
    assert sum(statuses.values()) == len(graph_api.requests)
    assert not any("1234567890" in route for route, _ in statuses)
    assert len(recorded.finished("graph_api.request")) == len(graph_api.requests)


def test_warehouse_writes_count_rows_per_table(recorded: Recorded, tmp_path: Path) -> None:
    @dg.asset(
        key="raw_messages",
        partitions_def=daily_partitions,
        backfill_policy=DAILY_BACKFILL_POLICY,
        metadata={"dagster/column_schema": tables.RAW_MESSAGES, "partition_expr": "sent_at"},
    )
    def raw_messages(context: dg.AssetExecutionContext) -> pd.DataFrame:
        start = context.partition_time_window.start
        return pd.DataFrame(
            {
                "message_id": ["wamid.1", "wamid.2"],
                "conversation_id": ["c1", "c1"],
                "source": ["webhook", "webhook"],
                "sent_at": [start + timedelta(hours=1), start + timedelta(hours=2)],
                "message_type": ["text", "text"],
            }
        )

    result = dg.materialize(
        [raw_messages],
        partition_key="2024-05-13",
        resources={"io_manager": WarehouseIOManager(url=str(tmp_path / "w.duckdb"))},
    )

    assert result.success
    assert recorded.total(telemetry.WAREHOUSE_ROWS, table="raw_messages", backend="duckdb") == 2
    [span] = recorded.finished("warehouse.replace_rows")
    assert span.attributes["db.table"] == "raw_messages" and span.attributes["db.rows"] == 2
    [duration] = recorded.points(telemetry.WAREHOUSE_DURATION)
    assert duration.count == 1


def test_receiver_requests_are_traced_by_status(recorded: Recorded, tmp_path: Path) -> None:
    settings = ReceiverSettings(
        landing_uri=str(tmp_path / "landing"), app_secret="s3cret-app", verify_token="t"
    )
    app = create_app(settings, zone=LandingZone(uri=str(tmp_path / "landing")))
    body = b'{"object":"whatsapp_business_account","entry":[]}'

    async def post_twice() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
            good = await client.post(
                "/webhook", content=body, headers={"x-hub-signature-256": sign(body, b"s3cret-app")}
            )
            bad = await client.post(
                "/webhook", content=body, headers={"x-hub-signature-256": sign(body, b"wrong")}
            )
        app.store.close()
        return [good.status_code, bad.status_code]

    assert asyncio.run(post_twice()) == [200, 401]
    counts = {p.attributes["status"]: p.value for p in recorded.points(telemetry.RECEIVER_REQUESTS)}
    assert counts == {200: 1, 401: 1}
    spans = recorded.finished("webhook.receive")
    assert sorted(s.attributes["http.response.status_code"] for s in spans) == [200, 401]


def test_telemetry_is_off_and_harmless_without_an_endpoint() -> None:
    assert telemetry.configure_from_environment({}) is False
    off = telemetry.Telemetry()
    with off.span("nothing"):
        off.record_llm_call(
            provider="p", model="m", input_tokens=1, output_tokens=1, seconds=0.1, cost_usd=None
        )
