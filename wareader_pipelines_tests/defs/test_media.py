"""`message_media` materialized over a real partition: fake Graph API, local blob store, DuckDB."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from wareader_pipelines.defs.ingestion.assets import landing_zone_tables
from wareader_pipelines.defs.media.assets import message_media
from wareader_pipelines.landing.layout import webhook_key
from wareader_pipelines.nlp.pseudonyms import DEVELOPMENT_KEY
from wareader_pipelines.resources.blob_store import BlobStore
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines.resources.warehouse import Warehouse, WarehouseIOManager
from wareader_pipelines.resources.whatsapp import WhatsAppCloudAPI
from wareader_pipelines.whatsapp_api.media import content_key, index_key
from wareader_pipelines_tests.servers.graph_api import GRAPH_TOKEN, FakeGraphAPI, ScriptedAnswer

PHOTO = b"\xff\xd8\xff\xe0JFIF" + bytes(range(256)) * 20
VOICE = b"OggS" + bytes(range(200)) * 10


def _media_message(wamid: str, kind: str, media_id: str, mime: str, sha: str, at: datetime) -> dict:
    return {
        "from": "16505551234",
        "id": wamid,
        "timestamp": str(int(at.timestamp())),
        "type": kind,
        kind: {"id": media_id, "mime_type": mime, "sha256": sha},
    }


def _land(zone: LandingZone, messages: list[dict], received: datetime) -> None:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": "106540352242922"},
        "messages": messages,
    }
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()
    zone.write(webhook_key(body, received), body)


@pytest.fixture
def sent_at() -> datetime:
    """A moment inside the media ids' 7-day life, in a partition that exists."""
    return (datetime.now(UTC) - timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )


def _resources(tmp_path: Path, whatsapp: WhatsAppCloudAPI) -> dict[str, object]:
    return {
        "io_manager": WarehouseIOManager(url=str(tmp_path / "w.duckdb")),
        "landing_zone": LandingZone(uri=str(tmp_path / "landing")),
        "settings": PipelineSettings(
            pseudonym_key=DEVELOPMENT_KEY, cache_dir=str(tmp_path / "cache")
        ),
        "blob_store": BlobStore(uri=str(tmp_path / "blobs")),
        "whatsapp": whatsapp,
    }


def _api(fake: FakeGraphAPI) -> WhatsAppCloudAPI:
    return WhatsAppCloudAPI(
        access_token=GRAPH_TOKEN, base_url=fake.base_url, backoff_base_seconds=0.01, max_retries=1
    )


def _rows(tmp_path: Path) -> list[dict]:
    frame = Warehouse(url=str(tmp_path / "w.duckdb")).query(
        "select * from {schema}.message_media order by message_id"
    )
    return frame.to_dict("records")


def test_media_is_stored_content_addressed_and_never_fetched_twice(
    tmp_path: Path, graph_api: FakeGraphAPI, sent_at: datetime
) -> None:
    photo_sha = graph_api.add_media("9001", PHOTO, "image/jpeg")
    voice_sha = graph_api.add_media("9002", VOICE, "audio/ogg")
    resources = _resources(tmp_path, _api(graph_api))
    _land(
        resources["landing_zone"],  # type: ignore[arg-type]
        [
            _media_message("wamid.P", "image", "9001", "image/jpeg", photo_sha, sent_at),
            _media_message("wamid.V", "audio", "9002", "audio/ogg", voice_sha, sent_at),
            # The same photo forwarded again under another media id: stored once.
            _media_message("wamid.Q", "image", "9003", "image/jpeg", photo_sha, sent_at),
        ],
        sent_at + timedelta(seconds=2),
    )
    graph_api.add_media("9003", PHOTO, "image/jpeg")
    partition = sent_at.date().isoformat()

    result = dg.materialize(
        [landing_zone_tables, message_media], partition_key=partition, resources=resources
    )
    assert result.success
    rows = _rows(tmp_path)
    assert [(r["message_id"], r["status"], r["sha256"], r["bytes"]) for r in rows] == [
        ("wamid.P", "stored", photo_sha, len(PHOTO)),
        ("wamid.Q", "stored", photo_sha, len(PHOTO)),
        ("wamid.V", "stored", voice_sha, len(VOICE)),
    ]
    blobs = Path(tmp_path / "blobs")
    assert (blobs / content_key(photo_sha)).read_bytes() == PHOTO
    assert (blobs / content_key(voice_sha)).read_bytes() == VOICE
    assert (blobs / index_key("9003")).exists()
    assert rows[0]["uri"].endswith(content_key(photo_sha))
    assert len(list((blobs / "media" / "sha256").rglob("*"))) == 4  # 2 folders, 2 files
    calls = len(graph_api.requests)
    assert calls == 6

    again = dg.materialize(
        [landing_zone_tables, message_media],
        selection=[message_media],
        partition_key=partition,
        resources=resources,
    )
    assert again.success
    assert len(graph_api.requests) == calls  # nothing fetched again
    assert {r["status"] for r in _rows(tmp_path)} == {"already_stored"}
    assert len(_rows(tmp_path)) == 3


