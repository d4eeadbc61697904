"""The gateway's configuration: upstreams, the session key, providers and the allow-list.

Read from the environment once at start. The provider variables are the integration
document's names (`GOOGLE_CLIENT_ID`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, ...); a
generic `OIDC_*` provider covers Keycloak, Okta or any other OpenID Connect issuer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

GOOGLE_METADATA_URL = "https://accounts.google.com/.well-known/openid-configuration"
ENTRA_METADATA_URL = (
    "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"
)


@dataclass(frozen=True)
class Provider:
    """One OpenID Connect provider: its discovery document and this app's client."""

    name: str
    title: str
    metadata_url: str
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class AllowList:
    """Who may sign in: whole e-mail domains and single addresses (lower-cased)."""

    domains: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()

    def admits(self, email: str) -> bool:
        address = email.strip().lower()
        if "@" not in address:
            return False
        return address in self.emails or address.rsplit("@", 1)[1] in self.domains


@dataclass(frozen=True)
class GatewaySettings:
    """Everything the gateway needs; the session secret never prints."""

    upstream_url: str
    session_secret: str = field(repr=False)
    providers: tuple[Provider, ...]
    allowed: AllowList
    receiver_url: str | None = None
    session_hours: float = 12.0
    secure_cookies: bool = True
    public_url: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> GatewaySettings:
        env = os.environ if environ is None else environ
        providers = providers_from_environ(env)
        allowed = AllowList(
            domains=_set_of(env.get("WAREADER_GATEWAY_ALLOWED_DOMAINS")),
            emails=_set_of(env.get("WAREADER_GATEWAY_ALLOWED_EMAILS")),
        )
        problems = []
        if (
            not env.get("WAREADER_GATEWAY_SESSION_SECRET")
            or len(env["WAREADER_GATEWAY_SESSION_SECRET"]) < 32
        ):
            problems.append("WAREADER_GATEWAY_SESSION_SECRET (32+ random characters)")
        if not providers:
            problems.append(
                "a provider (GOOGLE_CLIENT_ID/SECRET, AZURE_CLIENT_ID/SECRET/TENANT_ID or OIDC_*)"
            )
        if not allowed.domains and not allowed.emails:
            problems.append("WAREADER_GATEWAY_ALLOWED_DOMAINS or WAREADER_GATEWAY_ALLOWED_EMAILS")
        if problems:
            raise ValueError("the sign-in gateway needs " + "; ".join(problems))
        return cls(
            upstream_url=env.get("WAREADER_GATEWAY_UPSTREAM") or "http://127.0.0.1:3000",
            session_secret=env["WAREADER_GATEWAY_SESSION_SECRET"],
            providers=providers,
            allowed=allowed,
            receiver_url=env.get("WAREADER_GATEWAY_RECEIVER_URL") or None,
            session_hours=float(env.get("WAREADER_GATEWAY_SESSION_HOURS") or 12),
            secure_cookies=(env.get("WAREADER_GATEWAY_SECURE_COOKIES") or "true").lower()
            != "false",
            public_url=env.get("WAREADER_GATEWAY_PUBLIC_URL") or None,
        )


def providers_from_environ(env: Mapping[str, str]) -> tuple[Provider, ...]:
    """Google, Microsoft Entra ID and a generic OIDC issuer, each when its client is set."""
    providers = []
    if env.get("GOOGLE_CLIENT_ID") and env.get("GOOGLE_CLIENT_SECRET"):
        providers.append(
            Provider(
                "google",
                "Google",
                GOOGLE_METADATA_URL,
                env["GOOGLE_CLIENT_ID"],
                env["GOOGLE_CLIENT_SECRET"],
            )
        )
    if env.get("AZURE_CLIENT_ID") and env.get("AZURE_CLIENT_SECRET"):
        tenant = env.get("AZURE_TENANT_ID")
        if not tenant:
            # "common" discovery names a templated issuer that no token matches: one tenant only.
            raise ValueError("AZURE_TENANT_ID is required for Microsoft sign-in (the directory id)")
        providers.append(
            Provider(
                "microsoft",
                "Microsoft",
                ENTRA_METADATA_URL.format(tenant=tenant),
                env["AZURE_CLIENT_ID"],
                env["AZURE_CLIENT_SECRET"],
            )
        )
    if env.get("OIDC_ISSUER_URL") and env.get("OIDC_CLIENT_ID"):
        issuer = env["OIDC_ISSUER_URL"].rstrip("/")
        providers.append(
            Provider(
                "oidc",
                env.get("OIDC_TITLE") or "single sign-on",
                issuer + "/.well-known/openid-configuration",
                env["OIDC_CLIENT_ID"],
                env.get("OIDC_CLIENT_SECRET", ""),
            )
        )
    return tuple(providers)


def _set_of(text: str | None) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in (text or "").split(",") if part.strip())
