"""One conversation's month on one page: volume, local activity, who answers whom,
emoji, mood, and what was talked about.

Every number comes from a table the pipeline already defines (fct_messages,
fct_replies, activity_heatmap, message_emoji, conversation_summaries), cut to the
month; nothing here redefines a session, a reply or an emoji. Senders appear by
pseudonym only. The same month's data always renders the same PNG bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import textwrap
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from wareader_pipelines.reports.png import figure, png_bytes

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MAX_SENDERS = 8
TOP_EMOJI = 3
SUMMARY_CHARS = 900


@dataclass(frozen=True)
class ConversationMonth:
    """The month's rows of one conversation, already filtered."""

    conversation_id: str
    period: str  # YYYY-MM
    first_day: date
    days: int
    messages: pd.DataFrame  # fct_messages: sender_id, sent_date, is_system, sentiment_score
    replies: pd.DataFrame  # fct_replies: from_id, to_id, reply_seconds
    heatmap: pd.DataFrame  # activity_heatmap: local_timezone, local_weekday, local_hour, messages
    emoji: pd.DataFrame  # message_emoji: sender_id, emoji_name, skin_tone, occurrences
    summaries: pd.DataFrame  # conversation_summaries: day, summary, topics

    @property
    def message_count(self) -> int:
        return int((~self.messages["is_system"].astype(bool)).sum())


# The columns each panel reads: a mart not built yet comes as a frame without them.
COLUMNS = {
    "replies": ["conversation_id", "from_id", "to_id", "reply_seconds"],
    "heatmap": ["conversation_id", "local_timezone", "local_weekday", "local_hour", "messages"],
    "emoji": ["conversation_id", "sender_id", "emoji_name", "skin_tone", "occurrences"],
    "summaries": ["conversation_id", "day", "summary", "topics"],
}


def _of(frame: pd.DataFrame, conversation_id: str, columns: list[str]) -> pd.DataFrame:
    if frame.empty or "conversation_id" not in frame.columns:
        return pd.DataFrame(columns=columns)
    return frame[frame["conversation_id"] == conversation_id]


def conversation_months(
    *,
    period: str,
    first_day: date,
    days: int,
    messages: pd.DataFrame,
    replies: pd.DataFrame,
    heatmap: pd.DataFrame,
    emoji: pd.DataFrame,
    summaries: pd.DataFrame,
) -> list[ConversationMonth]:
    """One ConversationMonth per conversation with non-system messages, sorted by id."""
    if messages.empty:
        return []
    talking = messages[~messages["is_system"].astype(bool)]
    return [
        ConversationMonth(
            conversation_id=conversation_id,
            period=period,
            first_day=first_day,
            days=days,
            messages=messages[messages["conversation_id"] == conversation_id],
            replies=_of(replies, conversation_id, COLUMNS["replies"]),
            heatmap=_of(heatmap, conversation_id, COLUMNS["heatmap"]),
            emoji=_of(emoji, conversation_id, COLUMNS["emoji"]),
            summaries=_of(summaries, conversation_id, COLUMNS["summaries"]),
        )
        for conversation_id in sorted(talking["conversation_id"].unique())
    ]


def short_id(pseudonym: object) -> str:
    """A pseudonym short enough for an axis label (still not a name or number)."""
    return str(pseudonym)[:10] if isinstance(pseudonym, str) else "(none)"


def month_summary_text(summaries: pd.DataFrame) -> str:
    """The month in a paragraph: its most frequent topics, then the day summaries in order."""
    if summaries.empty:
        return "No day summaries were built for this month."
    ordered = summaries.sort_values("day")
    topics: dict[str, int] = {}
    for raw in ordered.get("topics", pd.Series(dtype=object)).dropna():
        try:
            values = json.loads(raw)
        except (TypeError, ValueError):
            continue
        for topic in values if isinstance(values, list) else []:
            topics[str(topic)] = topics.get(str(topic), 0) + 1
    top = sorted(topics.items(), key=lambda item: (-item[1], item[0]))[:6]
    lines = [f"Topics: {', '.join(t for t, _ in top)}."] if top else []
    for day, summary in zip(ordered["day"], ordered["summary"], strict=True):
        if isinstance(summary, str) and summary.strip():
            lines.append(f"{str(day)[:10]}: {summary.strip()}")
    text = " ".join(lines) or "The month's summaries are empty."
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _senders(month: ConversationMonth) -> list[str]:
    talking = month.messages[~month.messages["is_system"].astype(bool)]
    counts = talking["sender_id"].dropna().value_counts()
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [sender for sender, _ in ranked[:MAX_SENDERS]]


