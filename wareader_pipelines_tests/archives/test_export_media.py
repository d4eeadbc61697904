"""Export attachments into archives: chosen by safe name, verified by sha256, never a path."""

from __future__ import annotations

import hashlib
import io
import json
import random
import tracemalloc
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from wareader_pipelines.archives.conversation_archive import month_period, prepare_archive
from wareader_pipelines.archives.deterministic_zip import extract_member_safely
from wareader_pipelines.archives.export_media import (
    ExportZips,
    collect_export_media,
    media_in_export,
    opener_of,
    wanted_media,
)
from wareader_pipelines_tests.archives.frames import export_zip, raw_messages

EXPORT_KEY = "exports/WhatsApp Chat - Family.zip"
MAY = month_period(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC))
PHOTO = b"\xff\xd8 a photo"
HOSTILE = {"../../x.jpg": b"x bytes", "/abs/y.jpg": b"y bytes", "..\\z.jpg": b"z bytes"}


def _messages(media: dict[str, bytes], *, wrong_sha: frozenset[str] = frozenset()) -> pd.DataFrame:
    """The frames' conversation, plus one export message per attachment in `media`."""
    base = raw_messages()
    rows = []
    for number, (name, data) in enumerate(sorted(media.items())):
        row = base.iloc[1].copy()
        row["message_id"] = f"media-{number}"
        row["media_filename"] = name
        row["media_sha256"] = hashlib.sha256(b"other" if name in wrong_sha else data).hexdigest()
        row["media_bytes"] = len(data)
        rows.append(row)
    frame = pd.concat([base, pd.DataFrame(rows)], ignore_index=True)
    frame["source_file"] = EXPORT_KEY
    return frame


def _archive_members(messages: pd.DataFrame, zip_bytes: bytes) -> tuple[zipfile.ZipFile, list]:
    media = collect_export_media(messages, {EXPORT_KEY: zip_bytes}.__getitem__)["conv-1"]
    contents = prepare_archive(
        conversation_id="conv-1",
        messages=messages,
        summaries=pd.DataFrame(),
        period=MAY,
        pipeline_version="t",
        media=media.files,
    )
    data = contents.to_zip(datetime(2024, 6, 1, tzinfo=UTC))
    return zipfile.ZipFile(io.BytesIO(data)), media.skipped


def test_hostile_member_names_land_only_inside_media() -> None:
    members = {"IMG-20240513-WA0001.jpg": PHOTO, **HOSTILE}
    zip_bytes = export_zip(members)
    # The parser stores safe base names; the messages reference x.jpg, y.jpg, z.jpg.
    referenced = {"IMG-20240513-WA0001.jpg": PHOTO, "x.jpg": b"x bytes"}
    referenced |= {"y.jpg": b"y bytes", "z.jpg": b"z bytes"}
    messages = _messages(referenced)

    archive, skipped = _archive_members(messages, zip_bytes)

    names = archive.namelist()
    media = sorted(n for n in names if n.startswith("media/"))
    assert media == ["media/IMG-20240513-WA0001.jpg", "media/x.jpg", "media/y.jpg", "media/z.jpg"]
    assert all(".." not in n and not n.startswith("/") and "\\" not in n for n in names)
    assert archive.read("media/x.jpg") == b"x bytes" and archive.read("media/z.jpg") == b"z bytes"
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["counts"]["media"] == 4 and skipped == []


def test_extracting_the_archive_writes_nothing_outside_the_folder(tmp_path: Path) -> None:
    zip_bytes = export_zip(HOSTILE)
    archive, _ = _archive_members(_messages({"x.jpg": b"x bytes", "y.jpg": b"y bytes"}), zip_bytes)
    target = tmp_path / "nest" / "out"
    target.parent.mkdir()
    before = set(tmp_path.rglob("*"))

    written = [extract_member_safely(archive, name, str(target)) for name in archive.namelist()]

    assert set(tmp_path.rglob("*")) - before == {target, *map(Path, written)}
    assert all(Path(path).parent == target.resolve() for path in written)
    assert (target / "x.jpg").read_bytes() == b"x bytes"
    # The export zip itself, extracted the same way, cannot escape either.
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as export:
        for name in export.namelist():
            assert Path(extract_member_safely(export, name, str(target))).parent == target.resolve()
    assert {p.name for p in tmp_path.rglob("*") if p.is_file()} <= {
        "transcript.txt", "messages.jsonl", "manifest.json", "x.jpg", "y.jpg", "z.jpg", "_chat.txt"
    }  # fmt: skip
    assert not (tmp_path / "x.jpg").exists() and not (tmp_path / "nest" / "x.jpg").exists()


def test_a_sha256_mismatch_is_skipped_and_reported() -> None:
    zip_bytes = export_zip({"IMG-20240513-WA0001.jpg": PHOTO, "x.jpg": b"tampered"})
    messages = _messages({"IMG-20240513-WA0001.jpg": PHOTO, "x.jpg": b"x bytes"})

    archive, skipped = _archive_members(messages, zip_bytes)

    assert sorted(n for n in archive.namelist() if n.startswith("media/")) == [
        "media/IMG-20240513-WA0001.jpg"
    ]
    assert len(skipped) == 1 and "x.jpg does not match its sha256" in skipped[0]


