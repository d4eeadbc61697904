"""The whole account on one page: volume by month, languages, mood by week, busiest hours.

Inputs are small aggregates the marts already hold (fct_messages, sentiment_by_week,
activity_heatmap), so the page costs the same for a thousand messages or a million.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from wareader_pipelines.reports.conversation_report import WEEKDAYS
from wareader_pipelines.reports.png import figure, png_bytes

TOP_LANGUAGES = 10


@dataclass(frozen=True)
class AccountOverview:
    """Aggregates over every conversation."""

    conversations: int
    messages: int
    participants: int
    by_month: pd.DataFrame  # month_start, messages, conversations
    languages: pd.DataFrame  # language, messages
    sentiment: pd.DataFrame  # week_start, mean_score, messages_scored
    hours: pd.DataFrame  # local_weekday, local_hour, messages


def render_account_overview(overview: AccountOverview) -> bytes:
    """The overview page as PNG bytes; the same aggregates give the same bytes."""
    with figure(11, 8.5) as fig:
        fig.suptitle(
            f"All conversations: {overview.conversations} conversations, "
            f"{overview.messages} messages, {overview.participants} participants",
            fontsize=13,
            fontweight="bold",
            y=0.985,
        )
        _volume(fig.add_axes((0.06, 0.56, 0.56, 0.35)), overview)
        _languages(fig.add_axes((0.72, 0.56, 0.25, 0.35)), overview)
        _sentiment(fig.add_axes((0.06, 0.08, 0.42, 0.36)), overview)
        _hours(fig.add_axes((0.56, 0.08, 0.41, 0.36)), overview)
        return png_bytes(fig)


def _volume(axes: Axes, overview: AccountOverview) -> None:
    months = [str(m)[:7] for m in overview.by_month["month_start"]]
    axes.bar(range(len(months)), overview.by_month["messages"].astype(int), color="#2b7bba")
    step = max(1, len(months) // 12)
    axes.set_xticks(range(0, len(months), step), months[::step], rotation=45, ha="right")
    axes.set_title("Messages per month (each conversation's local time)")


def _languages(axes: Axes, overview: AccountOverview) -> None:
    ranked = overview.languages.sort_values(["messages", "language"], ascending=[False, True])
    top = ranked.head(TOP_LANGUAGES).iloc[::-1]
    axes.barh(range(len(top)), top["messages"].astype(int), color="#7a5195")
    axes.set_yticks(range(len(top)), list(top["language"]))
    axes.set_title("Languages (messages)")


def _sentiment(axes: Axes, overview: AccountOverview) -> None:
    weeks = overview.sentiment
    axes.axhline(0, color="#999999", linewidth=0.8)
    axes.plot(range(len(weeks)), weeks["mean_score"].astype(float), color="#3a9a5b")
    labels = [str(w)[:10] for w in weeks["week_start"]]
    step = max(1, len(labels) // 8)
    axes.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, ha="right")
    axes.set_ylim(-1.05, 1.05)
    axes.set_title("Mean sentiment per local ISO week")


def _hours(axes: Axes, overview: AccountOverview) -> None:
    grid = np.zeros((7, 24))
    for weekday, hour, count in overview.hours.itertuples(index=False):
        grid[int(weekday) - 1, int(hour)] += int(count)
    axes.imshow(grid, aspect="auto", cmap="Blues", interpolation="nearest")
    axes.set_yticks(range(7), WEEKDAYS)
    axes.set_xticks(range(0, 24, 3), [f"{h:02d}" for h in range(0, 24, 3)])
    axes.set_title("Busiest hours (each conversation's local time)")
