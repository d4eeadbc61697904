"""Monitoring switched on from the environment: Sentry for errors, OpenTelemetry for the rest.

Loading the code location starts the Sentry SDK when `SENTRY_DSN` is set and the OTLP
exporters when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; both stay off otherwise. Failed
runs reach Sentry through the `sentry_run_failures` sensor, one event per failed step
tagged with the run id, job, asset and partition.
"""

from __future__ import annotations

import dagster as dg

from wareader_pipelines.observability import sentry, telemetry
from wareader_pipelines.observability.failures import StepError, failure_reports

SENSOR_NAME = "sentry_run_failures"
DESCRIPTION = (
    "Sends every failed run to Sentry (one event per failed step, tagged with run id, job, "
    "asset and partition; no secrets or message text). Starts running by itself when "
    "SENTRY_DSN is set."
)


def report_run_failure(context: dg.RunFailureSensorContext) -> None:
    """Send the failed run's steps to Sentry (the SDK drops everything when it is off)."""
    run = context.dagster_run
    reports = failure_reports(
        run_id=run.run_id,
        job_name=run.job_name,
        run_tags=run.tags,
        asset_selection=[key.to_user_string() for key in run.asset_selection or ()],
        run_message=context.failure_event.message or "run failed",
        step_errors=[step_error_of(event) for event in context.get_step_failure_events()],
    )
    for report in reports:
        sentry.report_failure(
            message=report.message,
            error_type=report.error_type,
            stack=report.stack,
            tags=report.tags,
        )
    sentry.flush()
    context.log.info(f"reported {len(reports)} failure(s) of run {context.dagster_run.run_id}")


def step_error_of(event: dg.DagsterEvent) -> StepError:
    """The failed step's key and its root error (Dagster wraps the user's exception)."""
    error = event.step_failure_data.error
    while error is not None and error.cause is not None:
        error = error.cause
    message = error.message.strip() if error else (event.message or "step failed")
    if error is not None and message.startswith(f"{error.cls_name}: "):
        message = message[len(error.cls_name) + 2 :]
    return StepError(
        step_key=event.step_key,
        message=message,
        error_type=error.cls_name if error else None,
        stack=list(error.stack) if error else [],
    )


@dg.definitions
def monitoring() -> dg.Definitions:
    reporting = sentry.configure_from_environment(component="pipelines")
    telemetry.configure_from_environment()
    return dg.Definitions(sensors=[sentry_run_failures(running=reporting)])


def sentry_run_failures(*, running: bool) -> dg.SensorDefinition:
    """The failure sensor, running by default only when Sentry is configured."""
    return dg.run_failure_sensor(
        name=SENSOR_NAME,
        description=DESCRIPTION,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING
        if running
        else dg.DefaultSensorStatus.STOPPED,
    )(report_run_failure)
