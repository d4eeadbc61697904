"""The landing-zone sensors and the nightly schedule, evaluated on a real DagsterInstance."""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import dagster as dg
import pandas as pd
import pytest

from wareader_pipelines.defs.automation import sensors
from wareader_pipelines.defs.automation.jobs import daily_pipeline_job
from wareader_pipelines.defs.automation.schedules import nightly_schedule
from wareader_pipelines.defs.automation.sensors import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    new_chat_exports,
    new_webhook_bodies,
)
from wareader_pipelines.defs.ingestion.assets import landing_zone_tables
from wareader_pipelines.defs.media.assets import message_media
from wareader_pipelines.landing.layout import parse_webhook_key, webhook_key
from wareader_pipelines.landing.run_planning import (
    WEBHOOK_LOOKBACK_TAG,
    DayRange,
    day_ranges,
    last_complete_day,
    lookback_needed,
)
from wareader_pipelines.landing.window import read_landing_window
from wareader_pipelines.nlp.pseudonyms import DEVELOPMENT_KEY, Pseudonymizer
from wareader_pipelines.parsing import webhook_payload
from wareader_pipelines.parsing.webhook_payload import parse_webhook_body
from wareader_pipelines.resources.blob_store import BlobStore
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines.resources.warehouse import Warehouse, WarehouseIOManager
from wareader_pipelines.resources.whatsapp import WhatsAppCloudAPI
from wareader_pipelines_tests.servers.aws import FlakyProxy, MotoServer

LONG_AGO = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)


def _body(wamid: str, sent: datetime) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": "106540352242922"},
        "messages": [
            {
                "from": "16505551234",
                "id": wamid,
                "timestamp": str(int(sent.timestamp())),
                "type": "text",
                "text": {"body": "hola"},
            }
        ],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload).encode()


def _land(zone: LandingZone, wamid: str, sent: datetime, received: datetime) -> str:
    body = _body(wamid, sent)
    key = webhook_key(body, received)
    zone.write(key, body)
    return key


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def landing(tmp_path: Path) -> LandingZone:
    return LandingZone(uri=str(tmp_path / "landing"))


def _definitions(zone: LandingZone, tmp_path: Path) -> dg.Definitions:
    return dg.Definitions(
        assets=[landing_zone_tables, message_media],
        jobs=[daily_pipeline_job],
        sensors=[new_webhook_bodies, new_chat_exports],
        resources={
            "landing_zone": zone,
            "settings": PipelineSettings(
                pseudonym_key=DEVELOPMENT_KEY, cache_dir=str(tmp_path / "cache")
            ),
            "blob_store": BlobStore(uri=str(tmp_path / "blobs")),
            "whatsapp": WhatsAppCloudAPI(),
        },
    )


def _tick(
    sensor: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    definitions: dg.Definitions,
    cursor: str | None,
) -> dg.SensorResult | dg.SkipReason:
    resources = definitions.resources or {}
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=definitions,
        resources={name: resources[name] for name in ("landing_zone", "settings")},
    ) as context:
        return sensor(context)


def _partitions(result: dg.SensorResult) -> list[str]:
    return [
        request.partition_key or f"{request.tags[RANGE_START_TAG]}..{request.tags[RANGE_END_TAG]}"
        for request in result.run_requests or []
    ]


def test_webhook_sensor_runs_the_days_bodies_touch_and_moves_its_cursor(
    instance: dg.DagsterInstance, landing: LandingZone, tmp_path: Path
) -> None:
    definitions = _definitions(landing, tmp_path)
    received = datetime(2024, 5, 10, 9, 0, tzinfo=UTC)
    keys = [
        _land(landing, "wamid.A", received - timedelta(minutes=5), received),
        _land(landing, "wamid.B", received, received + timedelta(seconds=1)),
        # A late delivery: sent three days before it reached us.
        _land(landing, "wamid.C", received - timedelta(days=3), received + timedelta(seconds=2)),
    ]
    first = _tick(new_webhook_bodies, instance, definitions, None)
    assert isinstance(first, dg.SensorResult)
    assert sorted(_partitions(first)) == ["2024-05-07", "2024-05-10"]
    assert first.cursor == keys[-1]
    run_keys = [request.run_key for request in first.run_requests]
    assert all(run_keys) and len(set(run_keys)) == 2

    # The same tick again from the same cursor asks for the very same run keys (safe to
    # repeat), and the next tick with the new cursor asks for nothing.
    again = _tick(new_webhook_bodies, instance, definitions, None)
    assert [r.run_key for r in again.run_requests] == run_keys
    assert isinstance(_tick(new_webhook_bodies, instance, definitions, first.cursor), dg.SkipReason)

    # Another late body for 7 May, two days later: its old day runs again, under a new key.
    later = _land(landing, "wamid.D", received - timedelta(days=3), received + timedelta(days=2))
    third = _tick(new_webhook_bodies, instance, definitions, first.cursor)
    assert _partitions(third) == ["2024-05-07"]
    assert third.run_requests[0].run_key not in run_keys
    assert third.cursor == later


