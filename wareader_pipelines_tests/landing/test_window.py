"""Reading landing-zone windows: late deliveries, duplicates, export caching, quarantine days."""

from __future__ import annotations

import concurrent.futures
import inspect
import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wareader_pipelines.landing import window as window_module
from wareader_pipelines.landing.layout import parse_webhook_key, webhook_key
from wareader_pipelines.landing.outside_partitions import split_outside_partitions
from wareader_pipelines.landing.window import read_landing_groups, read_landing_window
from wareader_pipelines.parsing import chat_export
from wareader_pipelines.parsing.records import MessageRecord, StatusRecord, frame_of
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings

MAY = (datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC))

EXPORT = (
    "12/05/2024, 09:15 - Ana: Bom dia! Vamos almoçar amanhã?\n"
    "12/05/2024, 09:16 - Rui: Claro, às 13h no sítio do costume\n"
    "this line belongs to Rui's message\n"
    "31/02/2024, 10:00 - Rui: a day that does not exist\n"
    "13/05/2024, 20:01 - Ana: Até amanhã 😊\n"
    "25/05/2024, 08:00 - Ana: Obrigada pelo almoço\n"
)


def _settings(tmp_path: Path, **overrides: object) -> PipelineSettings:
    values: dict[str, object] = {"pseudonym_key": "test-key", "cache_dir": str(tmp_path / "cache")}
    values.update(overrides)
    return PipelineSettings(**values)


