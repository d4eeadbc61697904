"""Caps that bound what one chat export can cost, and zip reading that honours them.

An export is attacker-shaped input: a 10 MB zip can inflate to 10 GiB. Every
member is judged twice: first by the sizes its zip headers declare (a bomb is
rejected before one byte is inflated), then while it is inflated in small
blocks, stopping at the cap, because headers can lie. Only stored and deflated
members are read: WhatsApp writes nothing else, and bzip2/LZMA decompress a
whole input block at once, which no block size can bound.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass

_BLOCK = 1 << 16  # bytes inflated per read: the most a guard can overshoot by
_SLACK = 1 << 20  # inflated bytes any member may have beyond the ratio (tiny members)
_READABLE = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
DEFAULT_MAX_TEXT_BYTES = 128 * 2**20  # ~2M messages; a year of a busy group is ~10 MB
DEFAULT_MAX_COMPRESSION_RATIO = 100
DEFAULT_MAX_ZIP_BYTES = 2 * 2**30  # read from its file, never whole: media make it large
DEFAULT_MAX_AUTHORS = 10_000
"""Distinct senders one export may have: a WhatsApp group holds at most 1,024 members at a
time, so ten times that leaves room for years of members coming and going and for senders
shown by number, while a file with an author on every line cannot make the parser keep
state for each of its hundreds of thousands of lines."""


class ExportTooLarge(Exception):
    """An export, or a member of its zip, is over a cap; the message says which and why."""


@dataclass(frozen=True, slots=True)
class ExportLimits:
    """How large a chat text may be, and how far a zip member may inflate.

    `max_text_bytes` caps the chat text (a .txt file, or the zip's chat member
    once inflated); `max_compression_ratio` caps inflated ÷ compressed size of
    every zip member (text compresses ~3-10:1, media ~1:1, bombs 1000:1);
    `max_authors` caps the distinct senders of one export: the messages of senders
    met after that many are quarantined, the rest of the export is kept.
    """

    max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES
    max_compression_ratio: int = DEFAULT_MAX_COMPRESSION_RATIO
    max_zip_bytes: int = DEFAULT_MAX_ZIP_BYTES
    max_authors: int = DEFAULT_MAX_AUTHORS

    def file_size_problem(self, name: str, size: int) -> str | None:
        """Why a landed export of `size` bytes must be rejected unread, or None."""
        if name.lower().endswith(".zip"):
            if size > self.max_zip_bytes:
                return (
                    f"the zip is {size:,} bytes, over the cap of {self.max_zip_bytes:,} "
                    "(export_max_zip_bytes)"
                )
            return None
        if size > self.max_text_bytes:
            return (
                f"the chat text is {size:,} bytes, over the cap of {self.max_text_bytes:,} "
                "(export_max_text_bytes)"
            )
        return None

    def check_text_size(self, size: int, what: str) -> None:
        """Raise ExportTooLarge when `size` bytes of chat text is over the cap."""
        if size > self.max_text_bytes:
            raise ExportTooLarge(
                f"{what} is {size:,} bytes, over the cap of {self.max_text_bytes:,} "
                "(export_max_text_bytes)"
            )

    def check_declared(self, info: zipfile.ZipInfo, archive_bytes: int) -> None:
        """Reject a member by what its headers declare, before inflating it."""
        if info.compress_type not in _READABLE:
            raise ExportTooLarge(
                f"zip member {info.filename!r} uses compression method {info.compress_type}; "
                "only stored and deflated members are read"
            )
        compressed = max(1, min(info.compress_size, archive_bytes))
        if info.file_size > self.max_compression_ratio * compressed + _SLACK:
            raise ExportTooLarge(
                f"zip member {info.filename!r} declares {info.file_size:,} bytes from "
                f"{info.compress_size:,} compressed, a ratio over the cap of "
                f"{self.max_compression_ratio}:1 (export_max_compression_ratio): a zip bomb"
            )

    def inflate_cap(self, info: zipfile.ZipInfo, archive_bytes: int) -> int:
        """The most bytes a member may really inflate to, whatever its headers say."""
        compressed = max(1, min(info.compress_size, archive_bytes))
        return self.max_compression_ratio * compressed + _SLACK


def hash_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ExportLimits, archive_bytes: int
) -> tuple[int, str]:
    """(size, SHA-256) of a media member, streamed; over the ratio it is rejected."""
    limits.check_declared(info, archive_bytes)
    cap = limits.inflate_cap(info, archive_bytes)
    digest = hashlib.sha256()
    size = 0
    with archive.open(info) as stream:
        while block := stream.read(_BLOCK):
            size += len(block)
            if size > cap:
                raise ExportTooLarge(
                    f"zip member {info.filename!r} inflates past {cap:,} bytes, over the "
                    f"compression ratio cap of {limits.max_compression_ratio}:1: a zip bomb"
                )
            digest.update(block)
    return size, digest.hexdigest()
