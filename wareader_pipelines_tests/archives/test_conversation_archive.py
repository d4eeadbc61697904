"""The archive's files, manifest, redaction and reproducible bytes."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

import pandas as pd

from wareader_pipelines.archives.conversation_archive import (
    ArchivePeriod,
    archive_key,
    prepare_archive,
)
from wareader_pipelines_tests.archives.frames import raw_messages, summaries

MAY = ArchivePeriod("2024-05", datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC))
BUILT = datetime(2024, 6, 1, 3, 0, tzinfo=UTC)


def _contents(**overrides: object):
    arguments: dict[str, object] = {
        "conversation_id": "conv-1",
        "messages": raw_messages(),
        "summaries": summaries(),
        "period": MAY,
        "pipeline_version": "0.1.0",
    } | overrides
    return prepare_archive(**arguments)  # type: ignore[arg-type]


def _files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_zip_holds_transcript_jsonl_summaries_and_a_true_manifest() -> None:
    files = _files(_contents().to_zip(BUILT))

    assert list(files) == ["transcript.txt", "messages.jsonl", "summaries.md", "manifest.json"]
    manifest = json.loads(files["manifest.json"])
    assert manifest["period"] == {
        "month": "2024-05",
        "start": "2024-05-01T00:00:00Z",
        "end": "2024-06-01T00:00:00Z",
    }
    assert manifest["pipeline_version"] == "0.1.0"
    assert manifest["built_at"] == "2024-06-01T03:00:00Z"
    assert manifest["counts"] == {"messages": 4, "summaries": 2, "media": 0}
    for entry in manifest["files"]:
        assert entry["sha256"] == hashlib.sha256(files[entry["name"]]).hexdigest()
        assert entry["bytes"] == len(files[entry["name"]])
    assert {e["name"]: e["rows"] for e in manifest["files"]} == {
        "transcript.txt": 4,
        "messages.jsonl": 4,
        "summaries.md": 2,
    }


def test_transcript_reads_like_a_chat_in_local_time() -> None:
    transcript = _files(_contents().to_zip(BUILT))["transcript.txt"].decode()

    assert "Conversation: Family" in transcript
    assert "Times: local, Europe/Madrid" in transcript
    lines = transcript.splitlines()
    body = lines[lines.index("") + 1 :]
    assert body == [
        "2024-05-01 02:00  * Messages are end-to-end encrypted.",
        "2024-05-13 09:15  [PHONE]: Hola!",
        "    second line",
        "2024-05-13 09:16  Ben: <image: IMG-20240513-WA0001.jpg> look",
        "2024-05-20 20:00  Ben: call me on [PHONE] tomorrow (edited)",
    ]


def test_json_lines_carry_every_column_in_time_order() -> None:
    lines = _files(_contents().to_zip(BUILT))["messages.jsonl"].decode().splitlines()
    rows = [json.loads(line) for line in lines]

    assert [r["message_id"] for r in rows] == ["m0", "m1", "m2", "m3"]
    assert set(rows[0]) == set(raw_messages().columns)
    assert rows[1]["sent_at"] == "2024-05-13T07:15:00Z"
    assert rows[1]["sender_wa_id"] == "[PHONE]" and rows[1]["sender_name"] == "[PHONE]"
    assert rows[2]["media_filename"] == "IMG-20240513-WA0001.jpg"
    assert rows[3]["is_edited"] is True and rows[0]["media_id"] is None


def test_phone_numbers_are_absent_from_every_file_unless_allowed() -> None:
    redacted = _files(_contents().to_zip(BUILT))
    for name, data in redacted.items():
        text = data.decode()
        assert "612 34 56 78" not in text and "34612345678" not in text, name
    assert "[PHONE]" in redacted["summaries.md"].decode()
    assert json.loads(redacted["manifest.json"])["phone_numbers"] == "redacted"

    kept = _files(_contents(allow_phone_numbers=True).to_zip(BUILT))
    assert "+34 612 34 56 78" in kept["transcript.txt"].decode()
    assert '"sender_wa_id": "34612345678"' in kept["messages.jsonl"].decode()


def test_summaries_markdown_has_a_section_per_day_in_order() -> None:
    markdown = _files(_contents().to_zip(BUILT))["summaries.md"].decode()

    assert markdown.startswith("# Family: day summaries, 2024-05")
    assert markdown.index("## 2024-05-13") < markdown.index("## 2024-05-20")
    assert "- Call Ben" in markdown and "- photos" in markdown


def test_archive_without_summaries_is_still_built() -> None:
    contents = _contents(summaries=pd.DataFrame(columns=["conversation_id", "summary"]))
    files = _files(contents.to_zip(BUILT))

    assert "summaries.md" not in files
    assert json.loads(files["manifest.json"])["counts"]["summaries"] == 0
    assert contents.summary_count == 0 and contents.message_count == 4


def test_same_input_same_bytes_and_digest_ignores_build_time() -> None:
    first = _contents()
    shuffled = _contents(messages=raw_messages().sample(frac=1, random_state=3))

    assert first.to_zip(BUILT) == shuffled.to_zip(BUILT)
    assert first.content_sha256 == shuffled.content_sha256
    assert first.to_zip(BUILT) != first.to_zip(datetime(2024, 7, 1, tzinfo=UTC))
    assert _contents(messages=raw_messages(extra="!")).content_sha256 != first.content_sha256


def test_zip_entries_have_fixed_times_and_modes() -> None:
    with zipfile.ZipFile(io.BytesIO(_contents().to_zip(BUILT))) as archive:
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644
            assert info.compress_type == zipfile.ZIP_DEFLATED


def test_media_names_never_leave_the_media_folder() -> None:
    contents = _contents(media={"../../x": b"evil", "/etc/passwd": b"pw", "a/../x": b"also"})
    names = [name for name, _, _ in contents.files if name.startswith("media/")]

    assert names == ["media/x", "media/passwd", "media/x-2"]  # in the order of the given names
    assert archive_key("../../conv", MAY) == "archives/conv/2024-05.zip"


def test_failed_day_summaries_are_not_archived_as_summaries() -> None:
    with_failure = summaries().assign(status="ok")
    failed = with_failure.iloc[[0]].assign(
        day="2024-05-27",
        day_start=datetime(2024, 5, 27, tzinfo=UTC),
        status="failed",
        summary=None,
        failure_reason="openai: timed out",
    )
    contents = _contents(summaries=pd.concat([with_failure, failed], ignore_index=True))
    files = _files(contents.to_zip(BUILT))

    assert contents.summary_count == 2
    assert json.loads(files["manifest.json"])["counts"]["summaries"] == 2
    markdown = files["summaries.md"].decode()
    assert "## 2024-05-27" not in markdown and "(no summary)" not in markdown
    assert contents.content_sha256 == _contents(summaries=with_failure).content_sha256

    only_failed = _contents(summaries=failed)
    assert only_failed.summary_count == 0
    assert "summaries.md" not in _files(only_failed.to_zip(BUILT))


def test_the_months_report_goes_into_the_zip_and_into_the_digest() -> None:
    png = b"\x89PNG\r\n\x1a\nfake picture"
    with_report = _contents(report_png=png)
    files = _files(with_report.to_zip(BUILT))
    assert files["report.png"] == png
    manifest = json.loads(files["manifest.json"])
    assert "report.png" in {f["name"] for f in manifest["files"]}
    assert with_report.to_zip(BUILT) == _contents(report_png=png).to_zip(BUILT)
    assert with_report.content_sha256 != _contents().content_sha256
    assert with_report.content_sha256 != _contents(report_png=png + b"!").content_sha256
