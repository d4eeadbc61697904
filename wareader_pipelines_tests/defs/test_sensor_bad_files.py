"""Sensors never raise on a bad landing-zone file: it is logged and run for quarantine, and the
other files are still imported (issue 12; a corrupt zip used to stop every export import)."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from wareader_pipelines.defs.automation import sensors
from wareader_pipelines.defs.automation.jobs import daily_pipeline_job
from wareader_pipelines.defs.ingestion.assets import landing_zone_tables
from wareader_pipelines.defs.media.assets import message_media
from wareader_pipelines.landing.layout import webhook_key
from wareader_pipelines.nlp.pseudonyms import DEVELOPMENT_KEY, Pseudonymizer
from wareader_pipelines.parsing import chat_export, webhook_payload
from wareader_pipelines.resources.blob_store import BlobStore
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines.resources.whatsapp import WhatsAppCloudAPI

GOOD = "".join(f"13/05/2024, 09:{n:02d} - Ana: hola number {n} and more\n" for n in range(40))
LANDED = datetime.now(UTC) - timedelta(minutes=5)


def corrupt_zip() -> bytes:
    """An export zip whose deflate stream is damaged: reading it raised zlib.error."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("WhatsApp Chat with Bo.txt", GOOD * 8)
    data = bytearray(buffer.getvalue())
    data[61] ^= 0xFF  # inside the compressed data, after the 30-byte header and the name
    return bytes(data)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def landing(tmp_path: Path) -> LandingZone:
    zone = LandingZone(uri=str(tmp_path / "landing"))
    for name, data in (("a-corrupt.zip", corrupt_zip()), ("b-good.txt", GOOD.encode())):
        zone.write(f"exports/{name}", data)
        os.utime(Path(zone.uri) / "exports" / name, (LANDED.timestamp(),) * 2)
    return zone


def _tick(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, zone: LandingZone, tmp: Path):
    settings = PipelineSettings(pseudonym_key=DEVELOPMENT_KEY, cache_dir=str(tmp / "cache"))
    definitions = dg.Definitions(
        assets=[landing_zone_tables, message_media],
        jobs=[daily_pipeline_job],
        sensors=[sensor],
        resources={
            "landing_zone": zone,
            "settings": settings,
            "blob_store": BlobStore(uri=str(tmp / "blobs")),
            "whatsapp": WhatsAppCloudAPI(),
        },
    )
    with dg.build_sensor_context(
        instance=instance,
        definitions=definitions,
        resources={"landing_zone": zone, "settings": settings},
    ) as context:
        return sensor(context)


def _export_keys(result: dg.SensorResult) -> list[str]:
    return sorted(r.tags.get("wareader/export_key", "") for r in result.run_requests or [])


def test_the_parser_quarantines_a_corrupt_zip_instead_of_raising_zlib_error() -> None:
    result = chat_export.parse_export(
        "exports/a-corrupt.zip",
        corrupt_zip(),
        pseudonyms=Pseudonymizer(DEVELOPMENT_KEY),
        landed_at=LANDED,
    )
    (row,) = result.quarantine
    assert result.messages == [] and row.location == "whole file"
    assert "damaged" in row.reason and "decompressing" in row.reason


def test_the_parser_quarantines_an_export_that_runs_out_of_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def exhausted(parser: object) -> str:
        raise MemoryError

    monkeypatch.setattr(chat_export._ExportParser, "scanned", exhausted)
    result = chat_export.parse_export(
        "exports/b-good.txt",
        GOOD.encode(),
        pseudonyms=Pseudonymizer(DEVELOPMENT_KEY),
        landed_at=LANDED,
    )
    assert [q.reason for q in result.quarantine] == [
        "the export needs more memory than this process has"
    ]


