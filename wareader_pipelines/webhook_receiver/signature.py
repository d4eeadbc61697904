"""Meta's `X-Hub-Signature-256`: `sha256=` + hex HMAC-SHA256 of the raw body with the app secret."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_PREFIX = "sha256="


def sign(body: bytes, secret: bytes) -> str:
    """The header value Meta sends for `body` (used by tests and load generators too)."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_is_valid(body: bytes, header: str | None, secret: bytes) -> bool:
    """Whether `header` signs exactly these bytes; compared in constant time."""
    if not header or not secret:
        return False
    expected = sign(body, secret).encode("ascii")
    # compare_digest on bytes: a non-ASCII header must not raise, only fail.
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))
