"""Store keys that stay inside their store: one rule for the landing zone, the blob store
and the receiver's writer. No Dagster."""

from __future__ import annotations


def inside_key(key: str, *, store: str) -> str:
    """`key` if it is a plain relative "/"-separated path, else a ValueError naming `store`.

    Refused: empty keys, a leading "/", a backslash, empty parts ("a//b", "a/") and "." or
    ".." parts, so no key can leave the store's folder or name the folder itself. String
    checks only, with the part split done only when a part can start with a dot: the
    landing zone calls this for every body it reads.
    """
    if (
        not key
        or key[0] == "/"
        or key[-1] == "/"
        or "\\" in key
        or "//" in key
        or ((key[0] == "." or "/." in key) and any(p in {".", ".."} for p in key.split("/")))
    ):
        raise ValueError(f"key {key!r} is not a plain relative path inside the {store}")
    return key
