"""The WhatsApp Cloud API (Meta Graph API) over httpx: media downloads and number metadata.

Messages themselves never come from here (the Cloud API has no history
endpoint; they arrive as webhooks). What the pipeline needs is the media a
message points to, fetched within the 7 days its id lives, and the business
number's own metadata. Every call goes through one client-side rate limit,
has timeouts, and retries throttling and server errors with backoff that
honours `Retry-After`; an expired token fails at once with the fix in words.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from wareader_pipelines.lib.rate_limit import RateLimiter
from wareader_pipelines.lib.retrying import retry_after_seconds, wait_before_retry
from wareader_pipelines.observability import telemetry
from wareader_pipelines.resources.shared_rate_limit import (
    Limit,
    SharedCallLimiter,
    SharedRateLimiter,
)
from wareader_pipelines.whatsapp_api.errors import (
    TOKEN_FIX,
    GraphError,
    MediaIntegrityError,
    WhatsAppAPIError,
    WhatsAppTokenExpiredError,
    graph_error_of,
    is_expired_token,
    is_retryable,
)

DEFAULT_API_VERSION = "v23.0"
PHONE_NUMBER_FIELDS = (
    "display_phone_number,verified_name,quality_rating,code_verification_status,"
    "name_status,platform_type,throughput,messaging_limit_tier"
)
BUSINESS_PROFILE_FIELDS = "about,address,description,email,profile_picture_url,websites,vertical"

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What `GET /{media-id}` says: a short-lived download URL and the file's facts."""

    media_id: str
    url: str
    mime_type: str | None
    sha256: str | None
    file_size: int | None


@dataclass(frozen=True, slots=True)
class DownloadedMedia:
    """Media bytes whose sha256 has been checked."""

    media_id: str
    content: bytes
    mime_type: str | None
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


