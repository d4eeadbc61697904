"""The conversation as people read it (text) and as programs read it (JSON Lines), and
the day summaries as Markdown: the documents inside an archive."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

Redact = Callable[[str], str]

# Columns whose values can hold a phone number and are masked unless phones are allowed.
REDACTED_COLUMNS = ("sender_wa_id", "sender_name", "text", "conversation_name", "raw_json")
_MEDIA_TYPES = {"image", "audio", "video", "document", "sticker", "media"}


def _present(value: object) -> bool:
    if value is None or value is pd.NaT:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return not (isinstance(value, str) and value == "")


def _text(value: object) -> str:
    return str(value) if _present(value) else ""


def _zone(name: object, fallback: str) -> ZoneInfo:
    for candidate in (name, fallback):
        if isinstance(candidate, str) and candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def ordered_messages(messages: pd.DataFrame) -> pd.DataFrame:
    """Messages in the order a transcript shows them: by send time, then id."""
    if messages.empty:
        return messages.reset_index(drop=True)
    frame = messages.copy()
    frame["sent_at"] = pd.to_datetime(frame["sent_at"], utc=True)
    return frame.sort_values(["sent_at", "message_id"], kind="stable").reset_index(drop=True)


def redacted_messages(messages: pd.DataFrame, redact: Redact) -> pd.DataFrame:
    """`messages` with phone numbers masked in every column that can hold one."""
    frame = messages.copy()
    for column in REDACTED_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].map(lambda v: redact(v) if isinstance(v, str) else v)
    return frame


def _marker(row: Mapping[str, Any]) -> str:
    kind = _text(row.get("message_type"))
    filename = _text(row.get("media_filename"))
    if kind == "deleted":
        return "<message deleted>"
    if kind in _MEDIA_TYPES:
        return f"<{kind}: {filename}>" if filename else f"<{kind} omitted>"
    if kind in {"location", "contacts", "reaction", "unsupported"} and not _text(row.get("text")):
        return f"<{kind}>"
    return ""


def render_transcript(
    messages: pd.DataFrame, *, title: str, period: str, default_timezone: str
) -> str:
    """A readable transcript: `YYYY-MM-DD HH:MM  Sender: text` in each export's local time.

    Media become markers (`<image: IMG-1.jpg>`, captions kept), system lines start
    with `*`, and the lines of a multi-line message are indented under it.
    """
    zones = sorted(
        {_zone(z, default_timezone).key for z in messages.get("export_timezone", [])}
        or {_zone(None, default_timezone).key}
    )
    lines = [
        f"Conversation: {title}",
        f"Period: {period}",
        f"Times: local, {', '.join(zones)}",
        f"Messages: {len(messages)}",
        "",
    ]
    for row in messages.to_dict("records"):
        zone = _zone(row.get("export_timezone"), default_timezone)
        local = pd.Timestamp(row["sent_at"]).tz_convert(zone).strftime("%Y-%m-%d %H:%M")
        body = " ".join(part for part in (_marker(row), _text(row.get("text"))) if part)
        if row.get("is_edited") is True:
            body += " (edited)"
        body_lines = body.split("\n") or [""]
        if row.get("is_system") is True:
            head = f"{local}  * {body_lines[0]}"
        else:
            sender = _text(row.get("sender_name")) or _text(row.get("sender_wa_id")) or "unknown"
            head = f"{local}  {sender}: {body_lines[0]}"
        lines.append(head.rstrip())
        lines.extend(("    " + continuation).rstrip() for continuation in body_lines[1:])
    return "\n".join(lines) + "\n"


def _json_value(value: object) -> object:
    if isinstance(value, str | bool | int):  # the common cases first: this runs per cell
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if not _present(value):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return stamp.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            return _json_value(value.item())  # numpy scalar
        except (TypeError, ValueError):
            pass
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        return [_json_value(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def render_json_lines(messages: pd.DataFrame) -> str:
    """One JSON object per message with every column, times in UTC ISO 8601, keys sorted."""
    return "".join(
        json.dumps(
            {key: _json_value(value) for key, value in row.items()},
            ensure_ascii=False,
            sort_keys=True,
        )
        + "\n"
        for row in messages.to_dict("records")
    )


def _items(value: object) -> list[str]:
    """A list column as stored: a list/array, JSON text of a list, or comma-separated text."""
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [str(v) for v in value if _present(v)]
    if not _present(value):
        return []
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return [str(v) for v in parsed if _present(v)]
    return [part.strip() for part in text.split(",") if part.strip()]


def _day_of(row: Mapping[str, Any]) -> str:
    for column in ("day", "day_start"):
        value = row.get(column)
        if _present(value):
            return pd.Timestamp(value).strftime("%Y-%m-%d")
    return "unknown day"


def ordered_summaries(summaries: pd.DataFrame) -> pd.DataFrame:
    """The written summaries by day, the order the Markdown shows them.

    Days whose summary failed (`status` failed, no text) are left out: they are not
    summaries, and a later success then changes the archive as it should.
    """
    if "status" in summaries.columns:
        summaries = summaries[summaries["status"].astype(str) != "failed"]
    if summaries.empty:
        return summaries.reset_index(drop=True)
    frame = summaries.copy()
    frame["_day"] = [_day_of(row) for row in frame.to_dict("records")]
    return frame.sort_values("_day", kind="stable").drop(columns="_day").reset_index(drop=True)


def render_summaries_markdown(
    summaries: pd.DataFrame, *, title: str, period: str, redact: Redact
) -> str:
    """The day summaries as Markdown: one section per day with topics and action items."""
    lines = [f"# {title}: day summaries, {period}", ""]
    for row in summaries.to_dict("records"):
        lines += [f"## {_day_of(row)}", ""]
        count = row.get("message_count")
        if _present(count):
            lines += [f"_{int(count)} messages_", ""]
        lines += [redact(_text(row.get("summary"))).strip() or "(no summary)", ""]
        for heading, column in (("Topics", "topics"), ("Action items", "action_items")):
            items = _items(row.get(column))
            if items:
                lines += [f"**{heading}**", ""] + [f"- {redact(item)}" for item in items] + [""]
        made_by = " / ".join(
            _text(row.get(c))
            for c in ("provider", "model", "prompt_version")
            if _present(row.get(c))
        )
        if made_by:
            lines += [f"<sub>{made_by}</sub>", ""]
    return "\n".join(lines).rstrip() + "\n"


def known_phone_numbers(messages: pd.DataFrame) -> Iterable[str]:
    """The senders' number digits, to be masked wherever they appear."""
    if "sender_wa_id" not in messages.columns:
        return []
    return [v for v in messages["sender_wa_id"].dropna().astype(str) if v.isdigit()]
