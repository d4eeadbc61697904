"""Zip files whose bytes depend only on their contents: fixed timestamps, order and modes.

An archive rebuilt from unchanged data must have the same sha256, so that the blob
store sees nothing new and no notice is sent twice.
"""

from __future__ import annotations

import io
import posixpath
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from pathlib import Path

from wareader_pipelines.parsing.chat_export import safe_member_name

# The earliest time a zip entry can carry; any fixed value works, this one is conventional.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_UNIX = 3
_FILE_MODE = 0o100644
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f<>:\"|?*\\]")


def deterministic_zip(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A deflated zip holding `members` (name, bytes) in the given order, reproducibly."""
    names = [name for name, _ in members]
    if len(set(names)) != len(names):
        raise ValueError("zip member names must be unique")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = _UNIX
            info.external_attr = _FILE_MODE << 16
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def member_path(folder: str, name: str) -> str:
    """`folder/<name>` with `name` reduced to a plain file name that cannot leave `folder`.

    Export zips are written by phones and by anyone: a media name such as `../../x`,
    `/etc/passwd` or `C:\\x` keeps only its base name (the one rule, `safe_member_name`
    of the export parser), with characters other systems reserve replaced by `_`; an
    empty result becomes `unnamed`.
    """
    base = safe_member_name(name) or ""
    base = unicodedata.normalize("NFC", _UNSAFE_CHARACTERS.sub("_", base)).strip(" .")
    if not base or base in {".", ".."}:
        base = "unnamed"
    member = posixpath.join(folder.strip("/"), base[:200])
    if posixpath.normpath(member) != member or member.startswith(("/", "..")):
        raise ValueError(f"unsafe member name {name!r}")
    return member


def extract_member_safely(archive: zipfile.ZipFile, member: str, target_dir: str) -> str:
    """Write one member under `target_dir`, its name made safe first; the path written.

    Never trusts the member's own path: `../../x` lands as `<target_dir>/x`.
    """
    root = Path(target_dir).resolve()
    relative = member_path("", member)
    path = (root / relative).resolve()
    if root != path.parent:
        raise ValueError(f"member {member!r} would leave {target_dir}")
    root.mkdir(parents=True, exist_ok=True)
    path.write_bytes(archive.read(member))
    return str(path)