def _day(day: int) -> tuple[datetime, datetime]:
    start = datetime(2024, 5, day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def test_a_late_delivery_lands_in_the_day_it_was_sent(sample_landing: Path, tmp_path: Path) -> None:
    zone = LandingZone(uri=str(sample_landing))
    late = [
        key
        for key in (
            p.relative_to(sample_landing).as_posix() for p in sample_landing.rglob("*.json")
        )
        if parse_webhook_key(key) and parse_webhook_key(key).day.day == 13
    ]
    assert late, "the sample holds bodies received on 2024-05-13"

    window = read_landing_window(zone, *_day(10), settings=_settings(tmp_path))
    from_later_folders = window.raw_messages[
        window.raw_messages["source_file"].str.contains("dt=2024-05-13")
    ]
    assert len(from_later_folders) >= 1
    assert (from_later_folders["sent_at"].dt.day == 10).all()

    short = read_landing_window(
        zone, *_day(10), settings=_settings(tmp_path, webhook_lookback_days=1)
    )
    assert set(short.raw_messages["message_id"]) < set(window.raw_messages["message_id"])


def test_days_add_up_to_the_month_without_doubles(sample_landing: Path, tmp_path: Path) -> None:
    zone = LandingZone(uri=str(sample_landing))
    settings = _settings(tmp_path)
    month = read_landing_window(zone, *MAY, settings=settings)
    days = [read_landing_window(zone, *_day(d), settings=settings) for d in range(1, 32)]

    daily_ids = pd.concat([w.raw_messages["message_id"] for w in days])
    assert daily_ids.is_unique
    assert sorted(daily_ids) == sorted(month.raw_messages["message_id"])
    assert month.raw_messages["message_id"].is_unique
    assert sum(len(w.message_statuses) for w in days) == len(month.message_statuses)
    assert sum(len(w.quarantine) for w in days) == len(month.quarantine)


def test_a_body_delivered_twice_gives_one_row(sample_landing: Path, tmp_path: Path) -> None:
    zone = LandingZone(uri=str(sample_landing))
    settings = _settings(tmp_path)
    before = read_landing_window(zone, *MAY, settings=settings)
    body_path = next(
        p for p in sorted(sample_landing.rglob("*.json")) if b'"messages"' in p.read_bytes()
    )
    body = body_path.read_bytes()
    received = parse_webhook_key(body_path.relative_to(sample_landing).as_posix()).received_at
    zone.write(webhook_key(body, received + timedelta(hours=3)), body)

    after = read_landing_window(zone, *MAY, settings=settings)
    assert sorted(after.raw_messages["message_id"]) == sorted(before.raw_messages["message_id"])
    assert after.stats.duplicate_messages > before.stats.duplicate_messages


def test_an_export_is_parsed_once_per_content(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    zone = LandingZone(uri=str(landing))
    zone.write("exports/WhatsApp Chat with Rui.txt", EXPORT.encode())
    settings = _settings(tmp_path, export_date_orders={"exports/WhatsApp Chat with Rui.txt": "DMY"})

    first = read_landing_window(zone, *MAY, settings=settings)
    second = read_landing_window(zone, *_day(12), settings=settings)
    assert (first.stats.exports, first.stats.exports_from_cache) == (1, 0)
    assert (second.stats.exports, second.stats.exports_from_cache) == (1, 1)
    assert len(first.raw_messages) == 4
    assert list(second.raw_messages["message_id"]) == list(
        first.raw_messages[first.raw_messages["sent_at"].dt.day == 12]["message_id"]
    )
    assert "\n" in first.raw_messages["text"].iloc[1], "multi-line bodies keep their newline"

    zone.write(
        "exports/WhatsApp Chat with Rui.txt", (EXPORT + "26/05/2024, 09:00 - Rui: Olá\n").encode()
    )
    third = read_landing_window(zone, *MAY, settings=settings)
    assert third.stats.exports_from_cache == 0
    assert len(third.raw_messages) == 5


def test_a_cached_export_is_stored_in_small_row_groups_and_streamed_group_by_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long export's cache holds row groups of a few weeks (`CACHE_ROW_GROUP_ROWS`), so a
    grouped read holds only those around its days; its groups equal the window's rows."""
    monkeypatch.setattr(window_module, "CACHE_ROW_GROUP_ROWS", 50)
    lines = [
        f"{day:02d}/05/2024, {hour:02d}:{minute:02d} - {'Ana' if minute % 2 else 'Rui'}: "
        f"mensagem {day} {hour} {minute}\n"
        for day in range(1, 32)
        for hour in (9, 18)
        for minute in (1, 2, 3)
    ]
    zone = LandingZone(uri=str(tmp_path / "landing"))
    zone.write("exports/WhatsApp Chat with Rui.txt", "".join(lines).encode())
    orders = {"exports/WhatsApp Chat with Rui.txt": "DMY"}
    settings = _settings(tmp_path / "a", export_date_orders=orders)
    groups = list(read_landing_groups(zone, *MAY, settings=settings, days_per_group=7))
    (cached,) = (tmp_path / "a" / "cache" / "exports").glob("*.messages.parquet")
    metadata = pq.ParquetFile(cached).metadata
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sum(sizes) == len(lines) and max(sizes) == 50
    whole = read_landing_window(
        zone, *MAY, settings=_settings(tmp_path / "b", export_date_orders=orders)
    )
    joined = pd.concat([g.window.raw_messages for g in groups], ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole.raw_messages)


def test_the_parse_cache_is_keyed_on_every_module_that_shapes_a_parsed_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = {module.__name__ for module in window_module.parser_modules()}
    assert {
        "wareader_pipelines.parsing.chat_export",
        "wareader_pipelines.parsing.export_markers",
        "wareader_pipelines.parsing.records",
        "wareader_pipelines.nlp.pseudonyms",
    } <= names
    zone = LandingZone(uri=str(tmp_path / "landing"))
    zone.write("exports/WhatsApp Chat with Rui.txt", EXPORT.encode())
    settings = _settings(tmp_path, export_date_orders={"exports/WhatsApp Chat with Rui.txt": "DMY"})
    read_landing_window(zone, *MAY, settings=settings)
    assert read_landing_window(zone, *MAY, settings=settings).stats.exports_from_cache == 1
    original = inspect.getsource
    for changed in sorted(names):
        # the source of one module changes (as an edit would); the cache must not be used
        def edited(obj: object, changed: str = changed) -> str:
            source = original(obj)  # type: ignore[arg-type]
            return source + "\n# edited" if getattr(obj, "__name__", "") == changed else source

        monkeypatch.setattr(inspect, "getsource", edited)
        window_module.parser_fingerprint.cache_clear()
        window = read_landing_window(zone, *MAY, settings=settings)
        assert window.stats.exports_from_cache == 0, changed
        monkeypatch.setattr(inspect, "getsource", original)
        window_module.parser_fingerprint.cache_clear()


def test_quarantine_rows_are_filed_under_a_day(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    zone = LandingZone(uri=str(landing))
    zone.write("exports/WhatsApp Chat with Rui.txt", EXPORT.encode())
    zone.write("exports/shopping-list.txt", b"milk\neggs\nbread\n")
    # Landed after its last message (25 May): a message dated after its file landed is
    # quarantined as a wrong clock (test_messages_no_partition_can_hold_...).
    landed = datetime(2024, 5, 26, 8, 0, tzinfo=UTC).timestamp()
    for path in (landing / "exports").iterdir():
        os.utime(path, (landed, landed))
    settings = _settings(tmp_path, export_date_orders={"exports/WhatsApp Chat with Rui.txt": "DMY"})

    bad_line_day = read_landing_window(zone, *_day(12), settings=settings).quarantine
    assert list(bad_line_day["source_file"]) == ["exports/WhatsApp Chat with Rui.txt"]
    assert bad_line_day["location"].iloc[0].startswith("line 4")

    landing_day = read_landing_window(zone, *_day(26), settings=settings).quarantine
    assert list(landing_day["source_file"]) == ["exports/shopping-list.txt"]
    assert landing_day["location"].iloc[0] == "whole file"
    assert landing_day["reason"].iloc[0]


@pytest.mark.parametrize("missing", ["webhooks", "exports"])
def test_an_empty_or_partial_landing_zone_reads_as_no_rows(
    sample_landing: Path, tmp_path: Path, missing: str
) -> None:
    shutil.rmtree(sample_landing / missing, ignore_errors=True)
    window = read_landing_window(
        LandingZone(uri=str(sample_landing)), *MAY, settings=_settings(tmp_path)
    )
    nothing = read_landing_window(
        LandingZone(uri=str(tmp_path / "nowhere")), *MAY, settings=_settings(tmp_path)
    )
    assert list(window.raw_messages.columns) == list(nothing.raw_messages.columns)
    assert nothing.raw_messages.empty and nothing.quarantine.empty


def test_an_export_imported_twice_or_a_longer_overlapping_one_gives_each_message_once(
    tmp_path: Path,
) -> None:
    zone = LandingZone(uri=str(tmp_path / "landing"))
    settings = _settings(tmp_path)
    zone.write("exports/WhatsApp Chat with Rui.txt", EXPORT.encode())
    alone = read_landing_window(zone, *MAY, settings=settings).raw_messages
    assert len(alone) == 4

    # the same file again under the phone's download-copy name, and a later, longer export
    # of the same chat (one earlier and one later message) in another folder
    longer = "11/05/2024, 18:00 - Rui: Olá\n" + EXPORT + "28/05/2024, 21:00 - Rui: Boa noite\n"
    zone.write("exports/WhatsApp Chat with Rui (1).txt", EXPORT.encode())
    zone.write("exports/2024-06/WhatsApp Chat with Rui.txt", longer.encode())
    window = read_landing_window(zone, *MAY, settings=settings)
    raw = window.raw_messages
    assert raw["message_id"].is_unique
    assert len(raw) == 6
    assert set(alone["message_id"]) < set(raw["message_id"])
    assert window.stats.duplicate_messages == 4 + 4
    assert raw["conversation_id"].nunique() == 1


def test_a_file_the_parser_chokes_on_is_quarantined_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = LandingZone(uri=str(tmp_path / "landing"))
    zone.write("exports/WhatsApp Chat with Rui.txt", EXPORT.encode())
    zone.write("exports/WhatsApp Chat with Eva.txt", b"12/05/2024, 09:15 - Eva: boom\n")
    parse_export_batches = chat_export.parse_export_batches

    def parser_with_a_bug(name: str, data: object, **options: object) -> object:
        if "Eva" in name:
            raise RecursionError("a parser bug")
        return parse_export_batches(name, data, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(chat_export, "parse_export_batches", parser_with_a_bug)
    landed = datetime(2024, 5, 12, 8, 0, tzinfo=UTC).timestamp()
    for path in (tmp_path / "landing" / "exports").iterdir():
        os.utime(path, (landed, landed))
    settings = _settings(tmp_path, export_date_orders={"exports/WhatsApp Chat with Rui.txt": "DMY"})

    window = read_landing_window(zone, *_day(12), settings=settings)
    assert len(window.raw_messages) == 2, "the other export's rows survive"
    eva = window.quarantine[window.quarantine["source_file"].str.contains("Eva")]
    assert list(eva["location"]) == ["whole file"]
    assert "RecursionError" in eva["reason"].iloc[0]


def _status_error_body(status_at: int, *, top_level: bool) -> bytes:
    value: dict[str, object] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15555550100", "phone_number_id": "106540352242922"},
        "statuses": [
            {
                "id": "wamid.F1",
                "status": "failed",
                "timestamp": str(status_at),
                "recipient_id": "14155550123",
                "errors": [{"code": 131050, "title": "User stopped marketing messages"}],
            }
        ],
    }
    if top_level:
        value["errors"] = [{"code": 130429, "title": "Rate limit hit"}]
    payload = {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": value}]}]}
    return json.dumps(payload).encode()


def test_api_errors_are_rows_once_each_on_their_day(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    failed_at = datetime(2024, 5, 12, 23, 59, tzinfo=UTC)
    body = _status_error_body(int(failed_at.timestamp()), top_level=True)
    # received just after midnight, then re-delivered byte-identical a day later
    for received in (failed_at + timedelta(minutes=3), failed_at + timedelta(days=1)):
        path = landing / webhook_key(body, received)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    zone = LandingZone(uri=str(landing))
    settings = _settings(tmp_path)
    twelfth = read_landing_window(zone, *_day(12), settings=settings).api_errors
    thirteenth = read_landing_window(zone, *_day(13), settings=settings).api_errors
    # the status's error belongs to the status's day; the account-level one, which carries
    # no time, to the day its body first arrived
    assert list(twelfth[["level", "code", "message_id"]].itertuples(index=False, name=None)) == [
        ("status", 131050, "wamid.F1")
    ]
    assert list(thirteenth[["level", "code"]].itertuples(index=False, name=None)) == [
        ("value", 130429)
    ]
    assert thirteenth["landed_at"].iloc[0] == pd.Timestamp(failed_at + timedelta(minutes=3))
    month = read_landing_window(zone, *MAY, settings=settings).api_errors
    assert len(month) == 2 and month["error_key"].is_unique


def _workers_first(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Make ingestion wait until the workers have taken every batch of webhook days they
    can (so this process takes none), and record how many exports and batches went to
    them per read."""
    started: list[tuple[int, int]] = []
    start_workers = window_module._start_workers
    read_tasks = window_module._read_webhook_tasks

    def counting_start(*arguments: object) -> object:
        pool, export_futures, webhook_futures, claims = start_workers(*arguments)  # type: ignore[arg-type]
        started.append((len(export_futures), len(webhook_futures)))
        return pool, export_futures, webhook_futures, claims

    def after_the_workers(zone: object, tasks: object, futures: list, *rest: object) -> object:
        concurrent.futures.wait([f for f in futures if f is not None])
        return read_tasks(zone, tasks, futures, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(window_module, "_start_workers", counting_start)
    monkeypatch.setattr(window_module, "_read_webhook_tasks", after_the_workers)
    return started


def test_exports_and_webhook_days_read_in_worker_processes_give_the_same_window(
    sample_landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = LandingZone(uri=str(sample_landing))
    serial = read_landing_window(zone, *MAY, settings=_settings(tmp_path / "a", export_workers=0))

    monkeypatch.setattr(window_module, "PARALLEL_EXPORT_BYTES", 0)  # the sample is small
    monkeypatch.setattr(window_module, "WEBHOOK_DAYS_PER_TASK", 3)
    settings = _settings(tmp_path / "b", export_workers=2)
    started = _workers_first(monkeypatch)
    parallel = read_landing_window(zone, *MAY, settings=settings)
    exports = serial.stats.exports
    # May plus the 31 days of names before it and the 7 of late deliveries after it
    assert started == [(exports, -(-(31 + 31 + 7) // 3))] and exports >= 5, "all to workers"
    for table in ("raw_messages", "message_statuses", "quarantine", "api_errors"):
        pd.testing.assert_frame_equal(getattr(parallel, table), getattr(serial, table))
    assert parallel.stats == serial.stats
    # The workers parsed them (not found cached); the next read finds them in the cache.
    assert parallel.stats.exports_from_cache == serial.stats.exports_from_cache == 0
    again = read_landing_window(zone, *MAY, settings=settings)
    assert again.stats.exports_from_cache == exports
    pd.testing.assert_frame_equal(again.raw_messages, serial.raw_messages)
    # A day's read is too small to share: no worker for its webhook bodies.
    read_landing_window(zone, *_day(12), settings=settings)
    assert started[-1] == (exports, 0)


def test_a_crashed_worker_only_costs_time(
    sample_landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = LandingZone(uri=str(sample_landing))
    serial = read_landing_window(zone, *MAY, settings=_settings(tmp_path / "a", export_workers=0))
    monkeypatch.setattr(window_module, "PARALLEL_EXPORT_BYTES", 0)

    def crashing_worker(*arguments: object) -> bool:
        os._exit(3)  # the worker process dies (out of memory, a segfault in a library)

    monkeypatch.setattr(window_module, "_parse_into_cache", crashing_worker)
    monkeypatch.setattr(window_module, "_webhook_days_in_worker", crashing_worker)
    started = _workers_first(monkeypatch)
    survived = read_landing_window(zone, *MAY, settings=_settings(tmp_path / "b", export_workers=1))
    assert started[0][1] > 0
    for table in ("raw_messages", "message_statuses", "quarantine", "api_errors"):
        pd.testing.assert_frame_equal(getattr(survived, table), getattr(serial, table))
    assert survived.stats.exports_from_cache == 0


def test_each_export_can_have_its_own_time_zone(tmp_path: Path) -> None:
    zone = LandingZone(uri=str(tmp_path / "landing"))
    zone.write("exports/WhatsApp Chat with Rui.txt", EXPORT.encode())
    zone.write("exports/Rui in Berlin.txt", EXPORT.encode())
    orders = {"exports/WhatsApp Chat with Rui.txt": "DMY", "exports/Rui in Berlin.txt": "DMY"}
    settings = _settings(
        tmp_path,
        export_timezone="America/Sao_Paulo",
        export_timezones={"exports/Rui in Berlin.txt": "Europe/Berlin"},
        export_date_orders=orders,
    )
    raw = read_landing_window(zone, *MAY, settings=settings).raw_messages
    first = raw[raw["text"] == "Bom dia! Vamos almoçar amanhã?"].set_index("source_file")
    assert first.loc["exports/Rui in Berlin.txt", "export_timezone"] == "Europe/Berlin"
    assert first.loc["exports/WhatsApp Chat with Rui.txt", "export_timezone"] == (
        "America/Sao_Paulo"
    )
    # 09:15 local: 07:15 UTC in Berlin (CEST), 12:15 UTC in São Paulo
    assert first.loc["exports/Rui in Berlin.txt", "sent_at"].hour == 7
    assert first.loc["exports/WhatsApp Chat with Rui.txt", "sent_at"].hour == 12


def test_messages_no_partition_can_hold_are_quarantined_with_why(tmp_path: Path) -> None:
    """Issue 9 §4: before the first partition or after the file landed, never silently gone."""
    exports = tmp_path / "landing" / "exports"
    exports.mkdir(parents=True)
    _land_wrong_clock_export(exports, datetime(2024, 5, 31, 12, tzinfo=UTC))
    zone = LandingZone(uri=str(tmp_path / "landing"))
    settings = _settings(tmp_path, export_date_orders={"exports/old and wrong clock.txt": "DMY"})

    whole = read_landing_window(zone, *MAY, settings=settings)
    assert list(whole.raw_messages["text"]) == ["an ordinary message"]
    outside = whole.quarantine[whole.quarantine["excerpt"].str.startswith("text message")]
    assert len(outside) == 2 == whole.stats.messages_outside_partitions
    reasons = " | ".join(sorted(outside["reason"]))
    assert "sent on 2011-05-12, before the first daily partition (2024-01-01)" in reasons
    assert "WAREADER_HISTORY_START" in reasons
    assert "2099-01-01 10:00 UTC by the sender's clock, after its file landed" in reasons
    # Filed on the day the file landed, which every run over that day reads.
    assert set(outside["partition_at"].dt.date.astype(str)) == {"2024-05-31"}
    assert "an ordinary message" not in " ".join(outside["excerpt"])
    other_day = read_landing_window(zone, *_day(12), settings=settings)
    assert other_day.stats.messages_outside_partitions == 0


def test_a_range_read_in_groups_of_days_gives_the_windows_rows(
    sample_landing: Path, tmp_path: Path
) -> None:
    """`read_landing_groups` (the streamed benchmark's read): each group of days holds the
    rows one read of the whole window files under those days, with conversations running
    across the groups' boundaries, re-deliveries, and messages no partition can hold."""
    landing = tmp_path / "zone"
    shutil.copytree(sample_landing, landing)
    _land_wrong_clock_export(landing / "exports", datetime(2024, 5, 21, 12, tzinfo=UTC))
    zone = LandingZone(uri=str(landing))
    orders = {"exports/old and wrong clock.txt": "DMY"}
    whole = read_landing_window(
        zone, *MAY, settings=_settings(tmp_path / "a", export_date_orders=orders)
    )
    settings = _settings(tmp_path / "b", export_date_orders=orders)  # its own cache
    groups = list(read_landing_groups(zone, *MAY, settings=settings, days_per_group=4))

    assert [(g.start.day, g.end - g.start) for g in groups] == [
        (1 + 4 * i, timedelta(days=4 if i < 7 else 3)) for i in range(8)
    ]
    assert whole.stats.messages_outside_partitions == 2
    conversations = [set(g.window.raw_messages["conversation_id"]) for g in groups]
    assert set.intersection(*conversations[:3]), "a conversation crosses the boundaries"
    for table, column in (
        ("raw_messages", "sent_at"),
        ("message_statuses", "status_at"),
        ("quarantine", "partition_at"),
        ("api_errors", "partition_at"),
    ):
        for group in groups:
            times = getattr(group.window, table)[column]
            assert ((times >= group.start) & (times < group.end)).all()
        joined = pd.concat([getattr(g.window, table) for g in groups], ignore_index=True)
        # A column empty in all of a group's rows comes back as NaN, as in a day's own read.
        pd.testing.assert_frame_equal(joined, getattr(whole, table), check_dtype=False)
    assert len(whole.raw_messages) > 100 and len(whole.quarantine) >= 2
    assert groups[-1].window.stats == whole.stats


def test_webhook_messages_kept_as_arrow_give_the_frame_of_their_records() -> None:
    """Webhook days hand their messages over as Arrow tables; a day holding a value Arrow
    refuses (a lone surrogate) keeps its tuples, and the frames are the records' either way."""
    records = [
        MessageRecord(
            message_id=f"wamid.{i}",
            conversation_id="c1",
            source="webhook",
            sender_wa_id="34600000000" if i else None,
            sender_name=None,
            sent_at=datetime(2024, 5, 2, 9, i, tzinfo=UTC),
            message_type="text",
            text=text,
            media_id=None,
            media_mime=None,
            reply_to_id=None,
            is_system=False,
            is_edited=bool(i % 2),
            source_file=f"webhooks/dt=2024-05-02/{i}.json",
            location="entry[0].changes[0].messages[0]",
            media_bytes=i or None,
        )
        for i, text in enumerate(["hola", None, "bad \ud800 half", "adiós"])
    ]
    rows = [window_module._MESSAGE_ROW(record) for record in records]
    good, bad = window_module._message_table(rows[:2]), window_module._message_table(rows[2:3])
    assert good.num_rows == 2 and bad == rows[2:3]
    last = window_module._message_table(rows[3:])
    frames = window_module._webhook_frames([good, bad, last])
    assert [len(frame) for frame in frames] == [2, 1, 1]
    expected = frame_of(records, MessageRecord)
    joined = pd.concat(frames, ignore_index=True)
    pd.testing.assert_frame_equal(joined, expected, check_dtype=False)
    pd.testing.assert_frame_equal(
        window_module._webhook_frames([good])[0], frame_of(records[:2], MessageRecord)
    )


def test_webhook_statuses_kept_as_arrow_give_the_frame_of_their_records() -> None:
    """Statuses cross as Arrow tables too; their frames (whole, or a group's rows taken with
    the whole table's dtypes) are the frame of their tuples, a column without any value
    included, and a batch holding a value Arrow refuses keeps its tuples."""
    records = [
        StatusRecord(
            message_id=f"wamid.{i}",
            status=status,
            status_at=datetime(2024, 5, 2, 9, i, tzinfo=UTC),
            recipient_wa_id=None,
            conversation_id="c1",
            error_code=131026 if status == "failed" else None,
            error_title="bad \ud800 half" if i == 3 else None,
            source_file=f"webhooks/dt=2024-05-02/{i}.json",
            location="entry[0].changes[0].statuses[0]",
            pricing_billable=True if i == 1 else None,
        )
        for i, status in enumerate(["sent", "failed", "read", "delivered"])
    ]
    rows = [window_module._STATUS_ROW(record) for record in records]
    schema = window_module.STATUS_SCHEMA
    table = window_module._message_table(rows[:3], schema)
    assert isinstance(table, pa.Table) and window_module._message_table(rows[3:], schema) == [
        rows[3]
    ]
    dtypes = window_module._frame_dtypes(table)
    expected = window_module._rows_frame(rows[:3], StatusRecord)
    pd.testing.assert_frame_equal(window_module._table_frame(table, dtypes), expected)
    # Row 2 alone has no error code: still the whole table's float column.
    pd.testing.assert_frame_equal(
        window_module._table_frame(table.take([2]), dtypes),
        expected.iloc[[2]].reset_index(drop=True),
    )
    sources = window_module._SourceRows(
        window_module.IngestionStats(), 0, [], [table, rows[3:]], [], [], {}, {}, None, []
    )  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(
        window_module._all_statuses(sources), window_module._rows_frame(rows, StatusRecord)
    )


def test_only_the_messages_arrow_flags_as_maybe_outside_need_the_full_check() -> None:
    """`_LandedTimes.may_be_outside` keeps every message `split_outside_partitions` files in
    quarantine (sent before the first day, or over a day after its file landed), and the
    landing times it looks up are the dict's."""
    landed = {
        f"webhooks/dt=2024-05-0{day}/{day}.json": datetime(2024, 5, day, 12, tzinfo=UTC)
        for day in range(1, 5)
    }
    times = window_module._LandedTimes(landed)
    first = datetime(2024, 5, 2, tzinfo=UTC)
    files = [*landed, "webhooks/dt=2024-05-09/unknown.json"]
    sent = [
        datetime(2024, 4, 30, tzinfo=UTC),  # before the first day
        datetime(2024, 5, 3, 12, 0, 1, tzinfo=UTC),  # a day and a second after landing
        datetime(2024, 5, 4, 11, 30, tzinfo=UTC),  # within the tolerance (and its margin)
        None,
        datetime(2030, 1, 1, tzinfo=UTC),  # its file's landing time is unknown
    ]
    messages = pd.DataFrame(
        {
            "sent_at": pd.to_datetime(sent, utc=True),
            "source_file": files,
            "location": [f"m{i}" for i in range(5)],
            "message_type": "text",
            "message_id": [f"wamid.{i}" for i in range(5)],
        }
    )
    flagged = times.may_be_outside(pa.Table.from_pandas(messages), first).to_pylist()
    assert flagged == [True, True, True, False, False]
    by_dict = split_outside_partitions(messages, landed, first_day=first)[1]
    assert list(by_dict["location"]) == ["m0", "m1"]
    by_arrow = split_outside_partitions(
        messages[flagged], times.series_for(messages["source_file"]), first_day=first
    )[1]
    pd.testing.assert_frame_equal(by_arrow, by_dict)


def _land_wrong_clock_export(exports: Path, landed: datetime) -> None:
    """`exports/old and wrong clock.txt`, landed at `landed`: one message from 2011, one from
    2024 and one dated 2099 by a phone whose clock is wrong (DMY dates)."""
    chat = exports / "old and wrong clock.txt"
    chat.write_text(
        "12/05/2011, 09:15 - Ana: from before the partitions\n"
        "12/05/2024, 09:16 - Rui: an ordinary message\n"
        "01/01/2099, 10:00 - Rui: a phone whose clock is wrong\n",
        encoding="utf-8",
    )
    os.utime(chat, (landed.timestamp(), landed.timestamp()))


@pytest.mark.parametrize("odd_id", ["wamid.plain", "wamid.\ud800lone-surrogate"])
def test_raw_rows_are_ordered_by_time_then_id_as_pandas_orders_them(odd_id: str) -> None:
    """Arrow's sort gives pandas' (sent_at, message_id) order, and an id Arrow refuses
    (a lone surrogate from a JSON escape) falls back to pandas' sort, not to an error."""
    times = pd.to_datetime(
        ["2024-05-02 10:00", "2024-05-01 09:00", "2024-05-02 10:00", "2024-05-02 10:00"], utc=True
    )
    raw = pd.DataFrame(
        {"sent_at": times, "message_id": ["wamid.b", "wamid.z", odd_id, "wamid.a"]},
        index=[7, 3, 9, 1],  # a frame's own index, as after a concat
    )
    expected = raw.reset_index(drop=True).sort_values(["sent_at", "message_id"], kind="stable")
    order = window_module._sent_order(raw)
    assert list(order) == list(expected.index)