def test_a_corrupt_zip_next_to_a_good_export_does_not_stop_the_sensor(
    instance: dg.DagsterInstance, landing: LandingZone, tmp_path: Path
) -> None:
    result = _tick(sensors.new_chat_exports, instance, landing, tmp_path)
    assert isinstance(result, dg.SensorResult)
    # The good export is backfilled over its days; the corrupt one runs the day it landed,
    # where ingestion writes its quarantine row.
    assert _export_keys(result) == ["exports/a-corrupt.zip", "exports/b-good.txt"]
    cursor = json.loads(result.cursor or "{}")
    assert len(cursor["imported"]) == 2


def test_an_unexpected_parser_failure_is_logged_and_the_other_exports_imported(
    instance: dg.DagsterInstance,
    landing: LandingZone,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    real = chat_export.parse_export_batches

    def failing(name: str, data: object, **options: object) -> chat_export.ExportBatches:
        if name.endswith(".zip"):
            raise MemoryError("simulated")
        return real(name, data, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(chat_export, "parse_export_batches", failing)
    result = _tick(sensors.new_chat_exports, instance, landing, tmp_path)
    assert isinstance(result, dg.SensorResult)
    assert _export_keys(result) == ["exports/a-corrupt.zip", "exports/b-good.txt"]
    corrupt = next(r for r in result.run_requests if r.tags["wareader/export_key"].endswith("zip"))
    subset = corrupt.asset_graph_subset.get_partitions_subset(dg.AssetKey("raw_messages"))
    assert list(subset.get_partition_keys()) == [LANDED.date().isoformat()]
    err = capfd.readouterr().err
    assert (
        "a-corrupt.zip: rejected whole (the export parser failed on this file (MemoryError" in err
    )
    # The failed file is marked seen, so the next tick does not pay for it again.
    again = _tick_with_cursor(instance, landing, tmp_path, result.cursor)
    assert isinstance(again, dg.SkipReason)


def _tick_with_cursor(
    instance: dg.DagsterInstance, zone: LandingZone, tmp: Path, cursor: str | None
) -> dg.SensorResult | dg.SkipReason:
    settings = PipelineSettings(pseudonym_key=DEVELOPMENT_KEY, cache_dir=str(tmp / "cache"))
    definitions = dg.Definitions(
        assets=[landing_zone_tables, message_media],
        sensors=[sensors.new_chat_exports],
        resources={
            "landing_zone": zone,
            "settings": settings,
            "blob_store": BlobStore(uri=str(tmp / "blobs")),
            "whatsapp": WhatsAppCloudAPI(),
        },
    )
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=definitions,
        resources={"landing_zone": zone, "settings": settings},
    ) as context:
        return sensors.new_chat_exports(context)


def test_a_webhook_body_that_cannot_be_read_runs_its_day_and_the_rest_still_run(
    instance: dg.DagsterInstance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    zone = LandingZone(uri=str(tmp_path / "hooks"))
    received = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)
    keys = []
    for n, sent in enumerate((datetime(2024, 5, 18, 9, tzinfo=UTC), received)):
        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "changes": [
                            {
                                "value": {
                                    "metadata": {"phone_number_id": "1"},
                                    "messages": [
                                        {
                                            "from": "1",
                                            "id": f"wamid.{n}",
                                            "timestamp": str(int(sent.timestamp())),
                                            "type": "text",
                                            "text": {"body": "x"},
                                        }
                                    ],
                                }
                            }
                        ]
                    }
                ],
            }
        ).encode()
        keys.append(webhook_key(body, received.replace(microsecond=n)))
        zone.write(keys[-1], body)
    real = webhook_payload.parse_webhook_body

    def failing(body: bytes, **options: object):  # type: ignore[no-untyped-def]
        if options["source_file"] == keys[0]:
            raise MemoryError("simulated")
        return real(body, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(webhook_payload, "parse_webhook_body", failing)
    result = _tick(sensors.new_webhook_bodies, instance, zone, tmp_path)
    assert isinstance(result, dg.SensorResult)
    assert [r.partition_key for r in result.run_requests] == ["2024-05-20"]
    assert result.cursor == keys[-1]
