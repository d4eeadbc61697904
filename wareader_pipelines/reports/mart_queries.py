"""The named read queries the report assets send to the warehouse (marts in `marts`).

Windows are written as timestamptz literals built from partition bounds (never from
user input), the one form DuckDB and PostgreSQL both accept without placeholders.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# The dbt marts' schema, as lib/tables.py names it (not imported: pure logic stays free of Dagster).
MARTS_SCHEMA = "marts"
# How far local days reach beyond UTC ones (zones run from UTC-12 to UTC+14).
LOCAL_MARGIN = timedelta(hours=14)


def _at(moment: datetime) -> str:
    return f"cast('{moment.isoformat()}' as timestamptz)"


def _local_month(start: datetime, end: datetime) -> str:
    # the messages of the local month: local days can start up to 14 hours before and end
    # up to 12 after the UTC month, so the UTC range is widened and cut by local_date
    return (
        f"sent_at >= {_at(start - LOCAL_MARGIN)} and sent_at < {_at(end + LOCAL_MARGIN)} "
        f"and local_date >= cast('{start.date().isoformat()}' as date) "
        f"and local_date < cast('{end.date().isoformat()}' as date)"
    )


def month_messages(start: datetime, end: datetime) -> str:
    """fct_messages of the month's local days (each message's local_timezone)."""
    return (
        "select conversation_id, sender_id, sent_at, local_date, local_timezone, is_system, "
        f"sentiment_score from {MARTS_SCHEMA}.fct_messages where {_local_month(start, end)} "
        "order by conversation_id, sent_at, message_id"
    )


def month_replies(start: datetime, end: datetime) -> str:
    """fct_replies of the month's local days."""
    return (
        "select replies.conversation_id, replies.from_id, replies.to_id, replies.reply_seconds "
        f"from {MARTS_SCHEMA}.fct_replies as replies "
        f"inner join {MARTS_SCHEMA}.fct_messages as messages "
        "on messages.message_id = replies.message_id "
        f"where {_local_month(start, end).replace('sent_at', 'messages.sent_at')} "
        "order by replies.conversation_id, replies.sent_at, replies.message_id"
    )


def month_heatmap(start: datetime) -> str:
    """activity_heatmap of the local month."""
    return (
        "select conversation_id, local_timezone, local_weekday, local_hour, messages "
        f"from {MARTS_SCHEMA}.activity_heatmap "
        f"where month_start = cast('{start.date().isoformat()}' as date) "
        "order by conversation_id, local_timezone, local_weekday, local_hour"
    )


def month_emoji(start: datetime, end: datetime) -> str:
    """message_emoji of the month's local days."""
    return (
        "select emoji.conversation_id, emoji.sender_id, emoji.emoji, emoji.emoji_name, "
        "emoji.skin_tone, "
        "emoji.occurrences from {schema}.message_emoji as emoji "
        f"inner join {MARTS_SCHEMA}.fct_messages as messages "
        "on messages.message_id = emoji.message_id "
        f"where {_local_month(start, end).replace('sent_at', 'messages.sent_at')} "
        "order by emoji.conversation_id, emoji.sent_at, emoji.message_id, emoji.emoji"
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
    "select cast(date_trunc('month', local_date) as date) as month_start, "
    "count(*) as messages, count(distinct conversation_id) as conversations "
    f"from {MARTS_SCHEMA}.fct_messages where not is_system group by 1 order by 1"
)
ACCOUNT_LANGUAGES = (
    "select coalesce(language, 'unknown') as language, count(*) as messages "
    f"from {MARTS_SCHEMA}.fct_messages where not is_system group by 1 order by 2 desc, 1"
)
ACCOUNT_SENTIMENT = (
    # weighted in exact decimals and rounded as the marts' means are (dbt/macros/exact_arithmetic.sql):
    # a sum of doubles would depend on the order the weeks' rows arrive in
    "select week_start, cast(round(sum(cast(mean_score as decimal(18, 6)) * messages_scored) "
    "/ sum(messages_scored), 6) as double precision) as mean_score, "
    f"sum(messages_scored) as messages_scored from {MARTS_SCHEMA}.sentiment_by_week "
    "group by week_start order by week_start"
)
ACCOUNT_HOURS = (
    "select local_weekday, local_hour, sum(messages) as messages "
    f"from {MARTS_SCHEMA}.activity_heatmap group by 1, 2 order by 1, 2"
)
