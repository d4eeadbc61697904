"""Asset code versions that change when the code or prompt shaping an asset's rows changes.

Dagster marks an asset stale when its `code_version` differs from the one its last
materialization recorded, so a hand-written "1" would never tell anyone that a parser or
prompt change left old rows behind. No Dagster here.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
import unicodedata
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


def imported_modules(root: ModuleType) -> list[ModuleType]:
    """`root` and every module of its package it imports, directly or not, by name.

    Found by following the globals (modules, and the module of each imported class or
    function), so a module `root` starts to import is covered without a list to keep.
    """
    package = root.__name__.split(".")[0]
    found: dict[str, ModuleType] = {}
    stack: list[ModuleType] = [root]
    while stack:
        module = stack.pop()
        if module.__name__ in found:
            continue
        found[module.__name__] = module
        for value in vars(module).values():
            owner = value if isinstance(value, ModuleType) else None
            if owner is None and isinstance(getattr(value, "__module__", None), str):
                owner = sys.modules.get(value.__module__)
            if owner is not None and owner.__name__.split(".")[0] == package:
                stack.append(owner)
    return [found[name] for name in sorted(found)]


def source_fingerprint(root: ModuleType) -> str:
    """16 hex digits that change whenever anything shaping `root`'s output does: the source
    of every module in `imported_modules(root)` and the Unicode version of the tables text
    is normalized with. For caches of parsed rows, so stale ones are never read."""
    digest = hashlib.sha256(unicodedata.unidata_version.encode())
    for module in imported_modules(root):
        digest.update(f"\0{module.__name__}\0".encode())
        digest.update(inspect.getsource(module).encode("utf-8"))
    return digest.hexdigest()[:16]