class WhatsAppCloudAPI(ConfigurableResource):
    """The Graph API for one WhatsApp Business number; needs WA_ACCESS_TOKEN to do anything."""

    access_token: str | None = Field(
        default=None,
        description="Bearer token (WA_ACCESS_TOKEN); without it media download is skipped.",
    )
    phone_number_id: str | None = Field(
        default=None, description="The business number's id (WA_PHONE_NUMBER_ID)."
    )
    api_version: str = Field(
        default=DEFAULT_API_VERSION, description="Graph API version (WA_GRAPH_API_VERSION)."
    )
    base_url: str = Field(
        default="https://graph.facebook.com", description="Graph API root; tests point it locally."
    )
    calls_per_minute: int = Field(
        default=4000, gt=0, description="Client-side rate limit per phone number (Meta: 4,000/min)."
    )
    calls_per_hour: int = Field(
        default=200_000,
        gt=0,
        description="Hourly limit per phone number (Meta: 200,000/h); "
        "counted only with `rate_limit_url`.",
    )
    rate_limit_url: str | None = Field(
        default=None,
        description="PostgreSQL URL where the per-number limits are counted for every process "
        "together (WAREADER_RATE_LIMIT_URL); empty: per process.",
    )
    timeout_seconds: float = Field(default=30.0, gt=0, description="Timeout of each HTTP call.")
    max_retries: int = Field(
        default=5, ge=0, description="Retries of a throttled or failed call before giving up."
    )
    backoff_base_seconds: float = Field(
        default=1.0, ge=0, description="First backoff when no Retry-After is given; doubles."
    )
    backoff_max_seconds: float = Field(default=60.0, ge=0, description="Longest single wait.")
    max_media_bytes: int = Field(
        default=100 * 1024 * 1024, gt=0, description="Refuse media larger than this."
    )

    _client: httpx.Client | None = PrivateAttr(default=None)
    _limiter: RateLimiter | SharedCallLimiter | None = PrivateAttr(default=None)

    @property
    def is_configured(self) -> bool:
        """Whether a token is set (the embedded default has none)."""
        return bool(self.access_token)

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections (and the shared limiter's database connection)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if isinstance(self._limiter, SharedCallLimiter):
            self._limiter.shared.close()
            self._limiter = None

    def media_info(self, *, media_id: str) -> MediaInfo:
        """Step one of a download: the short-lived URL and the file's facts."""
        data = self._get_json(self._graph_url(media_id))
        return MediaInfo(
            media_id=media_id,
            url=str(data["url"]),
            mime_type=data.get("mime_type"),
            sha256=data.get("sha256"),
            file_size=int(data["file_size"]) if data.get("file_size") is not None else None,
        )

    def download_media(
        self, *, media_id: str, expected_sha256: str | None = None
    ) -> DownloadedMedia:
        """The media's bytes, verified against the payload's sha256 (and Meta's own)."""
        info = self.media_info(media_id=media_id)
        if info.file_size is not None and info.file_size > self.max_media_bytes:
            raise WhatsAppAPIError(
                f"media {media_id} is {info.file_size} bytes, over max_media_bytes "
                f"({self.max_media_bytes})"
            )
        response = self._request("GET", info.url)
        content = response.content
        digest = hashlib.sha256(content).hexdigest()
        for claimed, source in ((expected_sha256, "webhook payload"), (info.sha256, "Graph API")):
            if claimed and claimed.lower() != digest:
                raise MediaIntegrityError(
                    f"media {media_id}: downloaded bytes have sha256 {digest}, the {source} "
                    f"says {claimed}; the file was not stored"
                )
        return DownloadedMedia(
            media_id=media_id,
            content=content,
            mime_type=info.mime_type or response.headers.get("content-type"),
            sha256=digest,
        )

    def phone_number(self, *, phone_number_id: str | None = None) -> dict[str, Any]:
        """The business number's metadata: display number, verified name, quality, limits."""
        number = self._number(phone_number_id)
        return self._get_json(self._graph_url(number), params={"fields": PHONE_NUMBER_FIELDS})

    def business_profile(self, *, phone_number_id: str | None = None) -> dict[str, Any]:
        """The business profile shown to customers (about, address, websites...)."""
        number = self._number(phone_number_id)
        data = self._get_json(
            self._graph_url(f"{number}/whatsapp_business_profile"),
            params={"fields": BUSINESS_PROFILE_FIELDS},
        )
        profiles = data.get("data") or [{}]
        return dict(profiles[0])

    def _number(self, phone_number_id: str | None) -> str:
        number = phone_number_id or self.phone_number_id
        if not number:
            raise WhatsAppAPIError("no phone number id: set WA_PHONE_NUMBER_ID")
        return number

    def _graph_url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/{self.api_version}/{path.lstrip('/')}"

    def _get_json(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        payload = self._request("GET", url, params=params).json()
        if not isinstance(payload, dict):
            raise WhatsAppAPIError(f"unexpected Graph API answer from {_path_of(url)}")
        return payload

    def _http(self) -> httpx.Client:
        if not self.access_token:
            raise WhatsAppAPIError("no WhatsApp access token: set WA_ACCESS_TOKEN")
        if self._client is None:
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.timeout_seconds),
                headers={"Authorization": f"Bearer {self.access_token}"},
                follow_redirects=False,
            )
        return self._client

    def _rate_limiter(self) -> RateLimiter | SharedCallLimiter:
        if self._limiter is None:
            if self.rate_limit_url:
                # Meta's rates are per phone number, whichever process calls: count them together.
                self._limiter = SharedCallLimiter(
                    SharedRateLimiter(
                        self.rate_limit_url,
                        f"whatsapp:{self.phone_number_id or 'app'}",
                        [
                            Limit("requests", self.calls_per_minute, 60.0),
                            Limit("requests", self.calls_per_hour, 3600.0),
                        ],
                    )
                )
            else:
                # One sliding window with no margin: the limit as Meta states it.
                self._limiter = RateLimiter(
                    requests_per_window=self.calls_per_minute, safety_seconds=0.0, slices=1
                )
        return self._limiter

    def _request(
        self, method: str, url: str, params: dict[str, str] | None = None
    ) -> httpx.Response:
        """One call with rate limit, retries and backoff; raises WhatsAppAPIError on failure."""
        client = self._http()
        last: GraphError | None = None
        for attempt in range(self.max_retries + 1):
            self._rate_limiter().acquire()
            try:
                response = self._traced_request(client, method, url, params)
            except httpx.TransportError as error:
                last = GraphError(599, None, None, f"{type(error).__name__}: {error}", None)
                wait = None
            else:
                if response.is_success:
                    return response
                last = graph_error_of(response.status_code, response.content)
                if is_expired_token(last):
                    raise WhatsAppTokenExpiredError(TOKEN_FIX, last)
                if not is_retryable(last):
                    raise WhatsAppAPIError(
                        f"Graph API refused {method} {_path_of(url)}: {last.describe()}", last
                    )
                wait = retry_after_seconds(response.headers)
            if attempt == self.max_retries:
                break
            wait = wait_before_retry(
                attempt + 1,
                retry_after=wait,
                base=self.backoff_base_seconds,
                cap=self.backoff_max_seconds,
            )
            logger.warning(
                "Graph API %s %s: %s; retry %d/%d in %.1f s",
                method,
                _path_of(url),
                last.describe(),
                attempt + 1,
                self.max_retries,
                wait,
            )
            time.sleep(wait)
        assert last is not None
        raise WhatsAppAPIError(
            f"Graph API {method} {_path_of(url)} still failing after {self.max_retries} retries: "
            f"{last.describe()}",
            last,
        )

    def _traced_request(
        self, client: httpx.Client, method: str, url: str, params: dict[str, str] | None
    ) -> httpx.Response:
        """One HTTP exchange, traced and counted by status (599 when no answer came)."""
        recorder = telemetry.current()
        route = _route_of(url)
        started = time.perf_counter()
        status = 599
        try:
            with recorder.span(
                "graph_api.request", {"http.method": method, "url.route": route}
            ) as span:
                response = client.request(method, url, params=params)
                status = response.status_code
                span.set_attribute("http.status_code", status)
                return response
        finally:
            attributes = {"method": method, "route": route, "status": status}
            recorder.graph_requests.add(1, attributes)
            recorder.graph_duration.record(time.perf_counter() - started, attributes)


def _route_of(url: str) -> str:
    """The URL's path with ids replaced, so metrics do not get one series per media id."""
    path = _path_of(url).split("://", 1)[-1]
    path = path.split("/", 1)[1] if "/" in path else ""
    parts = [
        "{id}" if any(char.isdigit() for char in part) and not part.startswith("v") else part
        for part in path.split("/")
    ]
    return "/" + "/".join(parts)


def _path_of(url: str) -> str:
    """The URL without its query: media URLs carry signed parameters that must not be logged."""
    return url.split("?", 1)[0]
