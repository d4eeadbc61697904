"""The Cloud API resource against a local server playing the Graph API, and its pure rules."""

from __future__ import annotations

import hashlib

import pytest

from wareader_pipelines.resources.whatsapp import WhatsAppCloudAPI
from wareader_pipelines.whatsapp_api.errors import (
    MediaIntegrityError,
    WhatsAppAPIError,
    WhatsAppTokenExpiredError,
    graph_error_of,
    is_retryable,
)
from wareader_pipelines_tests.servers.graph_api import (
    GRAPH_TOKEN,
    PHONE_NUMBER_ID,
    FakeGraphAPI,
    ScriptedAnswer,
)

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


def _api(fake: FakeGraphAPI, **overrides: object) -> WhatsAppCloudAPI:
    settings: dict[str, object] = {
        "access_token": GRAPH_TOKEN,
        "phone_number_id": PHONE_NUMBER_ID,
        "base_url": fake.base_url,
        "backoff_base_seconds": 0.01,
        "max_retries": 3,
        **overrides,
    }
    return WhatsAppCloudAPI(**settings)


def _throttled(code: int) -> ScriptedAnswer:
    return ScriptedAnswer(
        400,
        {"error": {"message": "Rate limit hit", "type": "OAuthException", "code": code}},
        {"retry-after": "0"},
    )


def test_media_download_is_two_steps_with_the_same_token(graph_api: FakeGraphAPI) -> None:
    digest = graph_api.add_media("1234567890", JPEG, "image/jpeg")
    media = _api(graph_api).download_media(media_id="1234567890", expected_sha256=digest)
    assert (media.content, media.mime_type, media.sha256, media.size) == (
        JPEG,
        "image/jpeg",
        digest,
        len(JPEG),
    )
    assert graph_api.paths() == ["/v23.0/1234567890", "/lookaside/1234567890"]
    assert {auth for _, _, auth in graph_api.requests} == {f"Bearer {GRAPH_TOKEN}"}


def test_bytes_that_do_not_match_the_payload_sha256_are_rejected(graph_api: FakeGraphAPI) -> None:
    graph_api.add_media("555", JPEG, "image/jpeg")
    with pytest.raises(MediaIntegrityError, match="webhook payload"):
        _api(graph_api).download_media(media_id="555", expected_sha256="ab" * 32)


def test_bytes_that_do_not_match_the_graph_sha256_are_rejected(graph_api: FakeGraphAPI) -> None:
    graph_api.add_media("556", JPEG, "image/jpeg", sha256=hashlib.sha256(b"other").hexdigest())
    with pytest.raises(MediaIntegrityError, match="Graph API"):
        _api(graph_api).download_media(media_id="556")


def test_429_and_throttling_codes_are_retried(graph_api: FakeGraphAPI) -> None:
    graph_api.add_media("777", JPEG, "image/jpeg")
    graph_api.fail_next(
        "/v23.0/777",
        ScriptedAnswer(429, "slow down", {"retry-after": "0"}),
        _throttled(130429),
        ScriptedAnswer(503, "unavailable"),
    )
    graph_api.fail_next("/lookaside/777", _throttled(80007))
    media = _api(graph_api).download_media(media_id="777")
    assert media.content == JPEG
    assert graph_api.paths().count("/v23.0/777") == 4
    assert graph_api.paths().count("/lookaside/777") == 2


def test_retries_are_bounded(graph_api: FakeGraphAPI) -> None:
    graph_api.fail_next("/v23.0/888", *[_throttled(4) for _ in range(10)])
    with pytest.raises(WhatsAppAPIError, match="after 2 retries"):
        _api(graph_api, max_retries=2).media_info(media_id="888")
    assert graph_api.paths().count("/v23.0/888") == 3


def test_expired_token_fails_at_once_naming_the_fix(graph_api: FakeGraphAPI) -> None:
    graph_api.fail_next(
        "/v23.0/999",
        ScriptedAnswer(
            401,
            {
                "error": {
                    "message": "Error validating access token: Session has expired",
                    "type": "OAuthException",
                    "code": 190,
                    "error_subcode": 463,
                }
            },
        ),
    )
    with pytest.raises(WhatsAppTokenExpiredError) as raised:
        _api(graph_api).media_info(media_id="999")
    assert "WA_ACCESS_TOKEN" in str(raised.value)
    assert GRAPH_TOKEN not in str(raised.value)
    assert graph_api.paths() == ["/v23.0/999"]  # no retry


def test_other_errors_are_not_retried(graph_api: FakeGraphAPI) -> None:
    with pytest.raises(WhatsAppAPIError, match="code 100/33"):
        _api(graph_api).media_info(media_id="expired-id")
    assert len(graph_api.requests) == 1


def test_phone_number_and_business_profile(graph_api: FakeGraphAPI) -> None:
    api = _api(graph_api)
    assert api.phone_number()["verified_name"] == "Wareader Test Shop"
    assert api.business_profile()["vertical"] == "RETAIL"


def test_without_a_token_nothing_is_called() -> None:
    api = WhatsAppCloudAPI()
    assert not api.is_configured
    with pytest.raises(WhatsAppAPIError, match="WA_ACCESS_TOKEN"):
        api.media_info(media_id="1")


def test_graph_error_rules() -> None:
    throttled = graph_error_of(400, b'{"error": {"code": 131056, "message": "pair rate"}}')
    assert is_retryable(throttled)
    assert not is_retryable(graph_error_of(400, b'{"error": {"code": 100}}'))
    assert is_retryable(graph_error_of(502, b"<html>bad gateway</html>"))
    assert graph_error_of(502, b"<html>bad gateway</html>").message == "<html>bad gateway</html>"
    assert is_retryable(graph_error_of(503, b""))
    assert not is_retryable(graph_error_of(404, b'{"error": {"code": 803}}'))
