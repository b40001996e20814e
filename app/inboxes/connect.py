"""Connecting an inbox with a provider's sign-in (Google, Microsoft 365).

`start` stores the request (its `state` hashed, its PKCE verifier encrypted) and
returns the provider's sign-in URL. The provider sends the browser back to the
callback, `finish`: it takes the request once, exchanges the code for tokens, signs in
to IMAP and SMTP with the new access token, and only when IMAP works saves the inbox
and its grant. Whatever happens, `finish` answers with the address in the app to send
the browser to, the outcome in its query (never a token).

No database transaction is open while a provider or a mail server is called.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import Manager
from app.core.clock import clock
from app.core.config import Settings
from app.core.crypto import cipher_for
from app.core.database import violated_constraint
from app.core.errors import InboxNameTaken, OAuthNotConfigured
from app.inboxes import grants, oauth
from app.inboxes.imap import ImapSettings
from app.inboxes.models import (
    CODE_VERIFIER_CONTEXT,
    EmailInbox,
    InboxOAuthGrant,
    InboxOAuthRequest,
)
from app.inboxes.schemas import OAuthConnect, OAuthReconnect, OAuthStart
from app.inboxes.service import get_inbox, test_connection
from app.outbox.smtp import AUTH_DISABLED, SmtpServer

log = logging.getLogger(__name__)

# How long a started sign-in may take before its callback is refused.
REQUEST_LIFETIME = timedelta(minutes=15)
# Room for a sentence with a link in it (the admin-consent URL is ~250 characters).
_DETAIL_CHARS = 1000
COOKIE_PREFIX = "oauth2_"
# Where the cookie is sent: the callback only (app.main mounts the API at /api/v1).
COOKIE_PATH = "/api/v1/inboxes/oauth2/callback"


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _provider(settings: Settings, name: str) -> oauth.Provider:
    try:
        return oauth.provider(settings, name)
    except oauth.ProviderNotConfigured:
        raise OAuthNotConfigured() from None


async def _start(
    session: AsyncSession,
    settings: Settings,
    manager: Manager,
    provider: oauth.Provider,
    *,
    login_hint: str | None,
    inbox_id: int | None = None,
    inbox: dict[str, Any] | None = None,
) -> tuple[OAuthStart, BrowserCookie]:
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters, within PKCE's 43–128
    browser = secrets.token_urlsafe(32)
    expires_at = clock.now() + REQUEST_LIFETIME
    state_hash = _state_hash(state)
    session.add(
        InboxOAuthRequest(
            state_hash=state_hash,
            manager_id=manager.id,
            email_inbox_id=inbox_id,
            provider=provider.name,
            code_verifier_encrypted=cipher_for(settings).encrypt(
                verifier, context=CODE_VERIFIER_CONTEXT
            ),
            browser_hash=_state_hash(browser),
            inbox=inbox or {},
            expires_at=expires_at,
        )
    )
    await session.flush()
    url = oauth.authorization_url(
        provider, settings, state=state, code_verifier=verifier, login_hint=login_hint
    )
    started = OAuthStart(authorization_url=url, expires_at=expires_at)
    return started, BrowserCookie(cookie_name(state_hash), browser)


async def start_new(
    session: AsyncSession, settings: Settings, manager: Manager, body: OAuthConnect
) -> tuple[OAuthStart, BrowserCookie]:
    """Begin connecting a new inbox: its settings wait with the request."""
    provider = _provider(settings, body.provider)
    taken = await session.scalar(
        select(EmailInbox.id).where(
            EmailInbox.manager_id == manager.id, EmailInbox.name == body.name
        )
    )
    if taken is not None:
        raise InboxNameTaken()
    fields = body.model_dump(mode="json", exclude={"provider", "login_hint"})
    return await _start(
        session,
        settings,
        manager,
        provider,
        login_hint=body.login_hint,
        inbox=fields,
    )


async def start_reconnect(
    session: AsyncSession,
    settings: Settings,
    manager: Manager,
    inbox_id: int,
    body: OAuthReconnect,
) -> tuple[OAuthStart, BrowserCookie]:
    """Begin signing an existing inbox in again, whatever state its tokens are in."""
    inbox = await get_inbox(session, manager, inbox_id)
    name = body.provider or (inbox.grant.provider if inbox.grant is not None else None)
    if name is None:
        raise OAuthNotConfigured(
            "Choose the provider to sign in with (google or microsoft).",
            code="oauth_provider_required",
        )
    provider = _provider(settings, name)
    return await _start(
        session,
        settings,
        manager,
        provider,
        login_hint=body.login_hint,
        inbox_id=inbox.id,
    )


@dataclass(frozen=True)
class BrowserCookie:
    """The cookie that ties a sign-in to the browser that started it."""

    name: str
    value: str = field(repr=False)


def cookie_name(state_hash: str) -> str:
    """One cookie per sign-in under way, so two at once in one browser both work."""
    return f"{COOKIE_PREFIX}{state_hash[:16]}"


def cookie_of_state(state: str) -> str:
    return cookie_name(_state_hash(state))


@dataclass
class _Outcome(Exception):
    """How a callback ended, for the address the browser is sent back to."""

    reason: str
    detail: str | None = None
    inbox_id: int | None = None


def back_to_app(
    settings: Settings,
    *,
    inbox_id: int | None = None,
    reason: str | None = None,
    detail: str | None = None,
    warning: str | None = None,
    outcome: str = "connected",
) -> str:
    """The address in the app the callback sends the browser to."""
    query: dict[str, str] = {"oauth2": outcome if reason is None else "failed"}
    if reason is not None:
        query["reason"] = reason
    if warning is not None:
        query["warning"] = "smtp"
    if detail or warning:
        query["detail"] = (detail or warning or "")[:_DETAIL_CHARS]
    path = f"/inboxes/{inbox_id}" if inbox_id is not None else "/inboxes"
    return f"{settings.PUBLIC_BASE_URL}{path}?{urlencode(query)}"


async def finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    params: dict[str, str],
    cookies: dict[str, str],
) -> str:
    """Handle the provider's redirect; returns where to send the browser."""
    try:
        if "state" not in params and ("admin_consent" in params or "error" in params):
            # An administrator back from admin_consent_url (it sends no state): granted,
            # or refused (an error, whatever admin_consent says).
            if params.get("error"):
                raise _Outcome(
                    "consent_required",
                    f"Consent was not granted ({params['error']}: "
                    f"{params.get('error_description', '')})",
                )
            if params["admin_consent"].lower() == "true":
                return back_to_app(settings, outcome="consent_granted")
            raise _Outcome("consent_required", "Consent was not granted.")
        return await _finish(sessionmaker, settings, params, cookies)
    except _Outcome as outcome:
        log.warning(
            "inbox sign-in failed", extra={"reason": outcome.reason, "inbox_id": outcome.inbox_id}
        )
        return back_to_app(
            settings, inbox_id=outcome.inbox_id, reason=outcome.reason, detail=outcome.detail
        )
    except Exception:
        log.exception("inbox sign-in failed unexpectedly")
        return back_to_app(
            settings, reason="internal_error", detail="Something went wrong; try again."
        )