def render_conversation_report(month: ConversationMonth) -> bytes:
    """The one-page report as PNG bytes."""
    talking = month.messages[~month.messages["is_system"].astype(bool)]
    with figure(11, 12) as fig:
        fig.suptitle(
            f"Conversation {short_id(month.conversation_id)} · {month.period} · "
            f"{month.message_count} messages",
            fontsize=13,
            fontweight="bold",
            y=0.985,
        )
        # [left, bottom, width, height] in figure fractions
        _messages_per_day(fig.add_axes((0.06, 0.76, 0.92, 0.18)), month, talking)
        _heatmap(fig.add_axes((0.08, 0.45, 0.38, 0.24)), month)
        _reply_matrix(fig.add_axes((0.62, 0.45, 0.30, 0.24)), month)
        _emoji(fig.add_axes((0.06, 0.22, 0.40, 0.13)), month)
        _sentiment(fig.add_axes((0.56, 0.22, 0.42, 0.14)), month, talking)
        _summary(fig.add_axes((0.06, 0.01, 0.92, 0.15)), month)
        return png_bytes(fig)


def _day_index(month: ConversationMonth) -> list[date]:
    return [month.first_day + timedelta(days=i) for i in range(month.days)]


def _messages_per_day(axes: Axes, month: ConversationMonth, talking: pd.DataFrame) -> None:
    days = _day_index(month)
    per_day = talking.groupby(talking["sent_date"].astype(str)).size()
    values = [int(per_day.get(day.isoformat(), 0)) for day in days]
    axes.bar(range(len(days)), values, color="#2b7bba")
    axes.set_xticks(range(0, len(days), 2), [str(day.day) for day in days[::2]])
    axes.set_title("Messages per day (UTC)")
    axes.set_xlabel(f"day of {month.period}")
    axes.set_xlim(-0.6, len(days) - 0.4)


def _heatmap(axes: Axes, month: ConversationMonth) -> None:
    grid = np.zeros((7, 24))
    for weekday, hour, count in zip(
        month.heatmap.get("local_weekday", []),
        month.heatmap.get("local_hour", []),
        month.heatmap.get("messages", []),
        strict=True,
    ):
        grid[int(weekday) - 1, int(hour)] += int(count)
    axes.imshow(grid, aspect="auto", cmap="Blues", interpolation="nearest")
    axes.set_yticks(range(7), WEEKDAYS)
    axes.set_xticks(range(0, 24, 3), [f"{h:02d}" for h in range(0, 24, 3)])
    zones = sorted(set(month.heatmap.get("local_timezone", pd.Series(dtype=str)).dropna()))
    axes.set_title(f"Activity, local time ({', '.join(zones) or 'no messages'})")
    axes.set_xlabel("hour")


