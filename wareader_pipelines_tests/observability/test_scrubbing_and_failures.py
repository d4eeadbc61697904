"""The pure rules behind error reports: what is scrubbed, and how a failed run is tagged."""

from wareader_pipelines.observability.failures import StepError, failure_reports, frames_of
from wareader_pipelines.observability.scrubbing import scrub_event, secret_values


def test_secret_values_come_from_secret_looking_variables_only() -> None:
    env = {
        "WA_APP_SECRET": "abcdef123",
        "OPENAI_API_KEY": "sk-xyz987",
        "HOME": "/root",
        "X_TOKEN": "a",
    }
    assert secret_values(env) == ["abcdef123", "sk-xyz987"]


def test_an_event_keeps_ids_and_frames_but_loses_text_and_secrets() -> None:
    event = {
        "event_id": "0" * 32,
        "timestamp": "2024-05-13T10:11:12.123456Z",
        "message": 'parse failed on "Oi, tudo bem?" for joao@example.com',
        "logentry": {"message": "sent to %s", "params": ["+44 7911 123456"]},
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": "token sk-xyz987 refused for 5511987654321",
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": "a.py",
                                "lineno": 3,
                                "function": "f",
                                "context_line": 'text = "Oi"',
                                "vars": {"text": "Oi"},
                            }
                        ]
                    },
                }
            ]
        },
        "request": {"data": "body"},
        "extra": {"body": "Oi"},
        "contexts": {"runtime": {"version": "3.11.9"}, "auth": {"api_key": "k"}},
        "tags": {"partition": "2024-05-13", "run_id": "6ca4f05a-95a1-4d64-a0c0-8d1211b7a9e4"},
    }

    clean = scrub_event(event, ["sk-xyz987"])

    assert clean["event_id"] == "0" * 32 and clean["timestamp"] == "2024-05-13T10:11:12.123456Z"
    assert clean["message"] == "parse failed on [redacted] for [EMAIL]"
    assert clean["logentry"] == {"message": "sent to %s"}
    assert clean["exception"]["values"][0]["value"] == "token [redacted] refused for [PHONE]"
    assert clean["exception"]["values"][0]["stacktrace"]["frames"] == [
        {"filename": "a.py", "lineno": 3, "function": "f"}
    ]
    assert "request" not in clean and "extra" not in clean
    assert clean["contexts"] == {
        "runtime": {"version": "3.11.9"},
        "auth": {"api_key": "[redacted]"},
    }
    assert clean["tags"] == event["tags"]


def test_a_ranged_run_reports_each_failed_step_with_its_asset() -> None:
    stack = [
        '  File "/app/x.py", line 12, in cleaned_messages\n    raise ValueError("Oi")\n',
    ]
    reports = failure_reports(
        run_id="r1",
        job_name="daily",
        run_tags={
            "dagster/asset_partition_range_start": "2024-05-01",
            "dagster/asset_partition_range_end": "2024-05-31",
        },
        asset_selection=["raw_messages", "cleaned_messages"],
        run_message="run failed",
        step_errors=[StepError("cleaned_messages", "bad", "ValueError", stack)],
    )
    [report] = reports
    assert report.tags == {
        "run_id": "r1",
        "job": "daily",
        "partition": "2024-05-01...2024-05-31",
        "asset": "cleaned_messages",
        "step": "cleaned_messages",
    }
    assert report.stack == ["/app/x.py:12 in cleaned_messages"]
    assert frames_of(stack) == report.stack


def test_a_run_that_failed_before_any_step_is_still_reported() -> None:
    [report] = failure_reports(
        run_id="r2",
        job_name="j",
        run_tags={"dagster/partition": "2024-05-13"},
        asset_selection=["raw_messages"],
        run_message="could not launch",
        step_errors=[],
    )
    assert report.message == "could not launch"
    assert report.tags["asset"] == "raw_messages" and report.tags["partition"] == "2024-05-13"
