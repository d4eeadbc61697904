"""Parsing one export is bounded: zip bombs, lying headers, oversized and junk text are
rejected whole, within a memory limit the operating system enforces (issue 12)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile
from datetime import UTC, datetime

from wareader_pipelines.nlp.pseudonyms import DEVELOPMENT_KEY, Pseudonymizer
from wareader_pipelines.parsing.chat_export import BATCH_ROWS, parse_export, parse_export_batches
from wareader_pipelines.parsing.export_limits import ExportLimits

LANDED = datetime(2024, 6, 1, tzinfo=UTC)
LINE = b"13/05/2024, 09:15 - Ana: the same words again and again\n"
MIB = 2**20


def bomb(inflated: int, *, name: str = "WhatsApp Chat with Ana.txt") -> bytes:
    """A deflated export zip whose chat inflates to `inflated` bytes, written in 1 MiB blocks."""
    block = LINE * (MIB // len(LINE))
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w", force_zip64=True) as member,
    ):
        for _ in range(inflated // len(block)):
            member.write(block)
    return buffer.getvalue()


def lying(data: bytes, declared: int) -> bytes:
    """`data` (a one-member zip) with the member's central-directory size claiming `declared`."""
    out = bytearray(data)
    real = zipfile.ZipFile(io.BytesIO(data)).infolist()[0].file_size
    central = out.rfind(b"PK\x01\x02")
    if out[central + 24 : central + 28] == real.to_bytes(4, "little"):
        out[central + 24 : central + 28] = declared.to_bytes(4, "little")
    else:  # zip64: the real size lives in the extra field
        extra = out.find(real.to_bytes(8, "little"), central + 46)
        out[extra : extra + 8] = declared.to_bytes(8, "little")
    assert zipfile.ZipFile(io.BytesIO(bytes(out))).infolist()[0].file_size == declared
    return bytes(out)


def parse(name: str, data: bytes, limits: ExportLimits):
    return parse_export(
        name, data, pseudonyms=Pseudonymizer(DEVELOPMENT_KEY), landed_at=LANDED, limits=limits
    )


def test_a_zip_bomb_is_rejected_by_its_declared_sizes() -> None:
    result = parse("exports/bomb.zip", bomb(64 * MIB), ExportLimits(max_text_bytes=256 * MIB))
    (row,) = result.quarantine
    assert result.messages == [] and row.location == "whole file"
    assert "zip bomb" in row.reason and "export_max_compression_ratio" in row.reason


