"""The landing zone's layout, shared by the webhook receiver, the sensors and ingestion.

```
webhooks/dt=YYYY-MM-DD/<received-at>_<sha256-of-body>.json   raw POST bodies, byte-exact
exports/<anything>.zip | <anything>.txt                      "Export chat" files from phones
```

`<received-at>` is the UTC receive time as `YYYYMMDDTHHMMSSffffffZ`, so keys sort
by arrival and a re-delivered body on the same day maps to the same key prefix.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

WEBHOOK_PREFIX = "webhooks/"
EXPORT_PREFIX = "exports/"
EXPORT_SUFFIXES = (".txt", ".zip")
_RECEIVED_AT_FORMAT = "%Y%m%dT%H%M%S%fZ"
_WEBHOOK_KEY = re.compile(
    r"^webhooks/dt=(?P<day>\d{4}-\d{2}-\d{2})/(?P<received>\d{8}T\d{12}Z)_(?P<sha>[0-9a-f]{64})\.json$"
)


@dataclass(frozen=True, slots=True)
class WebhookKey:
    """What a webhook body's key says about it."""

    key: str
    day: date
    received_at: datetime
    sha256: str


def webhook_day_prefix(day: date) -> str:
    """The folder holding the bodies received on `day` (UTC)."""
    return f"{WEBHOOK_PREFIX}dt={day.isoformat()}/"


def webhook_key(body: bytes, received_at: datetime) -> str:
    """The key a body received at `received_at` is stored under.

    Meta re-delivers the same bytes; the body hash in the name lets a writer
    see that the day already holds them.
    """
    received_at = received_at.astimezone(UTC)
    sha = hashlib.sha256(body).hexdigest()
    return (
        f"{webhook_day_prefix(received_at.date())}"
        f"{received_at.strftime(_RECEIVED_AT_FORMAT)}_{sha}.json"
    )


def parse_webhook_key(key: str) -> WebhookKey | None:
    """The parts of a webhook body's key, or None if `key` is not one."""
    match = _WEBHOOK_KEY.match(key)
    if match is None:
        return None
    stamp = match["received"]  # YYYYMMDDTHHMMSSffffffZ; slicing is ~10x faster than strptime
    received_at = datetime(
        int(stamp[0:4]),
        int(stamp[4:6]),
        int(stamp[6:8]),
        int(stamp[9:11]),
        int(stamp[11:13]),
        int(stamp[13:15]),
        int(stamp[15:21]),
        tzinfo=UTC,
    )
    return WebhookKey(
        key=key,
        day=date.fromisoformat(match["day"]),
        received_at=received_at,
        sha256=match["sha"],
    )


def is_export_key(key: str) -> bool:
    """Whether `key` names a chat export (a .txt or .zip under exports/)."""
    return key.startswith(EXPORT_PREFIX) and key.lower().endswith(EXPORT_SUFFIXES)
