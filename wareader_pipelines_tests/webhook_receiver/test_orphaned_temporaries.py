"""Temporaries a killed receiver left behind are removed at start, never a finished body."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from wareader_pipelines.landing.layout import webhook_key
from wareader_pipelines.resources.atomic_file import TEMPORARY_PREFIX, remove_orphaned_temporaries
from wareader_pipelines_tests.servers.receiver import serve_receiver


def _landing_with_leftovers(root: Path) -> tuple[Path, Path, Path]:
    day = root / "webhooks" / "dt=2024-05-01"
    day.mkdir(parents=True)
    old = day / f"{TEMPORARY_PREFIX}deadbeef00000000"
    young = day / f"{TEMPORARY_PREFIX}0123456789abcdef"
    finished = root / webhook_key(b"{}", datetime.now(UTC))
    finished.parent.mkdir(parents=True, exist_ok=True)
    for path in (old, young, finished):
        path.write_bytes(b"{}")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    os.utime(finished, (two_hours_ago, two_hours_ago))  # an old finished body stays
    return old, young, finished


def test_only_old_temporaries_are_removed(tmp_path: Path) -> None:
    old, young, finished = _landing_with_leftovers(tmp_path)
    assert remove_orphaned_temporaries(tmp_path) == [old]
    assert not old.exists() and young.exists() and finished.exists()


def test_the_receiver_removes_orphans_when_it_starts(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    old, young, finished = _landing_with_leftovers(landing)
    with serve_receiver(str(landing)) as running:
        assert httpx.get(f"{running.base_url}/healthz", timeout=5).status_code == 200
        assert not old.exists()
        assert young.exists() and finished.exists()
