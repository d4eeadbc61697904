"""Asset code versions that change when the code or prompt shaping an asset's rows changes.

Dagster marks an asset stale when its `code_version` differs from the one its last
materialization recorded, so a hand-written "1" would never tell anyone that a parser or
prompt change left old rows behind. No Dagster here.
"""

from __future__ import annotations

import hashlib
import inspect
from types import ModuleType


def code_version(*shaped_by: ModuleType | str) -> str:
    """12 hex digits of the sha256 of the source of each module in `shaped_by` and of each
    version string in it (a prompt version, say): any change to them gives a new version."""
    digest = hashlib.sha256()
    for item in shaped_by:
        text = inspect.getsource(item) if isinstance(item, ModuleType) else item
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:12]
