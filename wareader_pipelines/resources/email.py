"""E-mail of export-ready notices, by one of four backends chosen in configuration.

`outbox` (the default) writes `.eml` files a person can open, so the sample run
needs no mail server; `smtp`, `ses` (SESv2) and `sendgrid` (v3 HTTP API) send them.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Literal

import boto3
import httpx
from botocore.config import Config
from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from wareader_pipelines.archives.notice import ExportNotice
from wareader_pipelines.lib.retrying import (
    is_retryable_status,
    retry_after_seconds,
    wait_before_retry,
)
from wareader_pipelines.resources.shared_rate_limit import Limit, SharedRateLimiter

EmailBackend = Literal["outbox", "smtp", "ses", "sendgrid"]
# SendGrid retries: half a second doubling up to 30 s, or what its Retry-After asks (capped).
_SENDGRID_BACKOFF = {"base": 0.5, "cap": 30.0}


@dataclass(frozen=True, slots=True)
class SentEmail:
    """A notice that left (or, for the outbox, was written)."""

    backend: str
    recipients: tuple[str, ...]
    message_id: str
    location: str  # outbox file, SMTP host, SES message id or SendGrid message id


class EmailDeliveryError(RuntimeError):
    """The backend refused the notice or could not be reached after retries."""


class EmailNotifier(ConfigurableResource):
    """Sends export-ready notices to each conversation's recipients."""

    backend: EmailBackend = Field(default="outbox", description="outbox, smtp, ses or sendgrid.")
    sender: str = Field(
        default="wareader <noreply@wareader.localhost>", description="From address (SMTP_FROM)."
    )
    recipients_json: str = Field(
        default="{}",
        description='Recipients per conversation id as JSON: {"<conversation_id>": ["a@x.org"]}.',
    )
    default_recipients: str = Field(
        default="",
        description="Comma-separated addresses for conversations without their own; empty: none.",
    )
    outbox_dir: str = Field(default="./data/outbox", description="Folder of the outbox backend.")
    smtp_host: str = Field(default="localhost", description="SMTP server.")
    smtp_port: int = Field(default=587, description="SMTP port (587 for STARTTLS).")
    smtp_username: str = Field(default="", description="SMTP login; empty: no login.")
    smtp_password: str = Field(default="", description="SMTP password (secret).")
    smtp_starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS.")
    smtp_ca_file: str = Field(
        default="", description="CA bundle to trust for the SMTP server; empty: system CAs."
    )
    ses_region: str = Field(default="us-east-1", description="AWS region of SES.")
    ses_endpoint_url: str = Field(default="", description="SES endpoint override; empty: AWS.")
    sendgrid_api_key: str = Field(default="", description="SendGrid API key (secret).")
    sendgrid_base_url: str = Field(
        default="https://api.sendgrid.com", description="SendGrid API root."
    )
    sendgrid_per_second: int = Field(
        default=100, gt=0, description="SendGrid's sending rate (100/s on the seed's plan)."
    )
    rate_limit_url: str | None = Field(
        default=None,
        description="PostgreSQL URL where SendGrid's rate is counted for every process "
        "together (WAREADER_RATE_LIMIT_URL); empty: not limited client-side.",
    )
    sendgrid_template_id: str = Field(
        default="",
        description="Dynamic template id of `export_ready`; empty: send our own text and HTML.",
    )
    timeout_seconds: float = Field(default=30.0, description="Per-request timeout.")
    max_attempts: int = Field(default=4, description="Tries per notice, the first included.")

    _shared_limiter: SharedRateLimiter | None = PrivateAttr(default=None)

    def recipients_for(self, conversation_id: str) -> list[str]:
        """The addresses to notify for a conversation: its own, else the default ones."""
        configured = json.loads(self.recipients_json or "{}")
        if not isinstance(configured, dict):
            raise ValueError("recipients_json must be a JSON object of conversation id to list")
        own = configured.get(conversation_id)
        if isinstance(own, str):
            own = [own]
        chosen = own if own else [self.default_recipients] if self.default_recipients else []
        return [address for _, address in getaddresses(chosen) if address]

    def send_notice(self, notice: ExportNotice, *, recipients: list[str]) -> SentEmail:
        """Send `notice` to `recipients` by the configured backend."""
        if not recipients:
            raise ValueError("no recipients")
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "wareader.localhost"
        message = notice.email(
            sender=self.sender, recipients=recipients, sent_at=datetime.now(UTC), domain=domain
        )
        message_id = str(message["Message-ID"])
        if self.backend == "outbox":
            location = self._write_outbox(message, notice)
        elif self.backend == "smtp":
            location = self._send_smtp(message)
        elif self.backend == "ses":
            location = self._send_ses(notice, recipients)
        elif self.backend == "sendgrid":
            location = self._send_sendgrid(notice, recipients)
        else:  # pragma: no cover - pydantic refuses other values
            raise ValueError(f"unknown e-mail backend {self.backend!r}")
        return SentEmail(self.backend, tuple(recipients), message_id, location)

    def _write_outbox(self, message: EmailMessage, notice: ExportNotice) -> str:
        folder = Path(self.outbox_dir)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = folder / f"{stamp}_{notice.period}_{notice.sha256[:12]}.eml"
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(message.as_bytes(policy=SMTP))
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return str(target)

    def _send_smtp(self, message: EmailMessage) -> str:
        with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=self.timeout_seconds) as smtp:
            smtp.ehlo()
            if self.smtp_starttls:
                context = ssl.create_default_context(cafile=self.smtp_ca_file or None)
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.smtp_username:
                smtp.login(self.smtp_username, self.smtp_password)
            refused = smtp.send_message(message)
        if refused:
            raise EmailDeliveryError(f"SMTP server refused {len(refused)} recipients")
        return f"smtp://{self.smtp_host}:{self.smtp_port}"

    def _send_ses(self, notice: ExportNotice, recipients: list[str]) -> str:
        client = boto3.client(
            "sesv2",
            region_name=self.ses_region,
            endpoint_url=self.ses_endpoint_url or None,
            config=Config(
                retries={"max_attempts": self.max_attempts, "mode": "standard"},
                connect_timeout=self.timeout_seconds,
                read_timeout=self.timeout_seconds,
            ),
        )
        # Simple content: SES builds the MIME itself (text and HTML alternatives).
        response = client.send_email(
            FromEmailAddress=self.sender,
            Destination={"ToAddresses": recipients},
            Content={
                "Simple": {
                    "Subject": {"Data": notice.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": notice.text_body(), "Charset": "UTF-8"},
                        "Html": {"Data": notice.html_body(), "Charset": "UTF-8"},
                    },
                }
            },
        )
        return f"ses:{response['MessageId']}"

    def _sendgrid_limiter(self) -> SharedRateLimiter:
        if self._shared_limiter is None:
            assert self.rate_limit_url
            self._shared_limiter = SharedRateLimiter(
                self.rate_limit_url, "sendgrid", [Limit("emails", self.sendgrid_per_second, 1.0)]
            )
        return self._shared_limiter

    def _send_sendgrid(self, notice: ExportNotice, recipients: list[str]) -> str:
        name, address = parseaddr(self.sender)
        payload: dict[str, object] = {
            "from": {"email": address, **({"name": name} if name else {})},
            "personalizations": [{"to": [{"email": r} for r in recipients]}],
        }
        if self.sendgrid_template_id:
            payload["template_id"] = self.sendgrid_template_id
            payload["personalizations"][0]["dynamic_template_data"] = notice.template_data()  # type: ignore[index]
        else:
            payload["subject"] = notice.subject
            payload["content"] = [
                {"type": "text/plain", "value": notice.text_body()},
                {"type": "text/html", "value": notice.html_body()},
            ]
        url = self.sendgrid_base_url.rstrip("/") + "/v3/mail/send"
        headers = {"Authorization": f"Bearer {self.sendgrid_api_key}"}
        with httpx.Client(timeout=self.timeout_seconds) as client:
            for attempt in range(1, max(self.max_attempts, 1) + 1):
                if self.rate_limit_url:
                    # One message per recipient counts against the account's rate.
                    self._sendgrid_limiter().acquire({"emails": len(recipients)})
                try:
                    response = client.post(url, json=payload, headers=headers)
                except httpx.HTTPError as failure:
                    if attempt == self.max_attempts:
                        raise EmailDeliveryError(f"SendGrid unreachable: {failure!r}") from failure
                    time.sleep(wait_before_retry(attempt, retry_after=None, **_SENDGRID_BACKOFF))
                    continue
                if response.status_code == 202:
                    return f"sendgrid:{response.headers.get('X-Message-Id', '')}"
                if not is_retryable_status(response.status_code) or attempt == self.max_attempts:
                    break
                time.sleep(
                    wait_before_retry(
                        attempt,
                        retry_after=retry_after_seconds(response.headers),
                        **_SENDGRID_BACKOFF,
                    )
                )
        raise EmailDeliveryError(
            f"SendGrid answered HTTP {response.status_code}: {response.text[:200]}"
        )
