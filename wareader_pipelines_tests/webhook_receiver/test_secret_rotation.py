"""Rotating WA_APP_SECRET: both secrets verify during the grace period, only the new after."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.webhook_receiver.app import create_app
from wareader_pipelines.webhook_receiver.settings import ReceiverSettings
from wareader_pipelines.webhook_receiver.signature import sign

NEW, OLD = "new-app-secret-2", "old-app-secret-1"
BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def _statuses(settings: ReceiverSettings, tmp_path: Path, secrets: list[str]) -> list[int]:
    app = create_app(settings, zone=LandingZone(uri=str(tmp_path / "landing")))

    async def post_all() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
            answers = [
                await client.post(
                    "/webhook",
                    content=BODY,
                    headers={"x-hub-signature-256": sign(BODY, secret.encode())},
                )
                for secret in secrets
            ]
        app.store.close()
        return [answer.status_code for answer in answers]

    statuses = asyncio.run(post_all())
    used = app.metrics.previous_secret_used._value.get()
    assert used == sum(1 for s, st in zip(secrets, statuses, strict=True) if s == OLD and st == 200)
    return statuses


def _settings(tmp_path: Path, env: dict[str, str]) -> ReceiverSettings:
    return ReceiverSettings.from_environ(
        {"WA_APP_SECRET": NEW, "WA_WEBHOOK_TOKEN": "t", "WAREADER_DATA_DIR": str(tmp_path), **env}
    )


def test_the_previous_secret_verifies_during_the_grace_period(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {"WA_APP_SECRET_PREVIOUS": OLD})
    assert settings.previous_secret_until is not None
    hours = (settings.previous_secret_until - datetime.now(UTC)) / timedelta(hours=1)
    assert 23.9 < hours <= 24
    assert _statuses(settings, tmp_path, [NEW, OLD, "someone-else"]) == [200, 200, 401]


def test_the_previous_secret_is_refused_once_the_grace_period_is_over(tmp_path: Path) -> None:
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    settings = _settings(
        tmp_path, {"WA_APP_SECRET_PREVIOUS": OLD, "WA_APP_SECRET_PREVIOUS_UNTIL": past}
    )
    assert _statuses(settings, tmp_path, [NEW, OLD]) == [200, 401]


def test_without_a_previous_secret_only_the_current_one_verifies(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {"WAREADER_SECRET_GRACE_HOURS": "48"})
    assert settings.previous_app_secret is None
    assert _statuses(settings, tmp_path, [NEW, OLD]) == [200, 401]


def test_the_grace_period_is_configurable_and_a_bad_deadline_is_named(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, {"WA_APP_SECRET_PREVIOUS": OLD, "WAREADER_SECRET_GRACE_HOURS": "2"}
    )
    assert settings.previous_secret_until is not None
    assert settings.previous_secret_until - datetime.now(UTC) < timedelta(hours=2, seconds=1)
    with pytest.raises(ValueError, match="WA_APP_SECRET_PREVIOUS_UNTIL"):
        _settings(tmp_path, {"WA_APP_SECRET_PREVIOUS": OLD, "WA_APP_SECRET_PREVIOUS_UNTIL": "soon"})
    assert "old-app-secret" not in repr(settings)
