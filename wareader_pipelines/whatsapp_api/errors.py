"""What a Graph API error means for the caller: retry later, fix the token, or give up.

Meta answers errors as `{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}`. Throttling comes as HTTP 429 or as one of the codes below on
another status; 190 means the access token expired or was revoked, which no
retry can fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from wareader_pipelines.lib.retrying import is_retryable_status

# 4: app call limit; 80007: WhatsApp Business account rate limit; 130429: Cloud API
# throughput reached; 131056: too many messages to one pair of numbers.
THROTTLING_CODES = frozenset({4, 80007, 130429, 131056})
EXPIRED_TOKEN_CODE = 190

TOKEN_FIX = (
    "the WhatsApp access token has expired or was revoked (Graph error 190): create a new "
    "token (a system-user token in Meta Business Settings > System users does not expire), "
    "set it as WA_ACCESS_TOKEN where the code location runs, and reload the code location"
)


@dataclass(frozen=True, slots=True)
class GraphError:
    """One error answer of the Graph API."""

    status: int
    code: int | None
    subcode: int | None
    message: str
    fbtrace_id: str | None

    def describe(self) -> str:
        code = f" code {self.code}" if self.code is not None else ""
        sub = f"/{self.subcode}" if self.subcode is not None else ""
        trace = f" (fbtrace_id {self.fbtrace_id})" if self.fbtrace_id else ""
        return f"HTTP {self.status}{code}{sub}: {self.message}{trace}"


class WhatsAppAPIError(RuntimeError):
    """The Graph API refused a call, after any retries."""

    def __init__(self, message: str, error: GraphError | None = None) -> None:
        super().__init__(message)
        self.error = error


class WhatsAppTokenExpiredError(WhatsAppAPIError):
    """Graph error 190: the fix is a new access token, not a retry."""


class MediaIntegrityError(WhatsAppAPIError):
    """Downloaded media bytes do not match the sha256 the webhook payload announced."""


def graph_error_of(status: int, body: bytes) -> GraphError:
    """The error an answer carries; a body that is not Graph's JSON still gives one."""
    try:
        payload = json.loads(body)
        error = payload.get("error") if isinstance(payload, dict) else None
    except ValueError:
        error = None
    if not isinstance(error, dict):
        text = body[:200].decode("utf-8", "replace").strip() or "no error body"
        return GraphError(status=status, code=None, subcode=None, message=text, fbtrace_id=None)
    return GraphError(
        status=status,
        code=_int_or_none(error.get("code")),
        subcode=_int_or_none(error.get("error_subcode")),
        message=str(error.get("message") or error.get("error_user_msg") or "no message"),
        fbtrace_id=str(error["fbtrace_id"]) if error.get("fbtrace_id") else None,
    )


def is_expired_token(error: GraphError) -> bool:
    """Whether the answer means the token must be replaced."""
    return error.code == EXPIRED_TOKEN_CODE


def is_retryable(error: GraphError) -> bool:
    """What is retryable for any HTTP call, plus Graph's throttling codes (sent with a 400)."""
    return is_retryable_status(error.status) or error.code in THROTTLING_CODES


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
