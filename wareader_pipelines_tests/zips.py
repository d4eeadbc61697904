"""Zip files built in memory for tests: members under their names exactly as given."""

from __future__ import annotations

import io
import zipfile


def zip_of(members: dict[str, bytes], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    """A zip holding `members` (name -> bytes), names kept as given (hostile ones too)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compression)
    return buffer.getvalue()
