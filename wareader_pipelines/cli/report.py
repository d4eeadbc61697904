"""The summary a person reads after a run: what each table holds and how to query it."""

from __future__ import annotations

import textwrap

from wareader_pipelines.resources.warehouse import Warehouse

REPORTED_TABLES = (
    "raw_messages",
    "message_statuses",
    "quarantine",
    "cleaned_messages",
    "message_sentiment",
    "conversation_summaries",
    "conversation_archives",
    "message_media",
)

ANALYST_QUERY = """SELECT language, count(*) AS messages, count(DISTINCT sender_id) AS senders
FROM {schema}.cleaned_messages
GROUP BY language ORDER BY messages DESC;"""


def pipeline_report(warehouse: Warehouse, *, location: str) -> str:
    """Rows per table, languages found, quarantine reasons, and a query to paste."""
    lines = ["", "wareader-pipelines: sample run finished", ""]
    lines.append(f"{'table':<26}{'rows':>10}")
    for table in REPORTED_TABLES:
        if warehouse.table_exists(table):
            count = warehouse.query(f"SELECT count(*) AS n FROM {{schema}}.{table}")["n"].iloc[0]
            lines.append(f"{table:<26}{int(count):>10}")
    if warehouse.table_exists("cleaned_messages"):
        languages = warehouse.query(
            "SELECT coalesce(language, '?') AS language, count(*) AS n "
            "FROM {schema}.cleaned_messages GROUP BY 1 ORDER BY n DESC, language"
        )
        found = ", ".join(f"{row.language} {row.n}" for row in languages.itertuples())
        lines += ["", f"languages found: {found}"]
    if warehouse.table_exists("quarantine"):
        reasons = warehouse.query(
            "SELECT reason, count(*) AS n FROM {schema}.quarantine GROUP BY 1 ORDER BY n DESC"
        )
        lines += ["", f"quarantined inputs: {int(reasons['n'].sum())}"]
        lines += [f"  {row.n:>4}  {row.reason[:90]}" for row in reasons.itertuples()]
    if warehouse.table_exists("conversation_summaries"):
        busiest = warehouse.query(
            "SELECT day, provider, summary_language, message_count, summary "
            "FROM {schema}.conversation_summaries WHERE status = 'ok' "
            "ORDER BY message_count DESC, day, conversation_id LIMIT 1"
        )
        for row in busiest.itertuples():
            lines += [
                "",
                f"busiest conversation-day ({row.day:%Y-%m-%d}, {row.message_count} messages, "
                f"{row.summary_language}, summarized by {row.provider}):",
                *textwrap.wrap(
                    str(row.summary), width=88, initial_indent="  ", subsequent_indent="  "
                ),
            ]
    lines += [
        "",
        f"analysts' copy: {location}",
        'paste into `.venv/bin/wareader sql "..."`, the DuckDB CLI or any SQL client:',
        "",
        ANALYST_QUERY.format(schema=warehouse.db_schema),
        "",
    ]
    return "\n".join(lines)