def _reason(failure: oauth.OAuthFailure) -> str:
    """An OAuthFailure as the callback's reason: `provider_error` when it may pass."""
    return "provider_error" if failure.status == "retrying" else failure.status


async def _take_request(
    sessionmaker: async_sessionmaker[AsyncSession], state: str
) -> InboxOAuthRequest:
    """The request `state` names, removed so that it serves once."""
    async with sessionmaker() as session, session.begin():
        request = await session.scalar(
            delete(InboxOAuthRequest)
            .where(InboxOAuthRequest.state_hash == _state_hash(state))
            .returning(InboxOAuthRequest)
        )
    if request is None or request.expires_at < clock.now():
        raise _Outcome(
            "expired",
            "This sign-in was already used or took too long: start connecting again.",
        )
    return request


async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    params: dict[str, str],
    cookies: dict[str, str],
) -> str:
    state = params.get("state")
    if not state:
        raise _Outcome("invalid_request", "The provider sent the browser back without its state.")
    request = await _take_request(sessionmaker, state)
    inbox_id = request.email_inbox_id
    browser = cookies.get(cookie_name(request.state_hash), "")
    if not hmac.compare_digest(_state_hash(browser), request.browser_hash):
        raise _Outcome(
            "wrong_browser",
            "This sign-in was started in another browser: start connecting again here.",
            inbox_id,
        )
    try:
        provider = oauth.provider(settings, request.provider)
    except oauth.ProviderNotConfigured:
        raise _Outcome("not_configured", OAuthNotConfigured.detail, inbox_id) from None
    if params.get("error"):
        failure = oauth.describe(provider, params["error"], params.get("error_description"))
        reason = "access_denied" if params["error"] == "access_denied" else _reason(failure)
        raise _Outcome(reason, str(failure), inbox_id)
    code = params.get("code")
    if not code:
        raise _Outcome("invalid_request", "The provider sent no code back.", inbox_id)
    verifier = cipher_for(settings).decrypt(
        request.code_verifier_encrypted, context=CODE_VERIFIER_CONTEXT
    )
    try:
        tokens = await oauth.exchange_code(provider, settings, code=code, code_verifier=verifier)
    except oauth.OAuthFailure as failure:
        raise _Outcome(_reason(failure), str(failure), inbox_id) from None

    inbox_fields = await _mailbox(sessionmaker, request, provider)
    imap, smtp = _servers(settings, inbox_fields, tokens.access_token)
    checked = await test_connection(imap, smtp)
    if not checked.imap.ok:
        raise _Outcome("imap_failed", checked.imap.error, inbox_id)
    smtp_error = None if smtp is None or checked.smtp.ok else checked.smtp.error
    saved = await _save(sessionmaker, settings, request, inbox_fields, tokens, smtp_error)
    log.info("inbox signed in", extra={"inbox_id": saved, "provider": provider.name})
    return back_to_app(settings, inbox_id=saved, warning=smtp_error)


