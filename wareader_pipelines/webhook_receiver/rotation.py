"""Rotating `WA_APP_SECRET` without downtime: the previous secret verifies for a while.

Meta signs every POST with the one app secret it has. Changing it in the Meta app and
on the receivers cannot happen at the same instant, so receivers are first restarted
with the new secret and the old one as `WA_APP_SECRET_PREVIOUS`; bodies signed with
either verify until the grace period ends, after which only the new one does.
"""

from __future__ import annotations

from dataclasses import dataclass

from wareader_pipelines.webhook_receiver.settings import ReceiverSettings
from wareader_pipelines.webhook_receiver.signature import signature_is_valid


@dataclass(frozen=True)
class PreviousSecret:
    """The secret a rotation replaced and the moment (epoch seconds) it stops verifying."""

    secret: bytes = b""
    until: float = 0.0

    def verifies(self, body: bytes, header: str, now: float) -> bool:
        """Whether `header` signs `body` with the previous secret, inside the grace period."""
        return (
            bool(self.secret) and now < self.until and signature_is_valid(body, header, self.secret)
        )


def previous_secret_of(settings: ReceiverSettings) -> PreviousSecret:
    """The settings' previous secret, or one that verifies nothing."""
    if settings.previous_app_secret is None or settings.previous_secret_until is None:
        return PreviousSecret()
    return PreviousSecret(
        settings.previous_app_secret.get_secret_value().encode("utf-8"),
        settings.previous_secret_until.timestamp(),
    )