def test_the_matching_member_wins_among_names_that_reduce_alike() -> None:
    zip_bytes = export_zip({"../../x.jpg": b"evil", "sub/x.jpg": b"x bytes"})
    [wanted] = wanted_media(_messages({"x.jpg": b"x bytes"}))[EXPORT_KEY]
    found, notes = media_in_export(EXPORT_KEY, zip_bytes, [wanted])
    assert [data for _, data in found] == [b"x bytes"] and notes == []


def test_missing_member_missing_export_and_a_damaged_zip_are_notes() -> None:
    messages = _messages({"x.jpg": b"x bytes"})
    [wanted] = wanted_media(messages)[EXPORT_KEY]
    assert media_in_export(EXPORT_KEY, export_zip({}), [wanted])[1] == [
        f"{EXPORT_KEY}: x.jpg is not in the zip"
    ]
    assert "cannot be read" in media_in_export(EXPORT_KEY, b"not a zip", [wanted])[1][0]

    def gone(key: str) -> bytes:
        raise FileNotFoundError(key)

    media = collect_export_media(messages, gone)["conv-1"]
    assert media.files == {} and "no longer in the landing zone" in media.skipped[0]


def test_only_export_rows_with_a_digest_are_wanted_and_each_zip_is_read_once() -> None:
    messages = _messages({"x.jpg": b"x bytes", "y.jpg": b"y bytes"})
    webhook = messages.iloc[[-1]].assign(source="webhook", message_id="w1", media_filename="w.jpg")
    no_digest = messages.iloc[[-1]].assign(
        message_id="n1", media_filename="n.jpg", media_sha256=None
    )
    frame = pd.concat([messages, webhook, no_digest], ignore_index=True)
    assert [w.name for w in wanted_media(frame)[EXPORT_KEY]] == ["x.jpg", "y.jpg"]

    reads: list[str] = []
    zip_bytes = export_zip({"x.jpg": b"x bytes", "y.jpg": b"y bytes"})

    def read(key: str) -> bytes:
        reads.append(key)
        return zip_bytes

    media = collect_export_media(frame, read)["conv-1"]
    assert reads == [EXPORT_KEY] and sorted(media.files) == ["x.jpg", "y.jpg"]


def test_same_inputs_give_the_same_archive_bytes() -> None:
    zip_bytes = export_zip({"IMG-20240513-WA0001.jpg": PHOTO, **HOSTILE})
    messages = _messages({"IMG-20240513-WA0001.jpg": PHOTO, "x.jpg": b"x bytes"})
    built = []
    for frame in (messages, messages.iloc[::-1]):
        media = collect_export_media(frame, lambda _key: zip_bytes)["conv-1"]
        contents = prepare_archive(
            conversation_id="conv-1",
            messages=frame,
            summaries=pd.DataFrame(),
            period=MAY,
            pipeline_version="t",
            media=media.files,
        )
        built.append(contents.to_zip(datetime(2024, 6, 1, tzinfo=UTC)))
    assert built[0] == built[1]


def test_a_build_over_several_months_reads_each_zip_once_and_archives_the_same_media() -> None:
    """The archive asset reads each export once per build (ExportZips), not once a month."""
    june = _messages({"y.jpg": b"y bytes"}).assign(
        sent_at=pd.Timestamp("2024-06-03 10:00", tz="UTC")
    )
    may = _messages({"x.jpg": b"x bytes", "gone.jpg": b"gone"})
    both = pd.concat([may, june], ignore_index=True)
    zip_bytes = export_zip({"x.jpg": b"x bytes", "y.jpg": b"y bytes"})
    reads: list[str] = []

    def read(key: str) -> bytes:
        reads.append(key)
        return zip_bytes

    zips = ExportZips(both, opener_of(read))
    by_month = [collect_export_media(month, zips)["conv-1"] for month in (may, june)]
    assert reads == [EXPORT_KEY] and zips.reads == 1
    # Exactly what each month gets when it reads the zip itself.
    alone = [collect_export_media(month, lambda _key: zip_bytes)["conv-1"] for month in (may, june)]
    assert [(m.files, m.skipped) for m in by_month] == [(m.files, m.skipped) for m in alone]
    assert sorted(by_month[0].files) == ["x.jpg"] and sorted(by_month[1].files) == ["y.jpg"]
    assert by_month[0].skipped == [f"{EXPORT_KEY}: gone.jpg is not in the zip"]


def test_a_build_reads_each_zip_from_its_file_without_loading_it_whole(tmp_path: Path) -> None:
    """A zip of 24 MiB whose wanted attachment is small costs the attachment, not the zip.

    The archive asset opens exports with `LandingZone.open` (a local file in place, an S3
    object through a temporary file); only the wanted members of the right size are
    inflated, so a large export (videos the month does not reference) never sits in memory.
    """
    large = random.Random(7).randbytes(24 * 1024 * 1024)  # incompressible: stored as is
    path = tmp_path / "export.zip"
    path.write_bytes(export_zip({"x.jpg": b"x bytes", "video.mp4": large}))
    del large
    messages = _messages({"x.jpg": b"x bytes"})
    opened: list[str] = []

    def open_export(key: str) -> BinaryIO:
        opened.append(key)
        return path.open("rb")

    tracemalloc.start()
    try:
        zips = ExportZips(messages, open_export)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    media = collect_export_media(messages, zips)["conv-1"]
    assert media.files == {"x.jpg": b"x bytes"} and opened == [EXPORT_KEY]
    assert peak < 2 * 1024 * 1024, f"{peak / 2**20:.1f} MiB traced while reading the zip"
