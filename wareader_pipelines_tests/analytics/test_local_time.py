"""One business time zone for every local figure: no mart or report reads a UTC day, week,
month or hour where the message's local zone is meant.

The numbers themselves are checked on both warehouses in test_dbt_marts.py (São Paulo days,
weeks and hours of the sample's export); this test keeps new SQL from slipping back to UTC.
"""

import re
from datetime import UTC, datetime
from pathlib import Path

from wareader_pipelines.defs.analytics.project import DBT_DIR
from wareader_pipelines.reports import mart_queries

# A time read in a fixed zone, or a date cut from sent_at without a zone.
UTC_READ = re.compile(r"at\s+time\s+zone\s+'UTC'", re.IGNORECASE)
# The UTC readings that are meant, each with its reason: (file, the line's text).
UTC_ON_PURPOSE = {
    # the Dagster partition of a message (pipeline tables are partitioned by UTC day)
    ("staging/stg_messages.sql", "cast(cleaned.sent_at at time zone 'UTC' as date) as sent_date,"),
    # Meta's rate cards change on UTC dates
    (
        "business/fct_outbound_messages.sql",
        "and rates.effective_from <= cast(charged.sent_at at time zone 'UTC' as date)",
    ),
}


def _utc_readings(root: Path) -> set[tuple[str, str]]:
    found = set()
    for path in sorted(root.rglob("*.sql")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if UTC_READ.search(line) and not line.strip().startswith("--"):
                found.add((path.relative_to(root).as_posix(), line.strip()))
    return found


def test_no_mart_reads_a_utc_day_week_month_or_hour_but_the_partitions() -> None:
    assert _utc_readings(DBT_DIR / "models") == UTC_ON_PURPOSE


def test_local_figures_come_from_the_one_zone_rule() -> None:
    # every model that cuts a local day, week, month or hour reads stg_messages' local columns
    # (macros/sessions.sql local_timezone), or the business number's zone for webhook marts
    models = DBT_DIR / "models"
    for name in ("daily_conversation_metrics", "activity_heatmap", "sentiment_by_week"):
        text = (models / "marts" / f"{name}.sql").read_text(encoding="utf-8")
        assert "local_date" in text or "local_timezone" in text, name
    for name in ("daily_business_metrics", "fct_first_responses", "dim_opt_outs"):
        text = (models / "business" / f"{name}.sql").read_text(encoding="utf-8")
        assert "business_timezone()" in text, name
    hours = (models / "business" / "int_business_hours.sql").read_text(encoding="utf-8")
    assert "business_timezone()" in hours and 'var("business_timezone")' not in hours


def test_the_reports_read_local_days_and_months() -> None:
    may, june = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)
    for sql in (
        mart_queries.month_messages(may, june),
        mart_queries.month_replies(may, june),
        mart_queries.month_emoji(may, june),
        mart_queries.ACCOUNT_BY_MONTH,
    ):
        assert "local_date" in sql and not UTC_READ.search(sql), sql
