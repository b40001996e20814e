"""OAuth2 for mailboxes on Google Workspace and Microsoft 365: the providers, the
sign-in URL (authorization code with PKCE and `state`), and the token endpoint calls
through authlib's async client over httpx, with failures sorted into what a manager
(or the operator) can act on.

Nothing here touches the database: app/inboxes/grants.py keeps the tokens, and
app/inboxes/connect.py runs the sign-in.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx2
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from app.core.clock import clock
from app.core.config import Settings

TOKEN_TIMEOUT_SECONDS = 15.0
# A provider that leaves expires_in out: assume the usual hour.
DEFAULT_LIFETIME = timedelta(hours=1)

GOOGLE_SCOPES = ("https://mail.google.com/",)
MICROSOFT_SCOPES = (
    "https://outlook.office.com/IMAP.AccessAsUser.All",
    "https://outlook.office.com/SMTP.Send",
    "offline_access",
)


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    security: str


@dataclass(frozen=True)
class Provider:
    name: str  # google | microsoft
    label: str
    client_id: str
    client_secret: str | None = field(repr=False)
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    imap: Server
    smtp: Server
    # Sent with the sign-in: always let the person choose the account, never take the
    # one signed in already silently (and Google: ask again, so a refresh token comes).
    authorize_params: dict[str, str]
    admin_consent_url: str | None = None


class ProviderNotConfigured(Exception):
    """The operator has not registered the app with this provider."""


class OAuthFailure(Exception):
    """A token endpoint call failed. `status` says what it means for the inbox:

    - `reconnect_needed`: the grant is revoked, expired or otherwise dead; only a new
      sign-in helps, retrying stops.
    - `consent_required`: the provider wants (an administrator's) consent first.
    - `retrying`: the provider could not be reached or failed; try again later.
    - `app_rejected`: the provider refuses the app itself (its client id or secret,
      its registration): the operator's to fix; tried again later.
    """

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Tokens:
    access_token: str = field(repr=False)
    # None when the provider kept the refresh token it had (Google usually does).
    refresh_token: str | None = field(repr=False)
    expires_at: datetime
    scopes: str


def providers(settings: Settings) -> dict[str, Provider]:
    """The providers the operator configured, by name."""
    found: dict[str, Provider] = {}
    if settings.GOOGLE_OAUTH_CLIENT_ID:
        found["google"] = Provider(
            name="google",
            label="Google",
            client_id=settings.GOOGLE_OAUTH_CLIENT_ID,
            client_secret=settings.GOOGLE_OAUTH_CLIENT_SECRET,
            authorize_url=settings.GOOGLE_OAUTH_AUTHORIZE_URL,
            token_url=settings.GOOGLE_OAUTH_TOKEN_URL,
            scopes=GOOGLE_SCOPES,
            imap=Server("imap.gmail.com", 993, "ssl"),
            smtp=Server("smtp.gmail.com", 465, "ssl"),
            authorize_params={
                "prompt": "select_account consent",
                "access_type": "offline",
            },
        )
    if settings.MICROSOFT_OAUTH_CLIENT_ID:
        authority = f"{settings.MICROSOFT_OAUTH_AUTHORITY.rstrip('/')}"
        tenant = settings.MICROSOFT_OAUTH_TENANT
        consent_query = urlencode(
            {
                "client_id": settings.MICROSOFT_OAUTH_CLIENT_ID,
                "scope": " ".join(s for s in MICROSOFT_SCOPES if s != "offline_access"),
                "redirect_uri": redirect_uri(settings),
            }
        )
        # "common" cannot take an administrator's consent: it must name the tenant,
        # which the administrator's own sign-in picks under "organizations".
        consent_tenant = "organizations" if tenant == "common" else tenant
        found["microsoft"] = Provider(
            name="microsoft",
            label="Microsoft 365",
            client_id=settings.MICROSOFT_OAUTH_CLIENT_ID,
            client_secret=settings.MICROSOFT_OAUTH_CLIENT_SECRET,
            authorize_url=f"{authority}/{tenant}/oauth2/v2.0/authorize",
            token_url=f"{authority}/{tenant}/oauth2/v2.0/token",
            scopes=MICROSOFT_SCOPES,
            imap=Server("outlook.office365.com", 993, "ssl"),
            smtp=Server("smtp.office365.com", 587, "starttls"),
            authorize_params={"prompt": "select_account"},
            admin_consent_url=f"{authority}/{consent_tenant}/v2.0/adminconsent?{consent_query}",
        )
    return found


def provider(settings: Settings, name: str) -> Provider:
    found = providers(settings).get(name)
    if found is None:
        raise ProviderNotConfigured(name)
    return found


def redirect_uri(settings: Settings) -> str:
    """Where the providers send the browser back: registered with each of them."""
    return f"{settings.PUBLIC_BASE_URL}/api/v1/inboxes/oauth2/callback"


def _client(provider: Provider, settings: Settings) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        # The secret in the form body: what both providers document.
        token_endpoint_auth_method="client_secret_post",
        scope=" ".join(provider.scopes),
        redirect_uri=redirect_uri(settings),
        code_challenge_method="S256",
        timeout=TOKEN_TIMEOUT_SECONDS,
    )


def authorization_url(
    provider: Provider,
    settings: Settings,
    *,
    state: str,
    code_verifier: str,
    login_hint: str | None = None,
) -> str:
    """The provider's sign-in page for this request (code flow, PKCE S256, state)."""
    extra: dict[str, Any] = dict(provider.authorize_params)
    if login_hint:
        extra["login_hint"] = login_hint
    client = _client(provider, settings)
    url, _ = client.create_authorization_url(
        provider.authorize_url, state=state, code_verifier=code_verifier, **extra
    )
    return str(url)


def _tokens(provider: Provider, answer: dict[str, Any]) -> Tokens:
    access = answer.get("access_token")
    if not isinstance(access, str) or not access:
        raise OAuthFailure(f"{provider.label} answered without an access token.", status="retrying")
    refresh = answer.get("refresh_token")
    lifetime = answer.get("expires_in")
    try:
        expires = timedelta(seconds=float(lifetime)) if lifetime is not None else DEFAULT_LIFETIME
    except (TypeError, ValueError):
        expires = DEFAULT_LIFETIME
    scope = answer.get("scope")
    return Tokens(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=clock.now() + expires,
        scopes=scope if isinstance(scope, str) else " ".join(provider.scopes),
    )


CONSENT_MARKERS = ("AADSTS65001", "AADSTS90094", "consent_required", "admin_policy_enforced")
# A redirect URI or client the provider does not know: the registration is wrong.
REGISTRATION_MARKERS = (
    "AADSTS50011",  # redirect URI not registered
    "AADSTS700016",  # no such app in the tenant
    "AADSTS7000215",  # wrong client secret
    "AADSTS7000222",  # the client secret expired
    "redirect_uri_mismatch",
)


def describe(provider: Provider, error: str, description: str | None) -> OAuthFailure:
    """An error the provider named (`invalid_grant`, …) in a manager's words."""
    text = f"{error} {description or ''}"
    label = provider.label
    if any(marker in text for marker in CONSENT_MARKERS) or error == "interaction_required":
        how = (
            f" An administrator can grant it for the whole organisation: "
            f"{provider.admin_consent_url}"
            if provider.admin_consent_url
            else " Ask your Google Workspace administrator to allow the app."
        )
        return OAuthFailure(
            f"{label} wants consent before this app may use the mailbox.{how}",
            status="consent_required",
        )
    if error in ("temporarily_unavailable", "server_error", "slow_down"):
        return OAuthFailure(f"{label} is not answering properly ({error}).", status="retrying")
    if error in ("invalid_client", "unauthorized_client"):
        return OAuthFailure(
            f"{label} does not accept this app's client id or secret: the operator must "
            "check its OAuth settings.",
            status="app_rejected",
        )
    if error == "access_denied":
        return OAuthFailure(
            f"The sign-in at {label} was cancelled or refused.", status="reconnect_needed"
        )
    if error != "invalid_grant" or any(m in text for m in REGISTRATION_MARKERS):
        # The app's request itself is wrong: the operator's registration, not the grant.
        return OAuthFailure(
            f"{label} refused the app's request ({error}: {(description or '')[:200]}): the "
            "operator must check the app's registration (redirect URI, permissions).",
            status="app_rejected",
        )
    return OAuthFailure(
        f"{label} no longer accepts this inbox's sign-in (it was revoked, expired or the "
        "account's password changed): reconnect the inbox to sign in again.",
        status="reconnect_needed",
    )


def _failure(provider: Provider, exc: Exception) -> OAuthFailure:
    if isinstance(exc, OAuthFailure):
        return exc
    if isinstance(exc, OAuthError):
        return describe(provider, str(exc.error), exc.description)
    if isinstance(exc, httpx2.HTTPStatusError):
        code = exc.response.status_code
        return OAuthFailure(
            f"{provider.label} answered HTTP {code}; trying again later.", status="retrying"
        )
    if isinstance(exc, (httpx2.TimeoutException, TimeoutError)):
        return OAuthFailure(f"{provider.label} did not answer in time.", status="retrying")
    if isinstance(exc, ValueError):  # a 2xx answer that is not a token (a proxy's page)
        return OAuthFailure(
            f"{provider.label} answered with something that is not a token; trying again later.",
            status="retrying",
        )
    return OAuthFailure(
        f"{provider.label} could not be reached ({type(exc).__name__}).", status="retrying"
    )


async def exchange_code(
    provider: Provider, settings: Settings, *, code: str, code_verifier: str
) -> Tokens:
    """The tokens for the code the sign-in sent back."""
    try:
        async with _client(provider, settings) as client:
            answer = await client.fetch_token(
                provider.token_url,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
            )
    except Exception as exc:  # whatever the answer was, it is said as an OAuthFailure
        raise _failure(provider, exc) from None
    tokens = _tokens(provider, dict(answer))
    if tokens.refresh_token is None:
        raise OAuthFailure(
            f"{provider.label} gave no refresh token, so the inbox could not stay signed in. "
            "Remove the app's access in the account's security settings and connect again.",
            status="reconnect_needed",
        )
    return tokens


async def refresh(provider: Provider, settings: Settings, refresh_token: str) -> Tokens:
    """A new access token (and, where the provider rotates it, a new refresh token)."""
    try:
        # One bound for the whole call (httpx's is per phase): well inside the lease.
        async with asyncio.timeout(2 * TOKEN_TIMEOUT_SECONDS):
            async with _client(provider, settings) as client:
                answer = await client.refresh_token(provider.token_url, refresh_token=refresh_token)
    except Exception as exc:
        raise _failure(provider, exc) from None
    return _tokens(provider, dict(answer))
