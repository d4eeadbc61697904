"""Keyed pseudonyms: stable, opaque ids for people and conversations.

A plain hash of a phone number can be reversed by trying every number, so ids
are HMAC-SHA256 under a secret key (`WAREADER_PSEUDONYM_KEY`). The same key
always gives the same id; rotating the key re-identifies everyone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

DEVELOPMENT_KEY = "wareader-development-key-not-secret"


class Pseudonymizer:
    """Maps identifying strings (phone numbers, names, chat titles) to keyed ids."""

    __slots__ = ("_cached", "_key")

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("the pseudonym key must not be empty")
        self._key = key.encode("utf-8")
        self._cached = lru_cache(maxsize=200_000)(self._compute)

    def _compute(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).digest()
        return base64.b32encode(digest[:15]).decode("ascii").lower()

    def id_of(self, value: str, *, prefix: str = "") -> str:
        """The 24-character keyed id of `value`, behind an optional readable prefix."""
        return prefix + self._cached(value)

    def __repr__(self) -> str:  # never show the key
        return "Pseudonymizer(key=***)"
