"""The dbt project on both targets: builds, its tests pass, and the marts hold the same numbers."""

import json
import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

from wareader_pipelines.defs.analytics.project import DBT_DIR
from wareader_pipelines.resources.warehouse import backend_for
from wareader_pipelines_tests.analytics.warehouse_sample import (
    DAY1,
    frames,
    rewrite_day,
    write_sample,
)
from wareader_testkit.dbt_build import run_dbt_build

MARTS = {
    "fct_messages": ["message_id"],
    "dim_conversations": ["conversation_id"],
    "dim_participants": ["sender_id"],
    "daily_conversation_metrics": ["conversation_id", "local_timezone", "metric_date"],
    "fct_sessions": ["session_id"],
    "fct_replies": ["message_id"],
    "reply_matrix": ["conversation_id", "from_id", "to_id"],
    "activity_heatmap": [
        "conversation_id",
        "local_timezone",
        "month_start",
        "local_weekday",
        "local_hour",
    ],
    "emoji_usage": ["conversation_id", "sender_id", "emoji", "skin_tone"],
    "sentiment_by_week": ["sender_id", "local_timezone", "week_start", "method"],
}


def dbt_build(url: str, target_path: Path, *args: str) -> list[tuple[str, str]]:
    """`dbt build` in its own process against `url`: each node's id and status."""
    done = run_dbt_build(url, target_path, *args)
    assert done.returncode == 0, done.stdout[-4000:]
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    return [(r["unique_id"], r["status"]) for r in results]


def marts(url: str, tables: Sequence[str] = tuple(MARTS)) -> dict[str, pd.DataFrame]:
    backend = backend_for(url, "marts")
    found = {}
    for table in tables:
        keys = MARTS[table]
        frame = backend.query(f"select * from marts.{table} order by {', '.join(keys)}")
        found[table] = normalized(frame)
    return found


def normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """Engine-neutral dtypes: UTC timestamps in µs, dates as text, numbers as float."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            out[column] = values.dt.tz_convert("UTC").dt.as_unit("us")
        elif column.endswith("_date") or column in {"week_start", "month_start"}:
            out[column] = values.astype(str)
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[column] = values.astype("float64")
    return out.reset_index(drop=True)


@pytest.fixture
def duckdb_url(tmp_path: Path) -> Iterator[str]:
    url = str(tmp_path / "warehouse.duckdb")
    write_sample(url)
    yield url


@pytest.fixture
def postgres_sample(postgres_url: str) -> str:
    write_sample(postgres_url)
    return postgres_url


@pytest.mark.heavy
def test_marts_hold_the_same_numbers_on_duckdb_and_postgres(
    duckdb_url: str, postgres_sample: str, tmp_path: Path
) -> None:
    duck_statuses = dbt_build(duckdb_url, tmp_path / "duck")
    pg_statuses = dbt_build(postgres_sample, tmp_path / "pg")
    assert sorted(duck_statuses) == sorted(pg_statuses)
    assert sum(1 for _, status in duck_statuses if status == "pass") >= 40

    on_duckdb, on_postgres = marts(duckdb_url), marts(postgres_sample)
    for table in MARTS:
        pd.testing.assert_frame_equal(on_duckdb[table], on_postgres[table], check_dtype=False)

    daily = on_duckdb["daily_conversation_metrics"].set_index(["conversation_id", "metric_date"])
    day1 = daily.loc[("c1", "2024-05-13")]
    assert day1.message_count == 5 and day1.active_participants == 2
    assert day1.media_share == pytest.approx(1 / 5)
    assert day1.languages == "en,pt" and day1.language_count == 2
    assert day1.mean_sentiment == pytest.approx((0.5 - 0.5 + 0.0 + 1.0) / 4)
    assert day1.reply_count == 2 and day1.median_reply_seconds == 270  # 120 s and 420 s
    # a reply across midnight counts on its own day; 2 days of silence start a new session
    assert daily.loc[("c1", "2024-05-14")].median_reply_seconds == (900 + 3600) / 2
    # c2's days are São Paulo days (UTC-3): Monday 00:30 UTC is Sunday the 12th there
    assert daily.loc[("c2", "2024-05-12")].message_count == 2
    assert ("c2", "2024-05-13") not in daily.index
    assert daily.loc[("c2", "2024-05-14")].reply_count == 0
    assert daily.loc[("c2", "2024-05-24")].reply_count == 0
    assert_conversation_marts(on_duckdb)
    # every column of every mart is described in marts.yml (shown in the UI by dagster-dbt)
    documented = yaml.safe_load((DBT_DIR / "models" / "marts" / "marts.yml").read_text())
    described = {
        model["name"]: {c["name"] for c in model.get("columns", []) if c.get("description")}
        for model in documented["models"]
    }
    for table, frame in on_duckdb.items():
        assert set(frame.columns) <= described[table], (
            table,
            set(frame.columns) - described[table],
        )
    conversations = on_duckdb["dim_conversations"].set_index("conversation_id")
    assert conversations.loc["c1"].message_count == 7
    assert conversations.loc["c2"].sources == "export"
    participants = on_duckdb["dim_participants"]
    assert sorted(participants.sender_id) == ["s1", "s2", "s3", "s4", "s5"]
    assert set(participants.columns) == {
        "sender_id",
        "first_message_at",
        "last_message_at",
        "message_count",
        "conversation_count",
        "primary_language",
    }


def assert_conversation_marts(found: dict[str, pd.DataFrame]) -> None:
    """The sample's sessions, replies, heatmap, emoji and weekly sentiment, by hand."""
    sessions = found["fct_sessions"].sort_values(["conversation_id", "started_at"])
    # c1: 00:10-00:20, then 23:50 + 00:05 + 01:05 (gaps of 15 and 60 min); c2: 3 sessions
    # after 00:30-00:31 (2 and 10 days of silence)
    assert list(sessions.conversation_id) == ["c1", "c1", "c2", "c2", "c2"]
    assert list(sessions.messages) == [4, 3, 2, 1, 1]
    assert list(sessions.starter_id) == ["s1", "s1", "s4", "s5", "s4"]
    assert list(sessions.participants) == [2, 3, 1, 1, 1]
    assert sessions.session_id.is_unique

    replies = found["fct_replies"].set_index("message_id")
    assert sorted(replies.index) == ["m01", "m03", "m06", "m07"]
    assert replies.loc["m07"].from_id == "s3" and replies.loc["m07"].to_id == "s2"
    assert list(replies.reply_seconds.sort_index()) == [120, 420, 900, 3600]
    # fct_messages.reply_seconds is the same definition
    messages = found["fct_messages"].set_index("message_id")
    pd.testing.assert_series_equal(
        messages.reply_seconds.dropna().sort_index(),
        replies.reply_seconds.sort_index(),
        check_names=False,
    )

    matrix = found["reply_matrix"].set_index(["from_id", "to_id"])
    assert matrix.loc[("s2", "s1")].replies == 2  # 120 s and 900 s
    assert matrix.loc[("s2", "s1")].median_seconds == 510
    assert matrix.loc[("s2", "s1")].p90_seconds == pytest.approx(120 + 0.9 * 780)
    assert matrix.loc[("s1", "s2")].replies == 1

    heatmap = found["activity_heatmap"]
    c2 = heatmap[heatmap.conversation_id == "c2"]
    # c2 is an export read in São Paulo time (UTC-3): Monday 00:30 UTC is Sunday 21:30 there
    assert set(c2.local_timezone) == {"America/Sao_Paulo"}
    first = c2[(c2.local_weekday == 7) & (c2.local_hour == 21)]
    assert list(first.messages) == [2]
    c1 = heatmap[heatmap.conversation_id == "c1"]
    assert set(c1.local_timezone) == {"UTC"} and c1.messages.sum() == 7

    emoji = found["emoji_usage"]
    thumbs = emoji[(emoji.emoji == "👍")].set_index(["sender_id", "skin_tone"])
    assert thumbs.loc[("s1", "medium")].occurrences == 2
    assert thumbs.loc[("s2", "dark")].occurrences == 1
    assert set(emoji[emoji.sender_id == "s1"].emoji) == {"👍", "🇧🇷", "❤️"}
    hearts = emoji[emoji.emoji == "❤️"]
    assert list(hearts.occurrences) == [2]  # with and without the variation selector
    assert "👨‍👩‍👧‍👦" in set(emoji.emoji) and "👩‍💻" in set(emoji.emoji)

    weekly = found["sentiment_by_week"].set_index(["sender_id", "week_start"])
    s1 = weekly.loc[("s1", "2024-05-13")]
    assert s1.messages_scored == 3 and s1.positive == 2 and s1.neutral == 1
    assert s1.mean_score == pytest.approx(0.5)
    # s4 wrote on Sunday evening in São Paulo: the local ISO week of Monday the 6th, not the
    # UTC week of the 13th
    assert weekly.loc[("s4", "2024-05-06")].negative == 2
    assert ("s4", "2024-05-13") not in weekly.index
    assert weekly.loc[("s4", "2024-05-06")].local_timezone == "America/Sao_Paulo"


INCREMENTAL_MARTS = ("fct_messages", "daily_conversation_metrics")
# The incremental marts and the tests of nothing else (the dimensions' tests need the dimensions).
INCREMENTAL_ONLY = (
    "--select",
    "config.materialized:incremental",
    "--indirect-selection",
    "cautious",
)
DAY2 = DAY1 + timedelta(days=1)