async def _mailbox(
    sessionmaker: async_sessionmaker[AsyncSession],
    request: InboxOAuthRequest,
    provider: oauth.Provider,
) -> dict[str, Any]:
    """The inbox's settings: those of the inbox being reconnected, or those the manager
    chose with the provider's servers filling the gaps."""
    if request.email_inbox_id is not None:
        async with sessionmaker() as session:
            inbox = await session.scalar(
                select(EmailInbox).where(
                    EmailInbox.id == request.email_inbox_id,
                    EmailInbox.manager_id == request.manager_id,
                )
            )
        if inbox is None:
            raise _Outcome("not_found", "The inbox was deleted meanwhile.")
        address = inbox.email_address
        return {
            "email_address": address,
            "imap_host": inbox.imap_host,
            "imap_port": inbox.imap_port,
            "imap_security": inbox.imap_security,
            # A password inbox's login may be another name: the mailbox address signs in.
            "imap_username": address if inbox.auth_kind == "password" else inbox.imap_username,
            "imap_folder": inbox.imap_folder,
            "smtp_host": inbox.smtp_host,
            "smtp_port": inbox.smtp_port,
            "smtp_security": inbox.smtp_security,
            "smtp_username": address if inbox.auth_kind == "password" else inbox.smtp_username,
        }
    chosen = request.inbox
    address = str(chosen["email_address"])
    own_imap = bool(chosen.get("imap_host"))
    own_smtp = bool(chosen.get("smtp_host"))
    return {
        "name": chosen["name"],
        "email_address": address,
        "imap_host": chosen.get("imap_host") or provider.imap.host,
        "imap_port": chosen.get("imap_port") or (993 if own_imap else provider.imap.port),
        "imap_security": chosen.get("imap_security")
        or ("ssl" if own_imap else provider.imap.security),
        "imap_username": address,
        "imap_folder": chosen.get("imap_folder") or "INBOX",
        "smtp_host": chosen.get("smtp_host") or provider.smtp.host,
        "smtp_port": chosen.get("smtp_port") or (587 if own_smtp else provider.smtp.port),
        "smtp_security": chosen.get("smtp_security")
        or ("starttls" if own_smtp else provider.smtp.security),
        "smtp_username": address,
        "poll_interval_seconds": chosen.get("poll_interval_seconds") or 60,
        "is_active": chosen.get("is_active", True),
    }


