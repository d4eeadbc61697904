"""The summary a person reads after a run: what each table holds and how to query it."""

from __future__ import annotations

import textwrap

from wareader_pipelines.lib.tables import MARTS_SCHEMA
from wareader_pipelines.resources.warehouse import Warehouse

REPORTED_TABLES = (
    "raw_messages",
    "message_statuses",
    "api_errors",
    "quarantine",
    "cleaned_messages",
    "message_sentiment",
    "conversation_summaries",
    "conversation_archives",
    "message_media",
)

BUSINESS_SUMMARY = """
SELECT m.business_number_id,
       sum(m.inbound_messages) AS inbound, sum(m.outbound_messages) AS outbound,
       sum(m.delivered_pct * m.outbound_messages) / nullif(sum(m.outbound_messages), 0)
           AS delivered_pct,
       sum(m.read_pct * m.outbound_messages) / nullif(sum(m.outbound_messages), 0) AS read_pct,
       sum(m.failed_messages) AS failed, sum(m.estimated_cost_usd) AS cost,
       sum(m.opt_outs) AS opt_outs, max(r.customers) AS customers,
       max(r.median_seconds) AS median_seconds, max(r.sla_met_pct) AS sla_met_pct
FROM {schema}.daily_business_metrics AS m
LEFT JOIN (
    SELECT business_number_id, count(DISTINCT customer_id) AS customers,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY response_seconds) AS median_seconds,
           100.0 * sum(CASE WHEN sla_met THEN 1 ELSE 0 END) / nullif(count(sla_met), 0)
               AS sla_met_pct
    FROM {schema}.fct_first_responses GROUP BY business_number_id
) AS r ON r.business_number_id = m.business_number_id
GROUP BY m.business_number_id ORDER BY inbound DESC, m.business_number_id"""

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
    lines += _business_lines(warehouse)
    lines += [
        "",
        f"analysts' copy: {location}",
        'paste into `.venv/bin/wareader sql "..."`, the DuckDB CLI or any SQL client:',
        "",
        ANALYST_QUERY.format(schema=warehouse.db_schema),
        "",
    ]
    return "\n".join(lines)


def _business_lines(warehouse: Warehouse) -> list[str]:
    """One line per business number from the business marts, when they were built."""
    marts = Warehouse(url=warehouse.url, db_schema=MARTS_SCHEMA)
    if not (
        marts.table_exists("daily_business_metrics") and marts.table_exists("fct_first_responses")
    ):
        return []
    lines = ["", "business messaging (dbt marts daily_business_metrics, fct_first_responses):"]
    for row in marts.query(BUSINESS_SUMMARY).itertuples():
        response = (
            f"median first response {row.median_seconds / 60:.0f} min, "
            f"SLA met {row.sla_met_pct:.0f}%"
            if row.median_seconds == row.median_seconds and row.median_seconds is not None
            else "no answered turns"
        )
        delivery = (
            f"{row.delivered_pct:.0f}% delivered, {row.read_pct:.0f}% read"
            if row.outbound
            else "nothing sent"
        )
        lines.append(
            f"  number {row.business_number_id}: {int(row.customers or 0)} customers, "
            f"{int(row.inbound)} in / {int(row.outbound)} out ({delivery}, "
            f"{int(row.failed)} failed), {response}, {int(row.opt_outs)} opt-outs, "
            f"estimated cost ${row.cost:.2f}"
        )
    return lines