def test_a_sha256_mismatch_or_an_unknown_id_is_a_failed_row_not_a_failed_run(
    tmp_path: Path, graph_api: FakeGraphAPI, sent_at: datetime
) -> None:
    graph_api.add_media("9101", PHOTO, "image/jpeg")
    resources = _resources(tmp_path, _api(graph_api))
    _land(
        resources["landing_zone"],  # type: ignore[arg-type]
        [
            _media_message("wamid.X", "image", "9101", "image/jpeg", "ab" * 32, sent_at),
            _media_message("wamid.Y", "document", "gone", "application/pdf", "cd" * 32, sent_at),
        ],
        sent_at,
    )
    result = dg.materialize(
        [landing_zone_tables, message_media],
        partition_key=sent_at.date().isoformat(),
        resources=resources,
    )
    assert result.success
    rows = _rows(tmp_path)
    assert [(r["message_id"], r["status"]) for r in rows] == [
        ("wamid.X", "failed"),
        ("wamid.Y", "failed"),
    ]
    assert "sha256" in rows[0]["error"]
    assert not (tmp_path / "blobs" / "media").exists()


def test_media_older_than_seven_days_is_reported_expired_without_a_call(
    tmp_path: Path, graph_api: FakeGraphAPI
) -> None:
    old = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    resources = _resources(tmp_path, _api(graph_api))
    _land(
        resources["landing_zone"],  # type: ignore[arg-type]
        [_media_message("wamid.O", "image", "9201", "image/jpeg", "ef" * 32, old)],
        old,
    )
    result = dg.materialize(
        [landing_zone_tables, message_media], partition_key="2024-05-01", resources=resources
    )
    assert result.success
    assert [r["status"] for r in _rows(tmp_path)] == ["expired"]
    assert graph_api.requests == []


def test_without_a_token_nothing_is_materialized_and_the_metadata_says_why(
    tmp_path: Path, sent_at: datetime
) -> None:
    resources = _resources(tmp_path, WhatsAppCloudAPI())
    _land(
        resources["landing_zone"],  # type: ignore[arg-type]
        [_media_message("wamid.T", "image", "9301", "image/jpeg", "12" * 32, sent_at)],
        sent_at,
    )
    result = dg.materialize(
        [landing_zone_tables, message_media],
        partition_key=sent_at.date().isoformat(),
        resources=resources,
    )
    assert result.success
    (event,) = result.asset_materializations_for_node("message_media")
    assert "WA_ACCESS_TOKEN" in event.metadata["skipped"].value
    assert event.metadata["media_messages"].value == 1
    assert not Warehouse(url=str(tmp_path / "w.duckdb")).table_exists("message_media")


def test_an_expired_token_fails_the_run_naming_the_fix(
    tmp_path: Path, graph_api: FakeGraphAPI, sent_at: datetime
) -> None:
    graph_api.add_media("9401", PHOTO, "image/jpeg")
    graph_api.fail_next(
        "/v23.0/9401",
        ScriptedAnswer(401, {"error": {"message": "Session has expired", "code": 190}}),
    )
    resources = _resources(tmp_path, _api(graph_api))
    _land(
        resources["landing_zone"],  # type: ignore[arg-type]
        [
            _media_message(
                "wamid.E", "image", "9401", "image/jpeg", hashlib.sha256(PHOTO).hexdigest(), sent_at
            )
        ],
        sent_at,
    )
    result = dg.materialize(
        [landing_zone_tables, message_media],
        partition_key=sent_at.date().isoformat(),
        resources=resources,
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "WA_ACCESS_TOKEN" in failure.step_failure_data.error.message