def test_a_chat_text_over_the_cap_is_rejected_zipped_or_not() -> None:
    limits = ExportLimits(max_text_bytes=MIB, max_compression_ratio=1000)
    zipped = parse("exports/big.zip", bomb(2 * MIB), limits)
    plain = parse("exports/big.txt", LINE * (MIB // len(LINE) + 1), limits)
    for result in (zipped, plain):
        assert result.messages == []
        assert "export_max_text_bytes" in result.quarantine[0].reason


def test_headers_that_understate_the_size_do_not_inflate_past_them() -> None:
    limits = ExportLimits(max_text_bytes=MIB, max_compression_ratio=1000)
    result = parse("exports/liar.zip", lying(bomb(8 * MIB), declared=1000), limits)
    (row,) = result.quarantine
    assert result.messages == []
    # zipfile stops at the declared size (then the CRC fails); the guard stops at the cap.
    assert "Bad CRC-32" in row.reason or "inflates past" in row.reason


def test_only_stored_and_deflated_members_are_read() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("WhatsApp Chat with Ana.txt", LINE * 10)
    result = parse("exports/bz.zip", buffer.getvalue(), ExportLimits())
    assert "compression method 12" in result.quarantine[0].reason


def test_a_bomb_among_the_media_rejects_the_export() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("WhatsApp Chat with Ana.txt", LINE * 10)
        archive.writestr("IMG-20240513-WA0001.jpg", bytes(32 * MIB))
    result = parse("exports/media.zip", buffer.getvalue(), ExportLimits())
    assert result.messages == [] and "zip bomb" in result.quarantine[0].reason


def test_senders_beyond_the_cap_are_quarantined_and_the_rest_is_kept() -> None:
    """The first `max_authors` distinct senders keep their messages, also after the cap is
    met; each message of a later sender is one quarantine row; system lines stay."""
    lines = [
        "13/05/2024, 09:00 - Messages and calls are end-to-end encrypted.",
        "13/05/2024, 09:01 - Ana: one",
        "13/05/2024, 09:02 - Ben: two",
        "13/05/2024, 09:03 - Cleo: three",
        "13/05/2024, 09:04 - Ana: four",
        "13/05/2024, 09:05 - Dan: five",
        "and its second line",
        "13/05/2024, 09:06 - Ben: six",
        "13/05/2024, 09:07 - Eve: seven",
    ]
    result = parse("exports/crowd.txt", "\n".join(lines).encode(), ExportLimits(max_authors=2))
    assert [m.text for m in result.messages] == [
        "Messages and calls are end-to-end encrypted.",
        "one",
        "two",
        "four",
        "six",
    ]
    assert [(row.location, row.excerpt) for row in result.quarantine] == [
        ("line 4", lines[3]),
        ("line 6", "\n".join(lines[5:7])),
        ("line 9", lines[8]),
    ]
    assert all("more than 2 distinct senders" in row.reason for row in result.quarantine)
    assert result.quarantine[0].partition_at == result.messages[2].sent_at


def test_a_year_no_table_can_store_quarantines_its_line_only() -> None:
    """Nanosecond timestamps end in 2262: a header dated 9999 used to fail the whole export
    when its rows were stored."""
    text = b"13/05/2024, 09:00 - Ana: kept\n13/05/9999, 09:01 - Ana: dropped\n"
    result = parse("exports/years.txt", text + b"14/05/2024, 09:02 - Ben: kept\n", ExportLimits())
    assert [m.text for m in result.messages] == ["kept", "kept"]
    (row,) = result.quarantine
    assert row.location == "line 2" and "outside the years 1678-2261" in row.reason


def test_rejected_lines_are_handed_out_in_batches() -> None:
    """A file of rejected lines is not held whole: its quarantine rows come in batches."""
    text = "".join(f"13/05/2024, 09:00 - Person {n}: hi\n" for n in range(12_000)).encode()
    opened = parse_export_batches(
        "exports/crowd.txt",
        text,
        pseudonyms=Pseudonymizer(DEVELOPMENT_KEY),
        landed_at=LANDED,
        limits=ExportLimits(max_authors=10),
    )
    sizes = [(len(batch.messages), len(batch.quarantine)) for batch in opened.batches]
    assert sum(m for m, _ in sizes) == 10 and sum(q for _, q in sizes) == 11_990
    assert max(q for _, q in sizes) <= BATCH_ROWS


def test_junk_text_is_rejected_from_its_first_64_kib() -> None:
    junk = b"lorem ipsum dolor sit amet, no header here\n" * (4 * MIB // 43)
    result = parse("exports/junk.txt", junk, ExportLimits())
    assert "first 64 KiB" in result.quarantine[0].reason


# The same hostile files in a child process whose address space the kernel caps at what it
# had after imports plus 4 x the text cap: an allocation past that raises MemoryError, which
# the parser would report as "needs more memory"; every file must instead be rejected by a cap.
_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from datetime import UTC, datetime
    from wareader_pipelines.nlp.pseudonyms import DEVELOPMENT_KEY, Pseudonymizer
    from wareader_pipelines.parsing.chat_export import BATCH_ROWS, parse_export, parse_export_batches
    from wareader_pipelines.parsing.export_limits import ExportLimits
    from wareader_pipelines_tests.parsing.test_export_limits import LINE, MIB, bomb, lying

    cap = 16 * MIB
    limits = ExportLimits(max_text_bytes=cap)
    files = {
        "exports/bomb.zip": bomb(512 * MIB),
        "exports/liar.zip": lying(bomb(256 * MIB), declared=4 * MIB),
        "exports/big.txt": LINE * (2 * cap // len(LINE)),
        "exports/junk.txt": b"\\xe2\\x82 junk without headers\\n" * (cap // 25 - 1),
    }
    def vm_bytes():
        for line in open("/proc/self/status"):
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    budget = 4 * cap
    resource.setrlimit(resource.RLIMIT_AS, (vm_bytes() + budget, resource.RLIM_INFINITY))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reasons = {}
    for name, data in files.items():
        result = parse_export(
            name, data, pseudonyms=Pseudonymizer(DEVELOPMENT_KEY),
            landed_at=datetime(2024, 6, 1, tzinfo=UTC), limits=limits,
        )
        assert not result.messages, name
        reasons[name] = result.quarantine[0].reason
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"reasons": reasons, "peak_growth_kib": peak - rss_before}))
    """
)


def test_hostile_exports_stay_under_a_kernel_enforced_memory_limit() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    reasons = report["reasons"]
    assert all("more memory" not in reason for reason in reasons.values()), reasons
    assert "zip bomb" in reasons["exports/bomb.zip"]
    assert (
        "Bad CRC-32" in reasons["exports/liar.zip"]
        or "inflates past" in reasons["exports/liar.zip"]
    )
    assert "export_max_text_bytes" in reasons["exports/big.txt"]
    assert "first 64 KiB" in reasons["exports/junk.txt"]
    assert report["peak_growth_kib"] < 4 * 16 * 1024
