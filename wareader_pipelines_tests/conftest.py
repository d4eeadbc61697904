"""Shared fixtures: the shipped sample data, and every server under `servers/` as a plugin."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_LANDING = REPO_ROOT / "sample_data" / "landing"

pytest_plugins = [
    f"wareader_pipelines_tests.servers.{module.stem}"
    for module in sorted((Path(__file__).parent / "servers").glob("*.py"))
    if module.stem != "__init__"
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Whole modules holding a test marked `heavy` (minutes each) go first, in their order.

    With `-n 2 --maxschedchunk 2` (the Makefile) the two workers then take the heavy tests
    a couple at a time, side by side, instead of one worker finishing them alone at the end.
    """
    heavy = {item.path for item in items if item.get_closest_marker("heavy")}
    items.sort(key=lambda item: item.path not in heavy)


@pytest.fixture
def sample_landing(tmp_path: Path) -> Path:
    """A private copy of the shipped sample landing zone."""
    target = tmp_path / "landing"
    shutil.copytree(SAMPLE_LANDING, target)
    return target
