"""The e-mail backends against real local servers: outbox files, SMTP, SES (moto), SendGrid."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from wareader_pipelines.archives.notice import ExportNotice
from wareader_pipelines.resources.email import EmailDeliveryError, EmailNotifier
from wareader_pipelines_tests.servers.aws import MotoServer
from wareader_pipelines_tests.servers.http_recorder import HttpRecorder
from wareader_pipelines_tests.servers.smtp import SMTP_PASSWORD, SMTP_USERNAME, SmtpServer

LINK = "https://archives.example.org/conv-1/2024-05.zip?X-Amz-Signature=abc&X-Amz-Expires=604800"
NOTICE = ExportNotice(
    conversation_id="conv-1",
    conversation_name="Family",
    period="2024-05",
    uri="s3://bucket/archives/conv-1/2024-05.zip",
    download_url=LINK,
    expires_at=datetime(2024, 6, 8, 3, 0, tzinfo=UTC),
    sha256="cd" * 32,
    bytes=2048,
    message_count=4,
    summary_count=2,
)


def _parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


def test_recipients_per_conversation_else_default_else_none() -> None:
    notifier = EmailNotifier(
        recipients_json=json.dumps({"conv-1": ["ana@example.org", "Ben <ben@example.org>"]}),
        default_recipients="ops@example.org, audit@example.org",
    )
    assert notifier.recipients_for("conv-1") == ["ana@example.org", "ben@example.org"]
    assert notifier.recipients_for("conv-2") == ["ops@example.org", "audit@example.org"]
    assert EmailNotifier().recipients_for("conv-1") == []


def test_outbox_writes_an_eml_the_standard_library_parses(tmp_path: Path) -> None:
    notifier = EmailNotifier(outbox_dir=str(tmp_path / "outbox"))

    sent = notifier.send_notice(NOTICE, recipients=["ana@example.org"])

    files = list((tmp_path / "outbox").glob("*.eml"))
    assert [str(f) for f in files] == [sent.location]
    raw = files[0].read_bytes()
    assert b"\r\n" in raw  # SMTP line endings, as a mail client expects
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == "ana@example.org"
    assert message["Subject"] == NOTICE.subject
    assert message["Message-ID"] == sent.message_id
    assert message.get_content_type() == "multipart/alternative"
    plain, html = _parts(message)
    assert LINK in plain and "2024-06-08 03:00 UTC" in plain
    assert LINK.replace("&", "&amp;") in html and "2024-06-08 03:00 UTC" in html
    assert message.defects == []


def test_smtp_sends_over_starttls_with_login(smtp_server: SmtpServer) -> None:
    notifier = EmailNotifier(
        backend="smtp",
        sender="wareader <noreply@example.org>",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_username=SMTP_USERNAME,
        smtp_password=SMTP_PASSWORD,
        smtp_ca_file=smtp_server.ca_file,
        timeout_seconds=10,
    )

    notifier.send_notice(NOTICE, recipients=["ana@example.org", "ben@example.org"])

    assert smtp_server.logins == [SMTP_USERNAME]
    [envelope] = smtp_server.received
    assert envelope.mail_from == "noreply@example.org"
    assert envelope.rcpt_tos == ["ana@example.org", "ben@example.org"]
    message = message_from_bytes(envelope.original_content, policy=policy.default)
    plain, html = _parts(message)  # type: ignore[arg-type]
    assert LINK in plain and LINK.replace("&", "&amp;") in html


def test_smtp_with_a_wrong_password_fails(smtp_server: SmtpServer) -> None:
    notifier = EmailNotifier(
        backend="smtp",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_username=SMTP_USERNAME,
        smtp_password="wrong",
        smtp_ca_file=smtp_server.ca_file,
    )
    with pytest.raises(Exception, match=r"535|uthentication"):
        notifier.send_notice(NOTICE, recipients=["ana@example.org"])
    assert smtp_server.received == []


@pytest.mark.usefixtures("aws_credentials")
def test_ses_v2_sends_the_notice(moto_server: MotoServer) -> None:
    ses = moto_server.client("ses")
    ses.verify_email_identity(EmailAddress="noreply@example.org")  # as SES itself requires
    before = ses.get_send_quota()["SentLast24Hours"]
    notifier = EmailNotifier(
        backend="ses", sender="noreply@example.org", ses_endpoint_url=moto_server.endpoint_url
    )

    sent = notifier.send_notice(NOTICE, recipients=["ana@example.org"])

    assert sent.location.startswith("ses:") and len(sent.location) > len("ses:")
    assert ses.get_send_quota()["SentLast24Hours"] == before + 1


def test_sendgrid_uses_the_export_ready_template_and_retries(http_recorder: HttpRecorder) -> None:
    http_recorder.script = [429, 202]
    http_recorder.default_status = 202
    http_recorder.extra_headers = {"Retry-After": "0", "X-Message-Id": "sg-1"}
    notifier = EmailNotifier(
        backend="sendgrid",
        sender="wareader <noreply@example.org>",
        sendgrid_api_key="SG.test-key",
        sendgrid_base_url=http_recorder.base_url,
        sendgrid_template_id="d-0987654321fedcba",
    )

    sent = notifier.send_notice(NOTICE, recipients=["ana@example.org"])

    assert sent.location == "sendgrid:sg-1"
    assert len(http_recorder.requests) == 2
    request = http_recorder.requests[-1]
    assert request.path == "/v3/mail/send"
    assert request.headers["authorization"] == "Bearer SG.test-key"
    payload = request.json()
    assert payload["template_id"] == "d-0987654321fedcba"
    assert payload["from"] == {"email": "noreply@example.org", "name": "wareader"}
    [personalization] = payload["personalizations"]
    assert personalization["to"] == [{"email": "ana@example.org"}]
    assert personalization["dynamic_template_data"]["download_url"] == LINK
    assert personalization["dynamic_template_data"]["expires_at"] == "2024-06-08T03:00:00Z"


def test_sendgrid_without_template_sends_text_and_html(http_recorder: HttpRecorder) -> None:
    http_recorder.default_status = 202
    notifier = EmailNotifier(
        backend="sendgrid", sendgrid_api_key="k", sendgrid_base_url=http_recorder.base_url
    )
    notifier.send_notice(NOTICE, recipients=["ana@example.org"])
    payload = http_recorder.requests[0].json()
    assert [c["type"] for c in payload["content"]] == ["text/plain", "text/html"]
    assert LINK in payload["content"][0]["value"]


def test_sendgrid_refusal_is_an_error(http_recorder: HttpRecorder) -> None:
    http_recorder.default_status = 401
    notifier = EmailNotifier(
        backend="sendgrid", sendgrid_api_key="bad", sendgrid_base_url=http_recorder.base_url
    )
    with pytest.raises(EmailDeliveryError, match="401"):
        notifier.send_notice(NOTICE, recipients=["ana@example.org"])
    assert len(http_recorder.requests) == 1  # a 401 is not retried
