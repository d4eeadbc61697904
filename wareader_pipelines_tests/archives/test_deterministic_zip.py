"""Reproducible zips and member names that cannot escape their folder."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from wareader_pipelines.archives.deterministic_zip import (
    deterministic_zip,
    extract_member_safely,
    member_path,
)


def test_same_members_give_the_same_bytes() -> None:
    members = [("b.txt", b"bee"), ("a.txt", b"ay" * 1000)]
    assert deterministic_zip(members) == deterministic_zip(list(members))
    with pytest.raises(ValueError):
        deterministic_zip([("a", b"1"), ("a", b"2")])


@pytest.mark.parametrize(
    ("name", "member"),
    [
        ("../../x", "media/x"),
        ("/etc/passwd", "media/passwd"),
        ("C:\\Users\\x\\..\\photo.jpg", "media/photo.jpg"),
        ("..", "media/unnamed"),
        ("IMG 0001.jpg", "media/IMG 0001.jpg"),
        ("con\x00trol?.jpg", "media/control_.jpg"),
        ("C:evil.jpg", "media/evil.jpg"),
        ("a/b/\u200fname.jpg", "media/name.jpg"),
    ],
)
def test_member_path(name: str, member: str) -> None:
    assert member_path("media", name) == member


def test_a_zip_slip_member_is_written_inside_its_folder(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../x", b"escaped?")
    target = tmp_path / "deep" / "media"

    with zipfile.ZipFile(buffer) as archive:
        written = extract_member_safely(archive, "../../x", str(target))

    assert Path(written) == target / "x" and Path(written).read_bytes() == b"escaped?"
    assert not (tmp_path / "x").exists() and not (tmp_path / "deep" / "x").exists()