def test_a_body_is_parsed_once_outside_ingestion_and_ingestion_reuses_the_rows(
    instance: dg.DagsterInstance,
    landing: LandingZone,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parses: Counter[str] = Counter()
    parse = webhook_payload.parse_webhook_body

    def counted(body: bytes, **kwargs: Any) -> webhook_payload.WebhookParseResult:
        parses[kwargs["source_file"]] += 1
        return parse(body, **kwargs)

    monkeypatch.setattr(webhook_payload, "parse_webhook_body", counted)
    definitions = _definitions(landing, tmp_path)
    received = datetime(2024, 5, 10, 9, 0, tzinfo=UTC)
    keys = [
        _land(landing, "wamid.A", received - timedelta(minutes=5), received),
        _land(landing, "wamid.C", received - timedelta(days=3), received + timedelta(seconds=2)),
    ]
    landing.write(webhook_key(b"not json", received + timedelta(seconds=3)), b"not json")
    keys.append(sorted(item.key for item in landing.list("webhooks/"))[-1])
    first = _tick(new_webhook_bodies, instance, definitions, None)
    assert sorted(_partitions(first)) == ["2024-05-07", "2024-05-10"]
    assert parses == dict.fromkeys(keys, 1)
    # A tick evaluated again from the same cursor (its result was lost) parses nothing.
    again = _tick(new_webhook_bodies, instance, definitions, None)
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in first.run_requests]
    assert parses == dict.fromkeys(keys, 1)

    settings = PipelineSettings(pseudonym_key=DEVELOPMENT_KEY, cache_dir=str(tmp_path / "cache"))
    start, end = datetime(2024, 5, 7, tzinfo=UTC), datetime(2024, 5, 11, tzinfo=UTC)
    reused = read_landing_window(landing, start, end, settings=settings)
    assert parses == dict.fromkeys(keys, 1)  # ingestion took the sensor's rows
    assert reused.stats.webhook_bodies == reused.stats.webhook_bodies_from_cache == 3

    # The same tables as a read that parses every body itself (no cache).
    fresh_settings = settings.model_copy(update={"cache_dir": str(tmp_path / "empty")})
    fresh = read_landing_window(landing, start, end, settings=fresh_settings)
    assert parses == dict.fromkeys(keys, 2) and fresh.stats.webhook_bodies_from_cache == 0
    for table in ("raw_messages", "message_statuses", "quarantine", "api_errors"):
        pd.testing.assert_frame_equal(getattr(reused, table), getattr(fresh, table))
    assert len(reused.raw_messages) == 2 and len(reused.quarantine) == 1

    # A body rewritten under the same key is parsed again: the cache is keyed by content.
    body = _body("wamid.A2", received)
    (Path(landing.uri) / keys[0]).write_bytes(body)
    changed = read_landing_window(landing, start, end, settings=settings)
    assert parses[keys[0]] == 3 and changed.stats.webhook_bodies_from_cache == 2
    assert "wamid.A2" in set(changed.raw_messages["message_id"])


def test_webhook_sensor_leaves_unsettled_bodies_for_the_next_tick(
    instance: dg.DagsterInstance, landing: LandingZone, tmp_path: Path
) -> None:
    definitions = _definitions(landing, tmp_path)
    settled = _land(landing, "wamid.OLD", LONG_AGO, LONG_AGO)
    now = datetime.now(UTC)
    _land(landing, "wamid.NEW", now, now)  # may still be overtaken by a write in flight
    result = _tick(new_webhook_bodies, instance, definitions, None)
    assert _partitions(result) == ["2024-05-20"]
    assert result.cursor == settled


def test_contiguous_days_become_ranged_runs_and_bad_bodies_their_receive_day(
    instance: dg.DagsterInstance, landing: LandingZone, tmp_path: Path
) -> None:
    definitions = _definitions(landing, tmp_path)
    received = datetime(2024, 5, 20, 8, 0, tzinfo=UTC)
    for offset in range(4):  # a history replay: 14..17 May in one go
        _land(landing, f"wamid.H{offset}", received - timedelta(days=3 + offset), received)
    broken = b'{"object": "whatsapp_business_account", "entry": "oops"}'
    landing.write(webhook_key(broken, received + timedelta(seconds=1)), broken)
    result = _tick(new_webhook_bodies, instance, definitions, None)
    assert sorted(_partitions(result)) == ["2024-05-14..2024-05-17", "2024-05-20"]


