"""The nightly sync: the last complete UTC day of every daily asset, media included."""

import os

import dagster as dg

from wareader_pipelines.defs.automation.jobs import daily_pipeline_job
from wareader_pipelines.landing.run_planning import last_complete_day

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"


def nightly_schedule(cron: str, timezone: str) -> dg.ScheduleDefinition:
    """The nightly schedule firing at `cron` in `timezone` (IANA)."""

    @dg.schedule(
        name="nightly_sync",
        cron_schedule=cron,
        execution_timezone=timezone,
        job=daily_pipeline_job,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=(
            "Every night, materializes the last complete UTC day of every daily asset "
            "(ingestion, media within its 7-day window, enrichment, summaries)."
        ),
    )
    def nightly_sync(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = last_complete_day(context.scheduled_execution_time).isoformat()
        return dg.RunRequest(
            run_key=f"nightly:{day}", partition_key=day, tags={"wareader/trigger": "nightly"}
        )

    return nightly_sync


@dg.definitions
def nightly() -> dg.Definitions:
    """Time and zone are deployment settings (WAREADER_NIGHTLY_CRON, WAREADER_NIGHTLY_TIMEZONE)."""
    return dg.Definitions(
        schedules=[
            nightly_schedule(
                os.environ.get("WAREADER_NIGHTLY_CRON") or DEFAULT_CRON,
                os.environ.get("WAREADER_NIGHTLY_TIMEZONE") or DEFAULT_TIMEZONE,
            )
        ]
    )
