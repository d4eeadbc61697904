"""The local landing zone: ordered listing, listing after a cursor, atomic writes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from wareader_pipelines.resources import landing_zone
from wareader_pipelines.resources.landing_zone import LandingZone


def test_listing_is_ordered_filtered_and_resumable(tmp_path: Path) -> None:
    zone = LandingZone(uri=str(tmp_path))
    keys = [
        "webhooks/dt=2024-05-02/b.json",
        "webhooks/dt=2024-05-01/a.json",
        "webhooks/dt=2024-05-01/c.json",
        "exports/chat.txt",
    ]
    for key in keys:
        zone.write(key, key.encode())
    assert [o.key for o in zone.list("webhooks/")] == sorted(keys[:3])
    assert [o.key for o in zone.list("webhooks/dt=2024-05-01/")] == sorted(keys[1:3])
    after = [o.key for o in zone.list("webhooks/", start_after="webhooks/dt=2024-05-01/c.json")]
    assert after == ["webhooks/dt=2024-05-02/b.json"]
    assert [o.size for o in zone.list("exports/")] == [len(b"exports/chat.txt")]
    assert list(LandingZone(uri=str(tmp_path / "missing")).list()) == []


def test_writes_are_whole_and_stay_inside_the_zone(tmp_path: Path) -> None:
    zone = LandingZone(uri=str(tmp_path))
    zone.write("exports/a.txt", b"first")
    zone.write("exports/a.txt", b"second")
    assert zone.read("exports/a.txt") == b"second"
    assert zone.exists("exports/a.txt") and not zone.exists("exports/b.txt")
    assert [p.name for p in (tmp_path / "exports").iterdir()] == ["a.txt"], (
        "no temporary files left"
    )
    with pytest.raises(ValueError, match="not a plain relative path"):
        zone.write("../outside.txt", b"x")


def test_listing_after_a_cursor_skips_older_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = LandingZone(uri=str(tmp_path))
    for day in range(1, 10):
        zone.write(f"webhooks/dt=2024-05-0{day}/a.json", b"x")
        zone.write(f"webhooks/dt=2024-05-0{day}/b.json", b"x")
    entered: list[str] = []
    scandir = os.scandir

    def recording_scandir(path: str) -> Iterator[os.DirEntry[str]]:
        entered.append(Path(path).name)
        return scandir(path)

    monkeypatch.setattr(landing_zone.os, "scandir", recording_scandir)
    keys = [o.key for o in zone.list("webhooks/", start_after="webhooks/dt=2024-05-08/a.json")]
    assert keys == [
        "webhooks/dt=2024-05-08/b.json",
        "webhooks/dt=2024-05-09/a.json",
        "webhooks/dt=2024-05-09/b.json",
    ]
    assert sorted(entered) == ["dt=2024-05-08", "dt=2024-05-09", "webhooks"]


def test_listing_skips_temporary_files_and_linked_folders_and_refuses_escaping_keys(
    tmp_path: Path,
) -> None:
    zone = LandingZone(uri=str(tmp_path / "zone"))
    zone.write("webhooks/dt=2024-05-01/a.json", b"a")
    (tmp_path / "zone" / "webhooks" / "dt=2024-05-01" / ".incoming-x").write_bytes(b"half")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "b.json").write_bytes(b"b")
    (tmp_path / "zone" / "webhooks" / "linked").symlink_to(tmp_path / "elsewhere")
    assert [o.key for o in zone.list()] == ["webhooks/dt=2024-05-01/a.json"]
    assert zone.read("webhooks/dt=2024-05-01/a.json") == b"a"
    # The same rule as the blob store and S3 keys (lib/keys.py): no aliases such as "./a//b".
    for key in (
        "../elsewhere/b.json",
        "/etc/passwd",
        "webhooks/../../x",
        "a\\b",
        "",
        ".",
        "./",
        "./webhooks//dt=2024-05-01/a.json",
    ):
        with pytest.raises(ValueError, match="not a plain relative path"):
            zone.read(key)
