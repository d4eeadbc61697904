"""Signatures of outgoing webhooks: HMAC-SHA256 over the timestamp and the exact body.

The receiver recomputes `sha256=hex(HMAC(secret, f"{timestamp}." + body))` from the
bytes it received and the `X-Wareader-Timestamp` header, and rejects old timestamps,
so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Wareader-Signature"
TIMESTAMP_HEADER = "X-Wareader-Timestamp"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(body: bytes, *, secret: str, timestamp: int) -> str:
    """The header value for `body` sent at `timestamp` (Unix seconds)."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, *, secret: str, timestamp: int) -> dict[str, str]:
    """The headers that carry the timestamp and the signature."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(body, secret=secret, timestamp=timestamp),
    }


def verify(
    body: bytes,
    *,
    secret: str,
    timestamp: str,
    received_signature: str,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether a received request is authentic and recent (for receivers and tests)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance_seconds:
        return False
    expected = signature(body, secret=secret, timestamp=sent)
    return hmac.compare_digest(expected, received_signature)