def _rebuild_day(url: str, target: Path, day: datetime) -> None:
    """What Dagster runs for one day's partition of the incremental marts (see
    defs/analytics/assets.py): `dbt build` of the incremental models with the day's window."""
    window = {"min_sent_at": day.isoformat(), "max_sent_at": (day + timedelta(days=1)).isoformat()}
    dbt_build(
        url,
        target,
        "--select",
        "config.materialized:incremental",
        "--vars",
        json.dumps(window),
        "--indirect-selection",
        "cautious",  # as Dagster runs it: the dimensions' tests wait for the dimensions
    )


def _day_of(cleaned: pd.DataFrame, day: datetime) -> pd.DataFrame:
    return cleaned[(cleaned.sent_at >= day) & (cleaned.sent_at < day + timedelta(days=1))]


def _random_day_re_runs(
    url: str, target: Path, cleaned: pd.DataFrame, seed: int, steps: int
) -> pd.DataFrame:
    """A seeded sequence of day re-runs, each a message removed from or added to one day
    (often an older day than the last rebuilt one: a late delivery), often near midnight so
    that it changes the next day's first reply; each followed by the rebuild of its day only.
    Conversation c1 is edited from DAY1 + 2 on, so the experiment's message keeps its value."""
    rng = random.Random(seed)
    for step in range(steps):
        conversation = rng.choice(["c1", "c2"])
        day = DAY1 + timedelta(days=rng.randrange(2 if conversation == "c1" else 0, 14))
        todays = _day_of(cleaned, day)
        todays = todays[todays.conversation_id == conversation]
        if len(todays) and rng.random() < 0.5:
            cleaned = cleaned[cleaned.message_id != rng.choice(list(todays.message_id))]
        else:
            minute = rng.choice([rng.randrange(24 * 60), 24 * 60 - 1 - rng.randrange(90)])
            added = {
                "message_id": f"n{step}",
                "conversation_id": conversation,
                "sender_id": rng.choice(["s1", "s2", "s4", "s5"]),
                "sent_at": day + timedelta(minutes=minute),
                "message_type": "text",
                "language": "en",
                "is_media": False,
                "is_system": False,
                "word_count": 2,
                "emoji_count": 0,
            }
            cleaned = pd.concat([cleaned, pd.DataFrame([added])], ignore_index=True)
        rewrite_day(url, day, _day_of(cleaned, day))
        _rebuild_day(url, target, day)
    return cleaned


@pytest.mark.heavy
@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_day_re_runs_leave_the_incremental_marts_equal_to_a_full_refresh(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Issue 9 §3. The last message of 2024-05-13 (m05, 23:50) is removed and only that day is
    rebuilt: the next message (m06, 05-14 00:05) answered it after 900 s and now follows one
    from 00:20 the day before, a new session, so it is no reply; a rebuild of 05-13 alone used
    to keep 900. Then a seeded random sequence of day re-runs; the marts must equal
    `dbt build --full-refresh` of the same tables."""
    url = request.getfixturevalue("duckdb_url" if engine == "duckdb" else "postgres_sample")
    target = tmp_path / "target"  # one target folder: dbt's partial parsing between builds
    # the incremental marts read only the pipeline's tables (staging is inlined): build just them
    dbt_build(url, target, *INCREMENTAL_ONLY)
    before = marts(url, INCREMENTAL_MARTS)
    assert before["fct_messages"].set_index("message_id").at["m06", "reply_seconds"] == 900

    _, cleaned = frames()["cleaned_messages"]
    cleaned = cleaned[cleaned.message_id != "m05"]
    rewrite_day(url, DAY1, _day_of(cleaned, DAY1))
    _rebuild_day(url, target, DAY1)
    after = marts(url, INCREMENTAL_MARTS)
    assert pd.isna(after["fct_messages"].set_index("message_id").at["m06", "reply_seconds"])
    # only the rebuilt day and the one after it changed
    daily = "daily_conversation_metrics"
    other_days = {
        name: frame[~frame.metric_date.isin(["2024-05-13", "2024-05-14"])].reset_index(drop=True)
        for name, frame in (("before", before[daily]), ("after", after[daily]))
    }
    pd.testing.assert_frame_equal(other_days["before"], other_days["after"])

    _random_day_re_runs(url, target, cleaned, seed=20240513, steps=3)
    incremental = marts(url, INCREMENTAL_MARTS)
    dbt_build(url, target, "--full-refresh", *INCREMENTAL_ONLY)
    full = marts(url, INCREMENTAL_MARTS)
    for table in INCREMENTAL_MARTS:
        pd.testing.assert_frame_equal(incremental[table], full[table], obj=table)
    assert pd.isna(full["fct_messages"].set_index("message_id").at["m06", "reply_seconds"])