def _reply_matrix(axes: Axes, month: ConversationMonth) -> None:
    senders = _senders(month)
    replies = month.replies[
        month.replies["from_id"].isin(senders) & month.replies["to_id"].isin(senders)
    ]
    size = len(senders)
    counts = np.zeros((max(size, 1), max(size, 1)))
    labels: dict[tuple[int, int], str] = {}
    for (source, target), group in replies.groupby(["from_id", "to_id"]):
        row, column = senders.index(source), senders.index(target)
        counts[row, column] = len(group)
        median = float(np.median(group["reply_seconds"].astype(float)))
        labels[(row, column)] = f"{len(group)}\n{_duration(median)}"
    axes.imshow(counts, cmap="Oranges", interpolation="nearest")
    names = [short_id(s) for s in senders] or ["-"]
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axes.set_yticks(range(len(names)), names)
    for (row, column), text in sorted(labels.items()):
        axes.text(column, row, text, ha="center", va="center", fontsize=7)
    axes.set_title("Who answers whom: replies, median time")
    axes.set_xlabel("answered (to)")
    axes.set_ylabel("answering (from)")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _emoji(axes: Axes, month: ConversationMonth) -> None:
    axes.axis("off")
    axes.set_title("Top emoji per sender (by name: no colour emoji font)")
    lines = []
    for sender in _senders(month):
        used = month.emoji[month.emoji["sender_id"] == sender]
        if used.empty:
            continue
        totals = used.groupby("emoji_name")["occurrences"].sum()
        top = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:TOP_EMOJI]
        lines.append(f"{short_id(sender)}: " + ", ".join(f"{n} ×{int(c)}" for n, c in top))
    tones = month.emoji["skin_tone"].dropna().value_counts() if not month.emoji.empty else {}
    if len(tones):
        ranked = sorted(tones.items(), key=lambda item: (-item[1], item[0]))
        lines.append("skin tones: " + ", ".join(f"{t} ×{int(c)}" for t, c in ranked))
    text = "\n".join(textwrap.shorten(line, 70, placeholder="…") for line in lines)
    axes.text(0, 1, text or "No emoji this month.", va="top", ha="left", fontsize=9)


def _sentiment(axes: Axes, month: ConversationMonth, talking: pd.DataFrame) -> None:
    days = _day_index(month)
    scored = talking.dropna(subset=["sentiment_score"])
    mean = scored.groupby(scored["sent_date"].astype(str))["sentiment_score"].mean()
    xs = [i for i, day in enumerate(days) if day.isoformat() in mean.index]
    ys = [float(mean[days[i].isoformat()]) for i in xs]
    axes.axhline(0, color="#999999", linewidth=0.8)
    axes.plot(xs, ys, marker="o", color="#3a9a5b", linewidth=1.2, markersize=3)
    axes.set_ylim(-1.05, 1.05)
    axes.set_xlim(-0.6, len(days) - 0.4)
    axes.set_xticks(range(0, len(days), 5), [str(day.day) for day in days[::5]])
    axes.set_title(f"Mean sentiment per day ({len(scored)} scored messages)")


def _summary(axes: Axes, month: ConversationMonth) -> None:
    axes.axis("off")
    axes.set_title("The month in words", loc="left")
    wrapped = textwrap.fill(month_summary_text(month.summaries), width=135)
    axes.text(0, 1, wrapped, va="top", ha="left", fontsize=8.5, wrap=False)


def render_reports(months: list[ConversationMonth], workers: int = 1) -> list[bytes]:
    """PNG bytes of each month, in order; with `workers` > 1, drawn in forked processes.

    Drawing is CPU-bound (about 0.3 s of CPU per page): a year of a large account is
    hundreds of pages, so both cores are used when there are enough of them.
    """
    if workers <= 1 or len(months) < 2 * workers:
        return [render_conversation_report(month) for month in months]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(render_conversation_report, months, chunksize=4))


def report_rows(
    months: list[ConversationMonth],
    *,
    period_start: pd.Timestamp,
    min_messages: int,
    workers: int = 1,
) -> pd.DataFrame:
    """The `conversation_reports` rows of one month: a PNG for each conversation with at
    least `min_messages` messages, a `skipped` row for the others."""
    busy = [month for month in months if month.message_count >= min_messages]
    pictures = dict(
        zip(
            (month.conversation_id for month in busy),
            render_reports(busy, workers),
            strict=True,
        )
    )
    rows = []
    for month in months:
        png = pictures.get(month.conversation_id)
        rows.append(
            {
                "conversation_id": month.conversation_id,
                "period": month.period,
                "period_start": period_start,
                "message_count": month.message_count,
                "status": "rendered" if png else f"skipped: fewer than {min_messages} messages",
                "png_sha256": hashlib.sha256(png).hexdigest() if png else None,
                "png_bytes": len(png) if png else None,
                "png_base64": base64.b64encode(png).decode() if png else None,
            }
        )
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


REPORT_COLUMNS = [
    "conversation_id",
    "period",
    "period_start",
    "message_count",
    "status",
    "png_sha256",
    "png_bytes",
    "png_base64",
]
