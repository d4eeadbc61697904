"""Error reports to Sentry when `SENTRY_DSN` is set; nothing at all when it is not.

`configure_from_environment` is called once per process (the code location's
definitions, the webhook receiver): unhandled exceptions and log records at ERROR
level become events. Every event passes `scrub_event` first, the SDK is told to
collect no personal data, headers, bodies, local variables or source lines
(`data_collection`), and there are
no breadcrumbs (they would replay log lines). Failed runs are reported by the
`sentry_run_failures` sensor with the run id, job, asset and partition as tags.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration

from wareader_pipelines.observability.scrubbing import scrub_event, secret_values

# The SDK collects none of these itself; `scrub_event` cleans what remains.
NOTHING_PERSONAL: dict[str, Any] = {
    "user_info": False,
    "cookies": {"mode": "off"},
    "http_headers": {"request": {"mode": "off"}},
    "http_bodies": [],
    "url_query_params": {"mode": "off"},
    "graphql": {"document": False, "variables": False},
    "gen_ai": {"inputs": False, "outputs": False},
    "database_query_data": False,
    "queues": False,
    "stack_frame_variables": False,
    "frame_context_lines": 0,
}


def configure_from_environment(
    environ: Mapping[str, str] | None = None, *, component: str = "pipelines"
) -> bool:
    """Start the SDK when `SENTRY_DSN` is set; returns whether it did.

    `SENTRY_ENVIRONMENT` and `SENTRY_RELEASE` are the SDK's own variables;
    `component` becomes a tag so receiver and pipeline errors can be told apart.
    """
    env = os.environ if environ is None else environ
    dsn = env.get("SENTRY_DSN")
    if not dsn:
        return False
    secrets = secret_values(env)

    def before_send(event: Any, hint: Any) -> Any:
        if reported_by_the_failure_sensor((hint or {}).get("log_record")):
            return None
        return scrub_event(event, secrets)

    sentry_sdk.init(
        dsn=dsn,
        environment=env.get("SENTRY_ENVIRONMENT") or "production",
        release=env.get("SENTRY_RELEASE") or None,
        data_collection=NOTHING_PERSONAL,
        max_breadcrumbs=0,
        before_send=before_send,
        before_send_transaction=before_send,
        integrations=[LoggingIntegration(level=None, event_level=logging.ERROR)],
        traces_sample_rate=0.0,
    )
    sentry_sdk.set_tag("component", component)
    return True


# Dagster's own log lines about a failed step or run: `sentry_run_failures` reports those
# once, with tags, so the copies logged inside the run's process are not sent again.
_FAILURE_EVENTS = {"STEP_FAILURE", "PIPELINE_FAILURE", "RUN_FAILURE"}
_FAILURE_LINES = ('Execution of step "', 'Execution of run for "')


def reported_by_the_failure_sensor(record: logging.LogRecord | None) -> bool:
    """Whether a log record is Dagster announcing a step or run failure."""
    if record is None or record.name.split(".")[0] != "dagster":
        return False
    meta = getattr(record, "dagster_meta", None)
    event = meta.get("dagster_event") if isinstance(meta, dict) else None
    if event is not None and getattr(event, "event_type_value", None) in _FAILURE_EVENTS:
        return True
    return str(record.msg).startswith(_FAILURE_LINES)


def report_failure(
    *,
    message: str,
    error_type: str | None,
    stack: list[str] | None,
    tags: Mapping[str, str],
) -> str | None:
    """Send one error event about something that failed elsewhere (a run, a step).

    The failure arrives already serialized (Dagster's error info), so it is sent as a
    message event with the error class as its fingerprint and the stack as text; the
    SDK's `before_send` scrubs it like any other event. Returns the event id.
    """
    if not sentry_sdk.get_client().is_active():
        return None
    with sentry_sdk.new_scope() as scope:
        for key, value in tags.items():
            scope.set_tag(key, value)
        scope.fingerprint = ["{{ default }}", error_type or "failure", tags.get("job", "")]
        scope.set_context("failure", {"error_type": error_type, "frames": stack or []})
        return sentry_sdk.capture_message(message, level="error")


def flush(timeout: float = 5.0) -> None:
    """Send what is queued (sensors and short-lived processes end before the transport)."""
    client = sentry_sdk.get_client()
    if client.is_active():
        client.flush(timeout=timeout)
