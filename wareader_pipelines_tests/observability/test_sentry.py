"""Errors reach Sentry, scrubbed: the real SDK sends envelopes to a loopback server."""

import logging
from collections.abc import Iterator

import dagster as dg
import pytest
import sentry_sdk

from wareader_pipelines.defs.monitoring.sensors import SENSOR_NAME, sentry_run_failures
from wareader_pipelines.lib.partitions import daily_partitions
from wareader_pipelines.observability import sentry
from wareader_pipelines_tests.servers.sentry import SentryIngest

TOKEN = "EAAGm0PX4ZCpsBAKZAtoken1234567890"
PHONE = "+55 11 91234-5678"
TEXT = "Olá Maria, liga pra mim amanhã"


@pytest.fixture
def reporting(
    sentry_ingest: SentryIngest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SentryIngest]:
    """The SDK configured from the environment, pointed at the loopback ingest; reset after."""
    monkeypatch.setenv("SENTRY_DSN", sentry_ingest.dsn)
    monkeypatch.setenv("WA_ACCESS_TOKEN", TOKEN)
    assert sentry.configure_from_environment(component="test") is True
    try:
        yield sentry_ingest
    finally:
        sentry_sdk.get_client().close(timeout=2)
        sentry_sdk.get_global_scope().set_client(None)


def _sent(ingest: SentryIngest) -> str:
    sentry.flush()
    return b"\n".join(ingest.raw).decode("utf-8")


def test_nothing_is_configured_without_a_dsn() -> None:
    assert sentry.configure_from_environment({}) is False


def test_a_logged_error_arrives_without_secret_phone_or_text(reporting: SentryIngest) -> None:
    try:
        raise ValueError(f"cannot parse {TEXT!r} from {PHONE} with token {TOKEN}")
    except ValueError:
        logging.getLogger("wareader.test").exception("webhook body rejected for %s", PHONE)

    sent = _sent(reporting)
    [event] = reporting.events()
    assert event["level"] == "error"
    assert event["tags"]["component"] == "test"
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert "cannot parse [redacted] from [PHONE] with token [redacted]" in sent
    for leaked in (TOKEN, "91234", "Maria", "amanhã"):
        assert leaked not in sent


def test_a_failed_run_is_reported_with_run_asset_and_partition(reporting: SentryIngest) -> None:
    @dg.asset(partitions_def=daily_partitions)
    def cleaned_messages() -> None:
        raise RuntimeError(f"bad line {TEXT!r} from {PHONE}")

    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [cleaned_messages], partition_key="2024-05-13", instance=instance, raise_on_error=False
        )
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        [failure] = [e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE"]
        context = dg.build_run_status_sensor_context(
            sensor_name=SENSOR_NAME,
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=run,
        ).for_run_failure()
        sentry_run_failures(running=True)(context)

    sent = _sent(reporting)
    # One event for the run: Dagster's own failure log lines in the run are not sent again.
    # (Other tests' background servers may log meanwhile: look only at this run's events.)
    [report] = [e for e in reporting.events() if e.get("tags", {}).get("run_id") == result.run_id]
    assert not any("Execution of step" in str(e.get("logentry")) for e in reporting.events())
    assert report["tags"]["asset"] == "cleaned_messages"
    assert report["tags"]["partition"] == "2024-05-13"
    assert report["tags"]["step"] == "cleaned_messages"
    assert report["message"].startswith("RuntimeError in cleaned_messages: bad line [redacted]")
    assert any("in cleaned_messages" in frame for frame in report["contexts"]["failure"]["frames"])
    for leaked in ("91234", "Maria", "amanhã"):
        assert leaked not in sent


def test_the_sensor_is_stopped_unless_sentry_is_configured() -> None:
    assert sentry_run_failures(running=False).default_status == dg.DefaultSensorStatus.STOPPED
    assert sentry_run_failures(running=True).default_status == dg.DefaultSensorStatus.RUNNING


def test_a_sensor_logging_an_error_reaches_sentry_scrubbed(reporting: SentryIngest) -> None:
    @dg.sensor(target="*")
    def new_exports(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        context.log.error(f"could not read export of {PHONE}: {TEXT!r}")
        return dg.SkipReason("unreadable export")

    with dg.instance_for_test() as instance:
        new_exports(dg.build_sensor_context(instance=instance))

    sent = _sent(reporting)
    assert reporting.events()
    assert all(
        "could not read export of [PHONE]: [redacted]" in e["logentry"]["message"]
        or "could not read export of [PHONE]: [redacted]" in e.get("message", "")
        for e in reporting.events()
    )
    for leaked in ("91234", "Maria"):
        assert leaked not in sent


def test_a_receiver_that_cannot_store_reports_without_the_body(
    reporting: SentryIngest, tmp_path
) -> None:
    import asyncio

    import httpx

    from wareader_pipelines.resources.landing_zone import LandingZone
    from wareader_pipelines.webhook_receiver.app import create_app
    from wareader_pipelines.webhook_receiver.settings import ReceiverSettings
    from wareader_pipelines.webhook_receiver.signature import sign

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the landing folder should be")
    settings = ReceiverSettings(landing_uri=str(blocker), app_secret="app-secret", verify_token="t")
    app = create_app(settings, zone=LandingZone(uri=str(blocker)))
    body = f'{{"entry":[{{"text":{{"body":"{TEXT} {PHONE}"}}}}]}}'.encode()

    async def post() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
            answer = await client.post(
                "/webhook", content=body, headers={"x-hub-signature-256": sign(body, b"app-secret")}
            )
        app.store.close()
        return answer.status_code

    assert asyncio.run(post()) == 503
    sent = _sent(reporting)
    assert any(
        "could not store a verified webhook body" in str(e.get("logentry"))
        for e in reporting.events()
    )
    for leaked in ("91234", "Maria", "app-secret"):
        assert leaked not in sent
