"""One conversation's month on one page: volume, local activity, who answers whom,
emoji, mood, and what was talked about.

Every number comes from a table the pipeline already defines (fct_messages,
fct_replies, activity_heatmap, message_emoji, conversation_summaries), cut to the
month; nothing here redefines a session, a reply or an emoji. Senders appear by
pseudonym only. The same month's data always renders the same PNG bytes.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import inspect
import json
import multiprocessing
import sys
import textwrap
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg

from wareader_pipelines.reports.png import (
    EMOJI_TEXT,
    LIBRARIES,
    blank_figure,
    canvas_png,
    style,
)

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
    # fct_messages: sender_id, local_date, local_timezone, is_system, sentiment_score
    messages: pd.DataFrame
    replies: pd.DataFrame  # fct_replies: from_id, to_id, reply_seconds
    heatmap: pd.DataFrame  # activity_heatmap: local_timezone, local_weekday, local_hour, messages
    emoji: pd.DataFrame  # message_emoji: sender_id, emoji, emoji_name, skin_tone, occurrences
    summaries: pd.DataFrame  # conversation_summaries: day, summary, topics

    @property
    def message_count(self) -> int:
        return int((~self.messages["is_system"].astype(bool)).sum())


# The columns each panel reads: a mart not built yet comes as a frame without them.
COLUMNS = {
    "replies": ["conversation_id", "from_id", "to_id", "reply_seconds"],
    "heatmap": ["conversation_id", "local_timezone", "local_weekday", "local_hour", "messages"],
    "emoji": ["conversation_id", "sender_id", "emoji", "emoji_name", "skin_tone", "occurrences"],
    "summaries": ["conversation_id", "day", "summary", "topics"],
}


def _by_conversation(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    # one pass over the month (not one filter per conversation: thousands of them)
    if frame.empty or "conversation_id" not in frame.columns:
        return {}
    return {str(key): rows for key, rows in frame.groupby("conversation_id", sort=False)}


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
    split = {
        name: (_by_conversation(frame), pd.DataFrame(columns=COLUMNS[name]))
        for name, frame in (
            ("replies", replies),
            ("heatmap", heatmap),
            ("emoji", emoji),
            ("summaries", summaries),
        )
    }
    by_conversation = _by_conversation(messages)

    def part(name: str, conversation_id: str) -> pd.DataFrame:
        groups, empty = split[name]
        return groups.get(conversation_id, empty)

    return [
        ConversationMonth(
            conversation_id=conversation_id,
            period=period,
            first_day=first_day,
            days=days,
            messages=by_conversation[conversation_id],
            replies=part("replies", conversation_id),
            heatmap=part("heatmap", conversation_id),
            emoji=part("emoji", conversation_id),
            summaries=part("summaries", conversation_id),
        )
        for conversation_id in sorted(map(str, talking["conversation_id"].unique()))
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
    return _page(month.days).render(month)


@functools.cache
def _page(days: int) -> _Page:
    # one figure per month length and process, its artists updated for each page: creating
    # the axes, ticks and texts again costs more than drawing them
    return _Page(days)


class _Page:
    """The report's figure with every artist created once; `render` fills in one month.

    What never changes (frames, weekday and hour labels, fixed titles) is drawn once into a
    background; a page restores it and draws only its own artists on top (Agg blitting).
    Every page sets all of its artists, so its bytes do not depend on the pages drawn
    before it in the same process.
    """

    def __init__(self, days: int) -> None:
        self.days = days
        self.figure = blank_figure(11, 12)
        fig = self.figure
        with style():
            self.title = fig.suptitle("", fontsize=13, fontweight="bold", y=0.985)
            # [left, bottom, width, height] in figure fractions
            self.per_day = fig.add_axes((0.06, 0.76, 0.92, 0.18))
            self.bars = self.per_day.bar(range(days), np.zeros(days), color="#2b7bba").patches
            self.per_day.set_xticks(range(0, days, 2), [str(d + 1) for d in range(0, days, 2)])
            self.per_day.set_xlim(-0.6, days - 0.4)
            self.per_day.set_xlabel("day of the month")
            self.per_day.set_title(" ")

            self.activity = fig.add_axes((0.08, 0.45, 0.38, 0.24))
            self.heat = self.activity.imshow(
                np.zeros((7, 24)), aspect="auto", cmap="Blues", interpolation="nearest"
            )
            self.activity.set_yticks(range(7), WEEKDAYS)
            self.activity.set_xticks(range(0, 24, 3), [f"{h:02d}" for h in range(0, 24, 3)])
            self.activity.set_xlabel("hour")
            self.activity.set_title(" ")

            self.matrix_axes = fig.add_axes((0.62, 0.45, 0.30, 0.24))
            self.matrix = self.matrix_axes.imshow(
                np.zeros((MAX_SENDERS, MAX_SENDERS)), cmap="Oranges", interpolation="nearest"
            )
            self.cells = [
                [
                    self.matrix_axes.text(0, 0, "", ha="center", va="center", fontsize=7)
                    for _ in range(MAX_SENDERS)
                ]
                for _ in range(MAX_SENDERS)
            ]
            self.matrix_axes.set_title("Who answers whom: replies, median time")
            self.matrix_axes.set_xlabel("answered (to)")
            self.matrix_axes.set_ylabel("answering (from)")

            emoji_axes = fig.add_axes((0.06, 0.22, 0.40, 0.13))
            emoji_axes.axis("off")
            emoji_axes.set_title("Top emoji per sender")
            self.emoji = emoji_axes.text(
                0, 1, "", va="top", ha="left", fontsize=9, fontfamily=EMOJI_TEXT
            )

            self.mood = fig.add_axes((0.56, 0.22, 0.42, 0.14))
            self.mood.axhline(0, color="#999999", linewidth=0.8)
            (self.trend,) = self.mood.plot(
                [], [], marker="o", color="#3a9a5b", linewidth=1.2, markersize=3
            )
            self.mood.set_ylim(-1.05, 1.05)
            self.mood.set_xlim(-0.6, days - 0.4)
            self.mood.set_xticks(range(0, days, 5), [str(d + 1) for d in range(0, days, 5)])
            self.mood.set_title(" ")

            words = fig.add_axes((0.06, 0.01, 0.92, 0.15))
            words.axis("off")
            words.set_title("The month in words", loc="left")
            self.words = words.text(
                0, 1, "", va="top", ha="left", fontsize=8.5, wrap=False, fontfamily=EMOJI_TEXT
            )

            # drawn per page, in this order (data, then the frame over it, then labels)
            self.dynamic: list[Artist] = [
                self.title,
                self.per_day.title,
                *self.bars,
                *self.per_day.spines.values(),
                self.per_day.yaxis,
                self.heat,
                *self.activity.spines.values(),
                self.activity.title,
                self.matrix,
                *self.matrix_axes.spines.values(),
                self.matrix_axes.xaxis,
                self.matrix_axes.yaxis,
                *(cell for cells in self.cells for cell in cells),
                self.emoji,
                self.trend,
                self.mood.title,
                self.words,
            ]
            for artist in self.dynamic:
                artist.set_animated(True)
            canvas = fig.canvas
            assert isinstance(canvas, FigureCanvasAgg)
            self.canvas = canvas
            canvas.draw()
            self.background = canvas.copy_from_bbox(fig.bbox)

    def render(self, month: ConversationMonth) -> bytes:
        if month.days != self.days:
            raise ValueError(f"a {self.days}-day page cannot draw a {month.days}-day month")
        with style():  # titles and ticks set here take the report's style
            self._fill(month)
            self.canvas.restore_region(self.background)
            renderer = self.canvas.get_renderer()
            for artist in self.dynamic:
                artist.draw(renderer)
            return canvas_png(self.canvas)

    def _fill(self, month: ConversationMonth) -> None:
        talking = month.messages[~month.messages["is_system"].astype(bool)]
        self.title.set_text(
            f"Conversation {short_id(month.conversation_id)} · {month.period} · "
            f"{month.message_count} messages"
        )
        self._messages_per_day(month, talking)
        self._heatmap(month)
        self._reply_matrix(month)
        self.emoji.set_text(_emoji_text(month))
        self._sentiment(month, talking)
        self.words.set_text(textwrap.fill(month_summary_text(month.summaries), width=135))

    def _messages_per_day(self, month: ConversationMonth, talking: pd.DataFrame) -> None:
        per_day = talking.groupby(talking["local_date"].astype(str)).size()
        values = [int(per_day.get(day.isoformat(), 0)) for day in _day_index(month)]
        for bar, value in zip(self.bars, values, strict=True):
            bar.set_height(value)
        self.per_day.set_ylim(0, max(values, default=0) * 1.05 or 1)
        zones = sorted(set(talking["local_timezone"].dropna()))
        self.per_day.set_title(f"Messages per local day ({', '.join(zones) or 'no messages'})")

    def _heatmap(self, month: ConversationMonth) -> None:
        grid = np.zeros((7, 24))
        for weekday, hour, count in zip(
            month.heatmap.get("local_weekday", []),
            month.heatmap.get("local_hour", []),
            month.heatmap.get("messages", []),
            strict=True,
        ):
            grid[int(weekday) - 1, int(hour)] += int(count)
        self.heat.set_data(grid)
        self.heat.set_clim(grid.min(), grid.max())
        zones = sorted(set(month.heatmap.get("local_timezone", pd.Series(dtype=str)).dropna()))
        self.activity.set_title(f"Activity, local time ({', '.join(zones) or 'no messages'})")

    def _reply_matrix(self, month: ConversationMonth) -> None:
        senders = _senders(month)
        replies = month.replies[
            month.replies["from_id"].isin(senders) & month.replies["to_id"].isin(senders)
        ]
        size = max(len(senders), 1)
        counts = np.zeros((size, size))
        labels: dict[tuple[int, int], str] = {}
        for (source, target), group in replies.groupby(["from_id", "to_id"]):
            row, column = senders.index(source), senders.index(target)
            counts[row, column] = len(group)
            median = float(np.median(group["reply_seconds"].astype(float)))
            labels[(row, column)] = f"{len(group)}\n{_duration(median)}"
        self.matrix.set_data(counts)
        self.matrix.set_clim(counts.min(), counts.max())
        self.matrix.set_extent((-0.5, size - 0.5, size - 0.5, -0.5))
        for row, cells in enumerate(self.cells):
            for column, cell in enumerate(cells):
                cell.set_position((column, row))
                cell.set_text(labels.get((row, column), ""))
        names = [short_id(s) for s in senders] or ["-"]
        axes = self.matrix_axes
        axes.set_xlim(-0.5, size - 0.5)
        axes.set_ylim(size - 0.5, -0.5)
        axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
        axes.set_yticks(range(len(names)), names)

    def _sentiment(self, month: ConversationMonth, talking: pd.DataFrame) -> None:
        days = _day_index(month)
        scored = talking.dropna(subset=["sentiment_score"])
        mean = scored.groupby(scored["local_date"].astype(str))["sentiment_score"].mean()
        xs = [i for i, day in enumerate(days) if day.isoformat() in mean.index]
        self.trend.set_data(xs, [float(mean[days[i].isoformat()]) for i in xs])
        self.mood.set_title(f"Mean sentiment per local day ({len(scored)} scored messages)")


def _day_index(month: ConversationMonth) -> list[date]:
    return [month.first_day + timedelta(days=i) for i in range(month.days)]


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _emoji_text(month: ConversationMonth) -> str:
    lines = []
    for sender in _senders(month):
        used = month.emoji[month.emoji["sender_id"] == sender]
        if used.empty:
            continue
        totals = used.groupby(["emoji", "emoji_name"])["occurrences"].sum()
        top = sorted(totals.items(), key=lambda item: (-item[1], item[0][1]))[:TOP_EMOJI]
        lines.append(
            f"{short_id(sender)}: "
            + ", ".join(f"{glyph} {name} ×{int(c)}" for (glyph, name), c in top)
        )
    tones = month.emoji["skin_tone"].dropna().value_counts() if not month.emoji.empty else {}
    if len(tones):
        ranked = sorted(tones.items(), key=lambda item: (-item[1], item[0]))
        lines.append("skin tones: " + ", ".join(f"{t} ×{int(c)}" for t, c in ranked))
    text = "\n".join(textwrap.shorten(line, 70, placeholder="…") for line in lines)
    return text or "No emoji this month."


def render_reports(months: list[ConversationMonth], workers: int = 1) -> list[bytes]:
    """PNG bytes of each month, in order; with `workers` > 1, drawn in forked processes.

    Drawing is CPU-bound (under 0.1 s of CPU per page): a year of a large account is a
    thousand pages, so both cores are used when there are enough of them.
    """
    if workers <= 1 or len(months) < 2 * workers:
        return [render_conversation_report(month) for month in months]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(render_conversation_report, months, chunksize=8))


def _source_of(module_name: str) -> bytes:
    return inspect.getsource(sys.modules[module_name]).encode()


# What else shapes a page's bytes (and its digest): this module, the PNG writer, the
# fonts' and the hashing libraries' versions.
RENDERER_VERSION = hashlib.sha256(
    _source_of(__name__)
    + _source_of("wareader_pipelines.reports.png")
    + f"{LIBRARIES}|pandas {pd.__version__}".encode()
).hexdigest()[:16]


def input_sha256(month: ConversationMonth) -> str:
    """A digest of everything a page is drawn from: equal digests, equal bytes.

    A month whose digest is unchanged is not drawn again (its stored PNG is kept), which
    saves the drawing and keeps archives byte-identical.
    """
    digest = hashlib.sha256(
        f"{RENDERER_VERSION}|{month.conversation_id}|{month.period}|"
        f"{month.first_day}|{month.days}".encode()
    )
    for frame in (month.messages, month.replies, month.heatmap, month.emoji, month.summaries):
        digest.update(repr([(c, str(t)) for c, t in frame.dtypes.items()]).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def report_rows(
    months: list[ConversationMonth],
    *,
    min_messages: int,
    workers: int = 1,
    stored: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The `conversation_reports` rows of these months: a PNG for each conversation-month
    with at least `min_messages` messages, a `skipped` row for the others.

    `stored` (rows built before) gives back its PNG where a month's `input_sha256` is the
    same, instead of drawing it again.
    """
    before: dict[tuple[str, str], tuple[str, str]] = {}
    if stored is not None and len(stored) and "input_sha256" in stored.columns:
        for row in stored.dropna(subset=["input_sha256", "png_base64"]).itertuples():
            before[(row.conversation_id, row.period)] = (row.input_sha256, row.png_base64)
    busy = [month for month in months if month.message_count >= min_messages]
    digests = {(m.conversation_id, m.period): input_sha256(m) for m in busy}
    kept = {
        key: base64.b64decode(before[key][1])
        for key in ((m.conversation_id, m.period) for m in busy)
        if key in before and before[key][0] == digests[key]
    }
    redraw = [m for m in busy if (m.conversation_id, m.period) not in kept]
    pictures = kept | dict(
        zip(
            ((month.conversation_id, month.period) for month in redraw),
            render_reports(redraw, workers),
            strict=True,
        )
    )
    rows = []
    for month in months:
        key = (month.conversation_id, month.period)
        png = pictures.get(key)
        rows.append(
            {
                "conversation_id": month.conversation_id,
                "period": month.period,
                "period_start": pd.Timestamp(month.first_day, tz="UTC"),
                "message_count": month.message_count,
                "status": "rendered" if png else f"skipped: fewer than {min_messages} messages",
                "input_sha256": digests.get(key),
                "png_sha256": hashlib.sha256(png).hexdigest() if png else None,
                "png_bytes": len(png) if png else None,
                "png_base64": base64.b64encode(png).decode() if png else None,
            }
        )
    frame = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    frame.attrs["redrawn"] = len(redraw)
    return frame


REPORT_COLUMNS = [
    "conversation_id",
    "period",
    "period_start",
    "message_count",
    "status",
    "input_sha256",
    "png_sha256",
    "png_bytes",
    "png_base64",
]
