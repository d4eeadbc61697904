"""The receiver's configuration, read once from the environment at startup."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_GRACE_HOURS = 24.0


class ReceiverSettings(BaseModel):
    """Where bodies land, the two Meta secrets, and the size cap; secrets never print."""

    model_config = ConfigDict(frozen=True)

    landing_uri: str = Field(description="A folder or s3://bucket/prefix (WAREADER_LANDING_URI).")
    app_secret: SecretStr = Field(description="Meta app secret that signs POSTs (WA_APP_SECRET).")
    verify_token: SecretStr = Field(
        description="Token Meta echoes in the subscription handshake (WA_WEBHOOK_TOKEN)."
    )
    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY_BYTES,
        gt=0,
        description="Bodies larger than this are refused with 413 (WAREADER_WEBHOOK_MAX_BYTES).",
    )
    previous_app_secret: SecretStr | None = Field(
        default=None,
        description="The app secret before a rotation, still accepted until "
        "`previous_secret_until` (WA_APP_SECRET_PREVIOUS).",
    )
    previous_secret_until: datetime | None = Field(
        default=None,
        description="When the previous secret stops verifying (WA_APP_SECRET_PREVIOUS_UNTIL, "
        "ISO 8601; default WAREADER_SECRET_GRACE_HOURS, 24, after the receiver starts).",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (WAREADER_S3_ENDPOINT_URL)."
    )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ReceiverSettings:
        """Settings from environment variables; fails naming the variable that is missing."""
        env = os.environ if environ is None else environ
        missing = [name for name in ("WA_APP_SECRET", "WA_WEBHOOK_TOKEN") if not env.get(name)]
        if missing:
            raise ValueError(
                f"set {' and '.join(missing)}: the receiver cannot verify Meta's requests without "
                "them (the app secret is in the Meta app's Settings > Basic; the verify token is "
                "the one you typed in the webhook configuration)"
            )
        data_dir = Path(env.get("WAREADER_DATA_DIR") or "./data")
        return cls(
            landing_uri=env.get("WAREADER_LANDING_URI") or str(data_dir / "landing"),
            app_secret=SecretStr(env["WA_APP_SECRET"]),
            verify_token=SecretStr(env["WA_WEBHOOK_TOKEN"]),
            max_body_bytes=int(env.get("WAREADER_WEBHOOK_MAX_BYTES") or DEFAULT_MAX_BODY_BYTES),
            s3_endpoint_url=env.get("WAREADER_S3_ENDPOINT_URL") or None,
            **_previous_secret(env),
        )


def _previous_secret(env: Mapping[str, str]) -> dict[str, Any]:
    """The rotation's previous secret and its deadline, when `WA_APP_SECRET_PREVIOUS` is set."""
    previous = env.get("WA_APP_SECRET_PREVIOUS")
    if not previous:
        return {}
    until_text = env.get("WA_APP_SECRET_PREVIOUS_UNTIL")
    if until_text:
        try:
            until = datetime.fromisoformat(until_text.replace("Z", "+00:00"))
        except ValueError as error:
            raise ValueError(
                f"WA_APP_SECRET_PREVIOUS_UNTIL is not an ISO 8601 time: {until_text!r}"
            ) from error
        if until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
    else:
        hours = float(env.get("WAREADER_SECRET_GRACE_HOURS") or DEFAULT_GRACE_HOURS)
        until = datetime.now(UTC) + timedelta(hours=hours)
    return {"previous_app_secret": SecretStr(previous), "previous_secret_until": until}