def test_webhook_sensor_lists_only_after_its_cursor(
    instance: dg.DagsterInstance, landing: LandingZone, tmp_path: Path
) -> None:
    definitions = _definitions(landing, tmp_path)
    for number in range(300):
        at = LONG_AGO + timedelta(seconds=number)
        _land(landing, f"wamid.N{number}", at, at)
    first = _tick(new_webhook_bodies, instance, definitions, None)
    listed: list[str | None] = []
    original = LandingZone.list

    def spy(self: LandingZone, prefix: str = "", *, start_after: str | None = None):
        listed.append(start_after)
        return original(self, prefix, start_after=start_after)

    LandingZone.list = spy  # type: ignore[method-assign]
    try:
        second = _tick(new_webhook_bodies, instance, definitions, first.cursor)
    finally:
        LandingZone.list = original  # type: ignore[method-assign]
    assert listed == [first.cursor]
    assert isinstance(second, dg.SkipReason)


def test_sample_landing_zone_needs_one_request_per_day_range(
    instance: dg.DagsterInstance, sample_landing: Path, tmp_path: Path
) -> None:
    zone = LandingZone(uri=str(sample_landing))
    definitions = _definitions(zone, tmp_path)
    result = _tick(new_webhook_bodies, instance, definitions, None)
    assert len({r.run_key for r in result.run_requests}) == len(result.run_requests)
    spans = sorted(_partitions_of(request) for request in result.run_requests)
    # The days the sample's bodies touch, read independently of the sensor.
    touched: set[str] = set()
    for path in (sample_landing / "webhooks").rglob("*.json"):
        key = parse_webhook_key(path.relative_to(sample_landing).as_posix())
        assert key is not None
        parsed = parse_webhook_body(
            path.read_bytes(),
            source_file=path.name,
            landed_at=datetime(2024, 6, 1, tzinfo=UTC),
            pseudonyms=Pseudonymizer(DEVELOPMENT_KEY),
        )
        for moment in [m.sent_at for m in parsed.messages] + [s.status_at for s in parsed.statuses]:
            touched.add(moment.astimezone(UTC).date().isoformat())
        if parsed.quarantine or parsed.errors:  # filed on the day the body was received
            touched.add(key.received_at.astimezone(UTC).date().isoformat())
    assert sorted(day for span in spans for day in span) == sorted(touched)
    # One request per run of consecutive days: between two requests there is a day with none.
    for before, after in itertools.pairwise(spans):
        gap = date.fromisoformat(after[0]) - date.fromisoformat(before[-1])
        assert gap > timedelta(days=1), (before, after)
    assert isinstance(
        _tick(new_webhook_bodies, instance, definitions, result.cursor), dg.SkipReason
    )


EXPORT = (
    "13/05/2024, 09:15 - Ana: Hola, ¿qué tal?\n"
    "13/05/2024, 09:16 - Ben: Bien!\n"
    "15/05/2024, 22:01 - Ana: Nos vemos\n"
)


def _put_export(zone: LandingZone, name: str, text: str) -> None:
    zone.write(f"exports/{name}", text.encode())
    path = Path(zone.uri) / "exports" / name
    old = (datetime.now(UTC) - timedelta(minutes=5)).timestamp()
    os.utime(path, (old, old))


def test_export_sensor_backfills_the_whole_range_once_per_content(
    instance: dg.DagsterInstance, landing: LandingZone, tmp_path: Path
) -> None:
    definitions = _definitions(landing, tmp_path)
    _put_export(landing, "chat-ana.txt", EXPORT)
    first = _tick(new_chat_exports, instance, definitions, None)
    (request,) = first.run_requests
    assert request.requires_backfill_daemon()
    subset = request.asset_graph_subset
    assert {key.to_user_string() for key in subset.asset_keys} == {
        "raw_messages",
        "message_statuses",
        "api_errors",
        "quarantine",
        "message_media",
    }
    raw = subset.get_partitions_subset(dg.AssetKey("raw_messages"))
    assert sorted(raw.get_partition_keys()) == ["2024-05-13", "2024-05-14", "2024-05-15"]
    assert request.tags["wareader/export_key"] == "exports/chat-ana.txt"

    # Nothing new: no request. The same file uploaded again (same name or another): none.
    assert isinstance(_tick(new_chat_exports, instance, definitions, first.cursor), dg.SkipReason)
    _put_export(landing, "chat-ana.txt", EXPORT)
    os.utime(Path(landing.uri) / "exports" / "chat-ana.txt", (1e9, 1e9))  # a new mtime
    _put_export(landing, "chat-ana (1).txt", EXPORT)
    again = _tick(new_chat_exports, instance, definitions, first.cursor)
    assert isinstance(again, dg.SensorResult) and not again.run_requests

    # A different export is imported.
    _put_export(landing, "chat-ben.txt", EXPORT.replace("Nos vemos", "Hasta luego"))
    third = _tick(new_chat_exports, instance, definitions, again.cursor)
    assert len(third.run_requests) == 1
    assert third.run_requests[0].tags["wareader/export_key"] == "exports/chat-ben.txt"


