"""Webhook signatures and notice texts."""

from __future__ import annotations

from datetime import UTC, datetime

from wareader_pipelines.archives.notice import ExportNotice, event_body
from wareader_pipelines.archives.webhook_signature import signature, signed_headers, verify

NOTICE = ExportNotice(
    conversation_id="conv-1",
    conversation_name="Family <&>",
    period="2024-05",
    uri="s3://b/archives/conv-1/2024-05.zip",
    download_url="https://b.s3.amazonaws.com/x?X-Amz-Signature=abc&a=1",
    expires_at=datetime(2024, 6, 8, 3, 0, tzinfo=UTC),
    sha256="ab" * 32,
    bytes=1234,
    message_count=4,
    summary_count=2,
)


def test_signature_verifies_only_the_exact_body_and_recent_timestamps() -> None:
    body = event_body(NOTICE.webhook_event())
    headers = signed_headers(body, secret="s3cret", timestamp=1_700_000_000)
    sig = headers["X-Wareader-Signature"]

    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    ok = {"secret": "s3cret", "timestamp": "1700000000", "received_signature": sig}
    assert verify(body, now=1_700_000_100, **ok)
    assert not verify(body + b" ", now=1_700_000_100, **ok)
    assert not verify(body, now=1_700_001_000, **ok)  # too old: replay
    assert not verify(body, now=1_700_000_100, **(ok | {"secret": "other"}))
    assert signature(body, secret="s3cret", timestamp=1) != sig


def test_notice_texts_carry_the_link_and_expiry() -> None:
    assert NOTICE.download_url in NOTICE.text_body()
    assert "2024-06-08 03:00 UTC" in NOTICE.text_body()
    html = NOTICE.html_body()
    assert 'href="https://b.s3.amazonaws.com/x?X-Amz-Signature=abc&amp;a=1"' in html
    assert "Family &lt;&amp;&gt;" in html
    event = NOTICE.webhook_event()
    assert event["type"] == "export.completed"
    assert event["data"]["counts"] == {"messages": 4, "summaries": 2}  # type: ignore[index]
