"""Writing a local file so that readers see the old bytes or the new ones, never a part."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

TEMPORARY_PREFIX = ".incoming-"
ORPHAN_AGE_SECONDS = 3600.0  # a write in flight lasts milliseconds; an hour-old one was killed


def write_atomically(target: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `target`, fsync it, then rename it over `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=TEMPORARY_PREFIX)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def remove_orphaned_temporaries(
    root: Path, *, older_than: float = ORPHAN_AGE_SECONDS, now: float | None = None
) -> list[Path]:
    """Delete the `.incoming-*` files under `root` last modified over `older_than` seconds ago.

    A writer killed between creating its temporary and renaming it leaves one
    behind; finished files never carry the prefix, so they are never touched,
    and a young temporary may still be in flight, so it is left alone.
    """
    if not root.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - older_than
    removed: list[Path] = []
    for folder, _, names in os.walk(root):
        for name in names:
            if not name.startswith(TEMPORARY_PREFIX):
                continue
            path = Path(folder) / name
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:  # renamed or removed meanwhile
                continue
    return removed