def test_ingestion_reuses_the_export_the_sensor_parsed(
    instance: dg.DagsterInstance, landing: LandingZone, tmp_path: Path
) -> None:
    definitions = _definitions(landing, tmp_path)
    _put_export(landing, "chat-ana.txt", EXPORT)
    result = _tick(new_chat_exports, instance, definitions, None)
    assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1
    settings = PipelineSettings(pseudonym_key=DEVELOPMENT_KEY, cache_dir=str(tmp_path / "cache"))
    window = read_landing_window(
        landing,
        datetime(2024, 5, 13, tzinfo=UTC),
        datetime(2024, 5, 16, tzinfo=UTC),
        settings=settings,
    )
    assert window.stats.exports == 1 and window.stats.exports_from_cache == 1
    assert len(window.raw_messages) == 3


def test_export_sensor_waits_for_a_file_still_being_copied(
    instance: dg.DagsterInstance, landing: LandingZone, tmp_path: Path
) -> None:
    definitions = _definitions(landing, tmp_path)
    landing.write("exports/fresh.txt", EXPORT.encode())  # modified just now
    waiting = _tick(new_chat_exports, instance, definitions, None)
    assert isinstance(waiting, dg.SkipReason)
    # Once the copy has settled, a later tick (same cursor) picks the file up.
    old = (datetime.now(UTC) - timedelta(minutes=5)).timestamp()
    os.utime(Path(landing.uri) / "exports" / "fresh.txt", (old, old))
    later = _tick(new_chat_exports, instance, definitions, None)
    assert isinstance(later, dg.SensorResult)
    (request,) = later.run_requests
    assert request.tags["wareader/export_key"] == "exports/fresh.txt"


def test_the_nightly_schedule_runs_the_last_complete_utc_day() -> None:
    schedule = nightly_schedule("30 3 * * *", "Europe/Berlin")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 3 * * *", "Europe/Berlin")
    fired = datetime(2024, 5, 21, 3, 30, tzinfo=UTC) + timedelta(hours=-2)  # 03:30 in Berlin
    context = dg.build_schedule_context(scheduled_execution_time=fired)
    request = schedule(context)
    assert request.partition_key == "2024-05-20"
    assert request.run_key == "nightly:2024-05-20"
    assert last_complete_day(datetime(2024, 5, 21, 0, 0, tzinfo=UTC)) == date(2024, 5, 20)


def test_day_ranges_split_at_gaps_and_at_the_run_size() -> None:
    days = [date(2024, 1, 1) + timedelta(days=n) for n in (0, 1, 2, 5, 6)]
    assert day_ranges(days, max_days=2) == [
        DayRange(date(2024, 1, 1), date(2024, 1, 2)),
        DayRange(date(2024, 1, 3), date(2024, 1, 3)),
        DayRange(date(2024, 1, 6), date(2024, 1, 7)),
    ]


def test_a_history_replay_months_later_is_ingested_with_a_longer_lookback(
    instance: dg.DagsterInstance, landing: LandingZone, tmp_path: Path
) -> None:
    sent = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)
    _land(landing, "wamid.OLD", sent, sent + timedelta(days=120))
    definitions = _definitions(landing, tmp_path)
    result = _tick(new_webhook_bodies, instance, definitions, None)
    assert isinstance(result, dg.SensorResult)
    [request] = result.run_requests
    assert request.partition_key == "2024-01-10"
    assert int(request.tags[WEBHOOK_LOOKBACK_TAG]) >= 120

    url = str(tmp_path / "warehouse.duckdb")
    resources = {
        **(definitions.resources or {}),
        "io_manager": WarehouseIOManager(url=url),
    }
    ran = dg.materialize(
        [landing_zone_tables],
        partition_key=request.partition_key,
        tags=request.tags,
        resources=resources,
    )
    assert ran.success
    rows = Warehouse(url=url).query("SELECT message_id FROM {schema}.raw_messages")
    assert list(rows["message_id"]) == ["wamid.OLD"]
    # Without the tag the default seven-day look-back would never reach that body.
    assert dg.materialize(
        [landing_zone_tables], partition_key="2024-01-10", resources=resources
    ).success
    assert Warehouse(url=url).query("SELECT * FROM {schema}.raw_messages").empty


