"""The monthly picture: reproducible bytes, the numbers it is drawn from, skipped months."""

from __future__ import annotations

import base64
import io
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from matplotlib.ft2font import FT2Font
from PIL import Image

from wareader_pipelines.reports import conversation_report, png
from wareader_pipelines.reports.account_overview import AccountOverview, render_account_overview
from wareader_pipelines.reports.conversation_report import (
    conversation_months,
    month_summary_text,
    render_conversation_report,
    render_reports,
    report_rows,
)

MAY = datetime(2024, 5, 1, tzinfo=UTC)


def _inputs(messages_in_c1: int = 40) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(3)
    sent = [MAY + timedelta(minutes=int(m)) for m in sorted(rng.integers(0, 31 * 1440, 60))]
    conversation = ["c1"] * messages_in_c1 + ["c2"] * (60 - messages_in_c1)
    messages = pd.DataFrame(
        {
            "conversation_id": conversation,
            "sender_id": rng.choice(["s_one", "s_two", "s_three"], 60),
            "sent_at": sent,
            "local_date": [s.date() for s in sent],
            "local_timezone": ["Europe/Berlin"] * 60,
            "is_system": [False] * 59 + [True],
            "sentiment_score": rng.uniform(-1, 1, 60),
        }
    )
    replies = pd.DataFrame(
        {
            "conversation_id": ["c1", "c1", "c1"],
            "from_id": ["s_one", "s_two", "s_one"],
            "to_id": ["s_two", "s_one", "s_two"],
            "reply_seconds": [60.0, 300.0, 120.0],
        }
    )
    heatmap = pd.DataFrame(
        {
            "conversation_id": ["c1", "c1"],
            "local_timezone": ["Europe/Berlin"] * 2,
            "local_weekday": [1, 7],
            "local_hour": [9, 23],
            "messages": [30, 10],
        }
    )
    emoji = pd.DataFrame(
        {
            "conversation_id": ["c1", "c1"],
            "sender_id": ["s_one", "s_two"],
            "emoji": ["👍", "❤️"],
            "emoji_name": ["thumbs_up", "red_heart"],
            "skin_tone": ["medium", None],
            "occurrences": [4, 1],
        }
    )
    summaries = pd.DataFrame(
        {
            "conversation_id": ["c1", "c1"],
            "day": [date(2024, 5, 3), date(2024, 5, 2)],
            "summary": ["Dates agreed.", "A trip was proposed."],
            "topics": ['["trip", "dates"]', '["trip"]'],
        }
    )
    return {
        "messages": messages,
        "replies": replies,
        "heatmap": heatmap,
        "emoji": emoji,
        "summaries": summaries,
    }


def _months(**inputs: pd.DataFrame):
    return conversation_months(period="2024-05", first_day=date(2024, 5, 1), days=31, **inputs)


def test_the_same_month_renders_the_same_bytes_and_a_change_changes_them() -> None:
    c1 = _months(**_inputs())[0]
    first, again = render_conversation_report(c1), render_conversation_report(c1)
    assert first == again
    image = Image.open(io.BytesIO(first))
    assert image.format == "PNG" and image.size == (880, 960)
    assert not set(image.info) & {"Software", "Creation Time", "date:create"}

    changed = _inputs()
    changed["replies"].loc[0, "reply_seconds"] = 7200.0
    assert render_conversation_report(_months(**changed)[0]) != first


def test_rows_render_busy_conversations_and_skip_quiet_ones() -> None:
    months = _months(**_inputs(messages_in_c1=45))
    assert [m.conversation_id for m in months] == ["c1", "c2"]
    assert [m.message_count for m in months] == [45, 14]  # c2's last line is a system line
    rows = report_rows(months, min_messages=20).set_index("conversation_id")
    assert rows.loc["c1", "status"] == "rendered"
    png = base64.b64decode(rows.loc["c1", "png_base64"])
    assert png.startswith(b"\x89PNG") and rows.loc["c1", "png_bytes"] == len(png)
    assert rows.loc["c2", "status"].startswith("skipped")
    assert pd.isna(rows.loc["c2", "png_base64"])


