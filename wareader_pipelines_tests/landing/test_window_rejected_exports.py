"""A rejected export is remembered by content hash: later reads reuse its quarantine row,
without inflating or parsing it again, and say so (issue 12)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wareader_pipelines.landing import window as window_module
from wareader_pipelines.landing.layout import webhook_key
from wareader_pipelines.landing.window import read_landing_window
from wareader_pipelines.parsing import chat_export
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines_tests.parsing.test_export_limits import MIB, bomb

LANDED = datetime(2024, 5, 13, 12, tzinfo=UTC)
GOOD = "13/05/2024, 09:15 - Ana: hola\n13/05/2024, 09:16 - Bo: hi\n"


def _landing(root: Path) -> LandingZone:
    for name, data in (("bomb.zip", bomb(32 * MIB)), ("good.txt", GOOD.encode())):
        path = root / "exports" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (LANDED.timestamp(),) * 2)
    return LandingZone(uri=str(root))


@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "export-worker"])
def test_a_rejected_export_is_remembered_and_not_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    zone = _landing(tmp_path / "landing")
    monkeypatch.setattr(window_module, "PARALLEL_EXPORT_BYTES", 0)
    settings = PipelineSettings(
        pseudonym_key="k", cache_dir=str(tmp_path / "cache"), export_workers=workers
    )
    window = (LANDED.replace(hour=0), LANDED.replace(hour=0) + timedelta(days=1))
    first = read_landing_window(zone, *window, settings=settings)
    assert first.stats.exports_rejected == ["exports/bomb.zip"]
    assert first.stats.exports_rejected_remembered == 0
    assert "zip bomb" in first.quarantine.set_index("source_file").loc["exports/bomb.zip", "reason"]
    assert len(first.raw_messages) == 2

    calls: list[str] = []
    real = chat_export.parse_export_batches

    def counting(name: str, data: object, **options: object) -> chat_export.ExportBatches:
        calls.append(name)
        return real(name, data, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(chat_export, "parse_export_batches", counting)
    second = read_landing_window(zone, *window, settings=settings)
    assert calls == [], "both files come from the cache, the rejected one included"
    assert second.stats.exports_rejected_remembered == 1
    assert second.quarantine.equals(first.quarantine)

    # Other caps are another question: the file is judged again.
    looser = settings.model_copy(
        update={"export_max_compression_ratio": 10_000, "export_max_text_bytes": MIB}
    )
    third = read_landing_window(zone, *window, settings=looser)
    assert third.stats.exports_rejected == ["exports/bomb.zip"]
    assert third.stats.exports_rejected_remembered == 0
    assert "export_max_text_bytes" in third.quarantine["reason"].str.cat()


def test_a_text_over_the_cap_is_rejected_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = _landing(tmp_path / "landing")
    settings = PipelineSettings(
        pseudonym_key="k", cache_dir=str(tmp_path / "cache"), export_max_text_bytes=10
    )
    read: list[str] = []
    real = LandingZone.read

    def reading(self: LandingZone, key: str) -> bytes:
        read.append(key)
        return real(self, key)

    monkeypatch.setattr(LandingZone, "read", reading)
    window = (LANDED.replace(hour=0), LANDED.replace(hour=0) + timedelta(days=1))
    result = read_landing_window(zone, *window, settings=settings)
    assert "exports/good.txt" not in read
    reasons = result.quarantine.set_index("source_file")["reason"]
    assert "over the cap of 10 (export_max_text_bytes)" in reasons["exports/good.txt"]


def test_a_webhook_body_over_the_cap_is_quarantined_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = LandingZone(uri=str(tmp_path / "landing"))
    body = b'{"object": "whatsapp_business_account", "entry": []}' + b" " * 2000
    key = webhook_key(body, LANDED)
    zone.write(key, body)
    settings = PipelineSettings(
        pseudonym_key="k", cache_dir=str(tmp_path / "cache"), webhook_max_bytes=1000
    )
    real = LandingZone.read
    read: list[str] = []

    def reading(self: LandingZone, key: str) -> bytes:
        read.append(key)
        return real(self, key)

    monkeypatch.setattr(LandingZone, "read", reading)
    window = (LANDED.replace(hour=0), LANDED.replace(hour=0) + timedelta(days=1))
    result = read_landing_window(zone, *window, settings=settings)
    assert read == []
    (row,) = result.quarantine.itertuples()
    assert row.source_file == key and "webhook_max_bytes" in row.reason


def test_a_zip_over_the_file_cap_is_rejected_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = _landing(tmp_path / "landing")
    settings = PipelineSettings(
        pseudonym_key="k", cache_dir=str(tmp_path / "cache"), export_max_zip_bytes=1000
    )
    read: list[str] = []
    real = LandingZone.read

    def reading(self: LandingZone, key: str) -> bytes:
        read.append(key)
        return real(self, key)

    monkeypatch.setattr(LandingZone, "read", reading)
    window = (LANDED.replace(hour=0), LANDED.replace(hour=0) + timedelta(days=1))
    result = read_landing_window(zone, *window, settings=settings)
    assert "exports/bomb.zip" not in read
    reasons = result.quarantine.set_index("source_file")["reason"]
    assert "(export_max_zip_bytes)" in reasons["exports/bomb.zip"]
    assert len(result.raw_messages) == 2  # the good export beside it
