"""The export-ready notice: the e-mail (plain text and HTML) and the `export.completed`
webhook event, built from one description of a finished archive."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

EXPORT_COMPLETED = "export.completed"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class ExportNotice:
    """What the people and systems told about an archive need to know."""

    conversation_id: str
    conversation_name: str
    period: str
    uri: str
    download_url: str
    expires_at: datetime
    sha256: str
    bytes: int
    message_count: int
    summary_count: int

    @property
    def subject(self) -> str:
        return f"Your WhatsApp archive of {self.conversation_name} for {self.period} is ready"

    @property
    def expires_text(self) -> str:
        return self.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def text_body(self) -> str:
        """The plain-text e-mail."""
        return (
            f"The archive of the conversation {self.conversation_name} for {self.period} is ready.\n"
            f"\n"
            f"Download it here (the link works until {self.expires_text}):\n"
            f"{self.download_url}\n"
            f"\n"
            f"It holds {self.message_count} messages and {self.summary_count} day summaries "
            f"({self.bytes} bytes, sha256 {self.sha256}).\n"
            f"\n"
            f"-- wareader-pipelines\n"
        )

    def html_body(self) -> str:
        """The HTML e-mail: the same facts, with the link as a link."""
        e = html.escape
        return (
            "<!DOCTYPE html>\n<html><body>\n"
            f"<p>The archive of the conversation <strong>{e(self.conversation_name)}</strong> "
            f"for {e(self.period)} is ready.</p>\n"
            f'<p><a href="{e(self.download_url, quote=True)}">Download the archive</a> '
            f"(the link works until {e(self.expires_text)}).</p>\n"
            f"<p>It holds {self.message_count} messages and {self.summary_count} day summaries "
            f"({self.bytes} bytes, sha256 <code>{e(self.sha256)}</code>).</p>\n"
            "</body></html>\n"
        )

    def template_data(self) -> dict[str, object]:
        """Variables for a provider's dynamic template (SendGrid's `export_ready`)."""
        return {
            "conversation_name": self.conversation_name,
            "period": self.period,
            "download_url": self.download_url,
            "expires_at": _iso(self.expires_at),
            "expiry_time": self.expires_text,
            "message_count": self.message_count,
            "summary_count": self.summary_count,
            "sha256": self.sha256,
        }

    def email(
        self, *, sender: str, recipients: list[str], sent_at: datetime, domain: str
    ) -> EmailMessage:
        """A standards-conforming multipart/alternative message (RFC 5322 / MIME)."""
        message = EmailMessage()
        message["Subject"] = self.subject
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        message["Date"] = format_datetime(sent_at.astimezone(UTC))
        message["Message-ID"] = make_msgid(domain=domain)
        message["X-Wareader-Archive"] = self.uri
        message.set_content(self.text_body())
        message.add_alternative(self.html_body(), subtype="html")
        return message

    def webhook_event(self) -> dict[str, object]:
        """The `export.completed` event; its id is the same for the same archive."""
        return {
            "id": f"{self.conversation_id}/{self.period}/{self.sha256}",
            "type": EXPORT_COMPLETED,
            "data": {
                "conversation_id": self.conversation_id,
                "period": self.period,
                "uri": self.uri,
                "sha256": self.sha256,
                "bytes": self.bytes,
                "counts": {"messages": self.message_count, "summaries": self.summary_count},
                "download_url": self.download_url,
                "download_url_expires_at": _iso(self.expires_at),
            },
        }


def event_body(event: dict[str, object]) -> bytes:
    """The exact bytes sent and signed: compact, keys sorted, UTF-8."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
