"""The named read queries the report assets send to the warehouse (marts in `marts`).

Windows are written as timestamptz literals built from partition bounds (never from
user input), the one form DuckDB and PostgreSQL both accept without placeholders.
"""

from __future__ import annotations

from datetime import datetime

# The dbt marts' schema, as lib/tables.py names it (not imported: pure logic stays free of Dagster).
MARTS_SCHEMA = "marts"


def _at(moment: datetime) -> str:
    return f"cast('{moment.isoformat()}' as timestamptz)"


def month_messages(start: datetime, end: datetime) -> str:
    return (
        "select conversation_id, sender_id, sent_at, sent_date, is_system, sentiment_score "
        f"from {MARTS_SCHEMA}.fct_messages where sent_at >= {_at(start)} and sent_at < {_at(end)} "
        "order by conversation_id, sent_at, message_id"
    )


def month_replies(start: datetime, end: datetime) -> str:
    return (
        "select conversation_id, from_id, to_id, reply_seconds "
        f"from {MARTS_SCHEMA}.fct_replies where sent_at >= {_at(start)} and sent_at < {_at(end)} "
        "order by conversation_id, sent_at, message_id"
    )


def month_heatmap(start: datetime) -> str:
    return (
        "select conversation_id, local_timezone, local_weekday, local_hour, messages "
        f"from {MARTS_SCHEMA}.activity_heatmap "
        f"where month_start = cast('{start.date().isoformat()}' as date) "
        "order by conversation_id, local_timezone, local_weekday, local_hour"
    )


def month_emoji(start: datetime, end: datetime) -> str:
    return (
        "select conversation_id, sender_id, emoji_name, skin_tone, occurrences "
        "from {schema}.message_emoji "
        f"where sent_at >= {_at(start)} and sent_at < {_at(end)} "
        "order by conversation_id, sent_at, message_id, emoji"
    )


def month_summaries(start: datetime, end: datetime) -> str:
    return (
        "select conversation_id, day, summary, topics from {schema}.conversation_summaries "
        f"where day_start >= {_at(start)} and day_start < {_at(end)} "
        "order by conversation_id, day"
    )


def stored_reports(start: datetime, end: datetime) -> str:
    """The report rows a run built before (pages kept when their inputs are unchanged)."""
    return (
        "select * from {schema}.conversation_reports "
        f"where period_start >= {_at(start)} and period_start < {_at(end)}"
    )


ACCOUNT_TOTALS = (
    "select count(distinct conversation_id) as conversations, count(*) as messages, "
    "count(distinct sender_id) as participants "
    f"from {MARTS_SCHEMA}.fct_messages where not is_system"
)
ACCOUNT_BY_MONTH = (
    "select cast(date_trunc('month', sent_at at time zone 'UTC') as date) as month_start, "
    "count(*) as messages, count(distinct conversation_id) as conversations "
    f"from {MARTS_SCHEMA}.fct_messages where not is_system group by 1 order by 1"
)
ACCOUNT_LANGUAGES = (
    "select coalesce(language, 'unknown') as language, count(*) as messages "
    f"from {MARTS_SCHEMA}.fct_messages where not is_system group by 1 order by 2 desc, 1"
)
ACCOUNT_SENTIMENT = (
    "select week_start, sum(mean_score * messages_scored) / sum(messages_scored) as mean_score, "
    f"sum(messages_scored) as messages_scored from {MARTS_SCHEMA}.sentiment_by_week "
    "group by week_start order by week_start"
)
ACCOUNT_HOURS = (
    "select local_weekday, local_hour, sum(messages) as messages "
    f"from {MARTS_SCHEMA}.activity_heatmap group by 1, 2 order by 1, 2"
)