def test_a_page_does_not_depend_on_the_pages_drawn_before_it() -> None:
    # the figure is built once per process and reused: nothing of one page may stay on the next
    busy, quiet = _months(**_inputs(messages_in_c1=45))
    inputs = _inputs()
    inputs["messages"]["sender_id"] = [f"s{i % 8}" for i in range(60)]
    crowded = _months(**inputs)[0]
    conversation_report._page.cache_clear()
    fresh = [render_conversation_report(m) for m in (busy, quiet, crowded)]
    again = [render_conversation_report(m) for m in (crowded, quiet, busy)][::-1]
    assert fresh == again
    assert len(set(fresh)) == 3


def test_an_unchanged_month_keeps_its_stored_picture_and_a_changed_one_is_redrawn() -> None:
    months = _months(**_inputs(messages_in_c1=45))
    first = report_rows(months, min_messages=10)
    assert first.attrs["redrawn"] == 2
    assert first["input_sha256"].notna().all()
    # stored bytes that drawing could never give: kept as they are when the inputs match
    stored = first.assign(png_base64=base64.b64encode(b"stored page").decode())
    kept = report_rows(months, min_messages=10, stored=stored)
    assert kept.attrs["redrawn"] == 0
    assert set(kept["png_base64"]) == {base64.b64encode(b"stored page").decode()}

    changed = _inputs(messages_in_c1=45)
    changed["replies"].loc[0, "reply_seconds"] = 7200.0  # c1 only
    rows = report_rows(_months(**changed), min_messages=10, stored=stored).set_index(
        "conversation_id"
    )
    assert rows.attrs["redrawn"] == 1
    assert base64.b64decode(rows.loc["c1", "png_base64"]).startswith(b"\x89PNG")
    assert rows.loc["c2", "png_base64"] == base64.b64encode(b"stored page").decode()


def test_emoji_are_drawn_as_glyphs_of_the_pinned_outline_font() -> None:
    # a missing glyph draws the same empty box for every emoji: distinct emoji, distinct pixels
    font = FT2Font(str(png.EMOJI_FONT_FILE))
    for sequence in ("👍", "😂", "❤", "🎉"):
        assert font.get_char_index(ord(sequence)) != 0, sequence

    def drawn(text: str) -> bytes:
        fig = png.blank_figure(1, 0.5)
        with png.style():
            fig.text(0.1, 0.3, text, fontsize=20, fontfamily=png.EMOJI_TEXT)
            return png.png_bytes(fig)

    assert len({drawn(text) for text in ("👍", "😂", "👨‍👩‍👧‍👦", "🇧🇷")}) == 4
    # shaped as one glyph: the tone modifier draws no swatch of its own (a monochrome font
    # has no tones; the page lists them in words)
    assert drawn("👍🏿") == drawn("👍")


def test_the_month_in_words_lists_topics_then_days_in_order() -> None:
    text = month_summary_text(_inputs()["summaries"])
    assert text == (
        "Topics: trip, dates. 2024-05-02: A trip was proposed. 2024-05-03: Dates agreed."
    )
    assert month_summary_text(pd.DataFrame()) == "No day summaries were built for this month."


def test_the_account_overview_is_reproducible() -> None:
    overview = AccountOverview(
        conversations=2,
        messages=59,
        participants=3,
        by_month=pd.DataFrame({"month_start": [date(2024, 5, 1)], "messages": [59]}),
        languages=pd.DataFrame({"language": ["en", "pt"], "messages": [40, 19]}),
        sentiment=pd.DataFrame({"week_start": [date(2024, 4, 29)], "mean_score": [0.2]}),
        hours=pd.DataFrame({"local_weekday": [1], "local_hour": [9], "messages": [59]}),
    )
    png = render_account_overview(overview)
    assert png == render_account_overview(overview)
    assert Image.open(io.BytesIO(png)).size == (880, 680)


def test_pictures_drawn_in_worker_processes_are_the_same_bytes() -> None:
    months = _months(**_inputs(messages_in_c1=30)) * 3
    assert render_reports(months, workers=2) == [render_conversation_report(m) for m in months]


def test_a_month_renders_before_the_whole_table_marts_exist() -> None:
    inputs = _inputs() | {"replies": pd.DataFrame(), "heatmap": pd.DataFrame()}
    inputs |= {"emoji": pd.DataFrame(), "summaries": pd.DataFrame()}
    png = render_conversation_report(_months(**inputs)[0])
    assert png.startswith(b"\x89PNG")