def test_lookback_needed_counts_days_after_the_range() -> None:
    span = DayRange(date(2024, 1, 10), date(2024, 1, 12))
    assert lookback_needed(span, [date(2024, 1, 11)]) == 0
    assert lookback_needed(span, [date(2024, 1, 13), date(2024, 5, 11)]) == 120
    assert lookback_needed(span, []) == 0


def test_webhook_sensor_on_s3_lists_with_start_after_and_reads_only_new_bodies(
    instance: dg.DagsterInstance, moto_server: MotoServer, flaky_s3: FlakyProxy, tmp_path: Path
) -> None:
    bucket = moto_server.new_bucket()
    zone = LandingZone(
        uri=f"s3://{bucket}/landing",
        s3=moto_server.s3_resource(endpoint_url=flaky_s3.endpoint_url),
    )
    definitions = _definitions(zone, tmp_path)
    received = datetime(2024, 5, 10, 9, 0, tzinfo=UTC)
    first_keys = [
        _land(
            zone, f"wamid.S{n}", received - timedelta(days=n % 2), received + timedelta(seconds=n)
        )
        for n in range(4)
    ]
    first = _tick(new_webhook_bodies, instance, definitions, None)
    assert _partitions(first) == ["2024-05-09..2024-05-10"]
    assert first.cursor == first_keys[-1]

    late = _land(zone, "wamid.LATE", received - timedelta(days=5), received + timedelta(hours=1))
    flaky_s3.seen.clear()
    second = _tick(new_webhook_bodies, instance, definitions, first.cursor)
    assert _partitions(second) == ["2024-05-05"]
    assert second.cursor == late
    lists = [
        parse_qs(urlsplit(path).query)
        for method, path, _ in flaky_s3.seen
        if method == "GET" and "list-type=2" in path
    ]
    assert [query["start-after"] for query in lists] == [[f"landing/{first.cursor}"]]
    assert lists[0]["prefix"] == ["landing/webhooks/"]
    reads = [
        unquote(path)
        for method, path, _ in flaky_s3.seen
        if method == "GET" and "list-type" not in path
    ]
    assert reads == [f"/{bucket}/landing/{late}"]  # the four handled bodies are not read again

    flaky_s3.seen.clear()
    assert isinstance(
        _tick(new_webhook_bodies, instance, definitions, second.cursor), dg.SkipReason
    )
    assert [method for method, _, _ in flaky_s3.seen] == ["GET"]  # one listing, nothing read


def test_a_backlog_larger_than_a_tick_is_worked_off_over_ticks_without_loss(
    instance: dg.DagsterInstance,
    landing: LandingZone,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sensors, "MAX_BODIES_PER_TICK", 40)
    definitions = _definitions(landing, tmp_path)
    landed = [
        _land(
            landing,
            f"wamid.B{n}",
            LONG_AGO + timedelta(days=n // 25),
            LONG_AGO + timedelta(seconds=n),
        )
        for n in range(100)
    ]
    cursor: str | None = None
    covered: list[str] = []
    partitions: set[str] = set()
    for _ in range(3):
        result = _tick(new_webhook_bodies, instance, definitions, cursor)
        assert isinstance(result, dg.SensorResult)
        assert int(result.run_requests[0].tags["wareader/bodies"]) <= 40
        handled = [key for key in landed if (cursor or "") < key <= result.cursor]
        assert len(handled) == min(40, 100 - len(covered))
        covered += handled
        partitions |= {p for r in result.run_requests for p in _partitions_of(r)}
        cursor = result.cursor
    assert covered == landed and cursor == landed[-1]
    assert partitions == {"2024-05-20", "2024-05-21", "2024-05-22", "2024-05-23"}
    assert isinstance(_tick(new_webhook_bodies, instance, definitions, cursor), dg.SkipReason)


def _partitions_of(request: dg.RunRequest) -> list[str]:
    if request.partition_key:
        return [request.partition_key]
    first = date.fromisoformat(request.tags[RANGE_START_TAG])
    last = date.fromisoformat(request.tags[RANGE_END_TAG])
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