def _servers(
    settings: Settings, fields: dict[str, Any], token: str
) -> tuple[ImapSettings, SmtpServer | None]:
    allow_private = settings.allow_private_network_targets
    imap = ImapSettings(
        host=fields["imap_host"],
        port=fields["imap_port"],
        security=fields["imap_security"],
        username=fields["imap_username"] or fields["email_address"],
        password=None,
        folder=fields["imap_folder"],
        access_token=token,
        allow_private=allow_private,
    )
    smtp = (
        SmtpServer(
            host=fields["smtp_host"],
            port=fields["smtp_port"],
            security=fields["smtp_security"],
            username=fields["smtp_username"] or fields["email_address"],
            access_token=token,
            allow_private=allow_private,
        )
        if fields.get("smtp_host")
        else None
    )
    return imap, smtp


async def _save(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    request: InboxOAuthRequest,
    fields: dict[str, Any],
    tokens: oauth.Tokens,
    smtp_error: str | None,
) -> int:
    """The inbox (new, or switched to this sign-in) and its grant, in one transaction."""
    inbox_id = request.email_inbox_id
    async with sessionmaker() as session, session.begin():
        manager = await session.scalar(
            select(Manager).where(Manager.id == request.manager_id, ~Manager.is_suspended)
        )
        if manager is None:
            raise _Outcome("forbidden", "The account that started this sign-in is suspended.")
        if inbox_id is None:
            inbox = EmailInbox(manager_id=manager.id, auth_kind="oauth2", **fields)
            inbox.next_poll_at = clock.now()
            session.add(inbox)
            try:
                async with session.begin_nested():
                    await session.flush()
            except IntegrityError as exc:
                if violated_constraint(exc) == "uq_email_inboxes_manager_id_name":
                    raise _Outcome("name_taken", InboxNameTaken.detail) from None
                raise
        else:
            found = await session.scalar(
                select(EmailInbox)
                .where(EmailInbox.id == inbox_id, EmailInbox.manager_id == manager.id)
                .with_for_update()
            )
            if found is None:
                raise _Outcome("not_found", "The inbox was deleted meanwhile.")
            inbox = found
            inbox.auth_kind = "oauth2"
            inbox.imap_username = fields["imap_username"]
            inbox.smtp_username = fields["smtp_username"]
            inbox.imap_password_encrypted = None
            inbox.smtp_password_encrypted = None
            inbox.settings_version += 1  # a session reading with the old sign-in stops
            inbox.next_poll_at = clock.now()
            inbox.last_error = None
        grant = await session.get(InboxOAuthGrant, inbox.id, with_for_update=True)
        if grant is None:
            grant = InboxOAuthGrant(email_inbox_id=inbox.id, failures=0)
            session.add(grant)
        grant.provider = request.provider
        for name, value in grants.grant_values(settings, tokens).items():
            setattr(grant, name, value)
        disabled = smtp_error is not None and AUTH_DISABLED in smtp_error
        grant.status = "smtp_disabled" if disabled else "connected"
        # The manager sees the outcome in the browser now: no mail about it.
        grant.alerted_status = grant.status if disabled else None
        grant.last_error = smtp_error if disabled else None
        grant.last_error_at = clock.now() if disabled else None
        await session.flush()
        return inbox.id
