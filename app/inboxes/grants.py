"""An oauth2 inbox's tokens (inbox_oauth_grants): an access token on demand, refreshed
a few minutes before it expires, by one worker at a time across replicas; a rotated
refresh token saved in the same transaction as the access token that came with it,
before that token is used; failures said once to the manager by mail.

The refresh is leased like every other piece of shared work (a short transaction
takes the lease, the token endpoint is called outside any transaction, another short
one saves the answer and frees the lease). A worker that finds the lease taken waits
for the other's answer instead of asking the provider a second time: providers that
rotate refresh tokens treat a second use of the old one as theft and revoke the grant.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import Manager
from app.core.clock import clock
from app.core.config import Settings
from app.core.crypto import DecryptionError, cipher_for
from app.inboxes import oauth
from app.inboxes.models import (
    ACCESS_TOKEN_CONTEXT,
    READABLE_GRANT_STATUSES,
    REFRESH_TOKEN_CONTEXT,
    EmailInbox,
    InboxOAuthGrant,
)
from app.outbox import outgoing
from app.outbox.smtp import AUTH_DISABLED

log = logging.getLogger(__name__)

# Refresh this long before the access token expires (they last an hour).
REFRESH_MARGIN = timedelta(minutes=5)
# Longer than a token endpoint call may take, so a lease never runs out mid-call.
LEASE_SECONDS = 4 * oauth.TOKEN_TIMEOUT_SECONDS
# How long a worker waits for another's refresh before giving up for this round.
WAIT_SECONDS = LEASE_SECONDS + 5
WAIT_STEP_SECONDS = 0.2
# A token with at least this much life left is used while another worker renews it.
STILL_USABLE = timedelta(seconds=30)
# Grants not refreshed for this long are refreshed anyway (inboxes switched off, or
# quiet): a refresh token unused for 90 days dies at Microsoft, and in Google's test mode
# after 7.
IDLE_REFRESH_AFTER = timedelta(hours=20)
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
# What the manager is told about by mail (once each): what only they (or, told by
# them, the operator) can fix.
ALERTED = ("reconnect_needed", "consent_required", "smtp_disabled", "app_rejected")
# Failures tried again with backoff.
RETRIED = ("retrying", "app_rejected")


@dataclass(frozen=True)
class AccessToken:
    token: str = field(repr=False)
    expires_at: datetime
    # When to get a new one: REFRESH_MARGIN before it expires (a quarter of its life
    # for one that lives less than 20 minutes).
    renew_at: datetime
    issued_at: datetime | None = None

    def fresh(self) -> bool:
        """Issued a moment ago (no longer ago than its renewal margin): a server
        refusing it would refuse the next one too."""
        if self.issued_at is None:
            return False
        return clock.now() - self.issued_at < self.expires_at - self.renew_at


def renew_at(expires_at: datetime, issued_at: datetime | None) -> datetime:
    lifetime = expires_at - issued_at if issued_at is not None else timedelta(hours=1)
    return expires_at - min(REFRESH_MARGIN, lifetime / 4)


class TokenUnavailable(Exception):
    """No access token can be had now; `status` is the grant's (see models)."""

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message)
        self.status = status

    @property
    def retryable(self) -> bool:
        return self.status == "retrying"


def process_owner(role: str) -> str:
    """Who holds a refresh lease: this process, in this role (api, worker)."""
    return f"{socket.gethostname()}:{os.getpid()}:{role}"


def encrypt(settings: Settings, value: str, context: str) -> str:
    return cipher_for(settings).encrypt(value, context=context)


def _decrypt(settings: Settings, stored: str | None, context: str) -> str | None:
    if not stored:
        return None
    try:
        return cipher_for(settings).decrypt(stored, context=context)
    except DecryptionError:
        return None


def retry_delay(failures: int) -> timedelta:
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** max(0, failures - 1), RETRY_MAX_SECONDS))


def grant_values(settings: Settings, tokens: oauth.Tokens) -> dict[str, object]:
    """The columns a fresh sign-in or refresh writes (a healthy grant)."""
    values: dict[str, object] = {
        "access_token_encrypted": encrypt(settings, tokens.access_token, ACCESS_TOKEN_CONTEXT),
        "expires_at": tokens.expires_at,
        "scopes": tokens.scopes,
        "refreshed_at": clock.now(),
        "last_error": None,
        "last_error_at": None,
        "retry_at": None,
        "failures": 0,
        "lease_until": None,
        "lease_owner": None,
    }
    if tokens.refresh_token is not None:
        values["refresh_token_encrypted"] = encrypt(
            settings, tokens.refresh_token, REFRESH_TOKEN_CONTEXT
        )
    return values


async def access_token(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    inbox_id: int,
    *,
    owner: str,
    refused: str | None = None,
    wait: bool = True,
) -> AccessToken:
    """A valid access token for the inbox, refreshed first when it expires within
    REFRESH_MARGIN (or is `refused`: a server just turned it down). Raises
    TokenUnavailable when none can be had now. `wait=False`: when another worker is
    refreshing it, do not wait for that (the mail worker retries the mail later)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        async with sessionmaker() as session:
            grant = await session.get(InboxOAuthGrant, inbox_id)
        if grant is None:
            raise TokenUnavailable(
                "The inbox is not signed in: connect it again.", status="reconnect_needed"
            )
        if grant.status not in READABLE_GRANT_STATUSES:
            raise TokenUnavailable(grant.last_error or "Reconnect the inbox.", status=grant.status)
        now = clock.now()
        current = _decrypt(settings, grant.access_token_encrypted, ACCESS_TOKEN_CONTEXT)
        expires_at = grant.expires_at
        if current is not None and current != refused and expires_at is not None:
            renew = renew_at(expires_at, grant.refreshed_at)
            if now < renew:
                return AccessToken(current, expires_at, renew, grant.refreshed_at)
        if grant.retry_at is not None and grant.retry_at > now:
            raise TokenUnavailable(
                grant.last_error or "The provider failed; trying again soon.",
                status=grant.status if grant.status in RETRIED else "retrying",
            )
        stored = await _claim(sessionmaker, inbox_id, owner)
        if stored is not None:
            refreshed = await _refresh(sessionmaker, settings, grant.provider, inbox_id, stored)
            if refreshed is not None:
                return refreshed
            continue
        # Another worker is refreshing it. The current token, while it lasts, will do;
        # else that worker's answer is what this one needs too.
        if (
            current is not None
            and current != refused
            and expires_at is not None
            and expires_at > clock.now() + STILL_USABLE
        ):
            return AccessToken(current, expires_at, renew_at(expires_at, grant.refreshed_at))
        if not wait or time.monotonic() > deadline:
            raise TokenUnavailable(
                "Another worker's token refresh did not finish in time.", status="retrying"
            )
        await asyncio.sleep(WAIT_STEP_SECONDS)


async def _claim(
    sessionmaker: async_sessionmaker[AsyncSession], inbox_id: int, owner: str
) -> str | None:
    """Take the refresh lease; the stored refresh token, or None if another holds it."""
    now = clock.now()
    async with sessionmaker() as session, session.begin():
        stored: str | None = await session.scalar(
            update(InboxOAuthGrant)
            .where(
                InboxOAuthGrant.email_inbox_id == inbox_id,
                InboxOAuthGrant.status.in_(READABLE_GRANT_STATUSES),
                or_(InboxOAuthGrant.lease_until.is_(None), InboxOAuthGrant.lease_until < now),
            )
            .values(lease_until=now + timedelta(seconds=LEASE_SECONDS), lease_owner=owner)
            .returning(InboxOAuthGrant.refresh_token_encrypted)
        )
    return stored


async def _refresh(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    provider_name: str,
    inbox_id: int,
    stored: str,
) -> AccessToken | None:
    """Ask the provider for a new access token (the lease held) and save the answer;
    None when the inbox was signed in again meanwhile (its tokens are the ones to use).

    The call and the save run as one task that a cancelled caller (a shutdown) does
    not stop: a provider that already rotated the refresh token must not have its new
    one dropped, or the next refresh would reuse the old one and lose the grant."""
    work = asyncio.ensure_future(
        _refresh_and_save(sessionmaker, settings, provider_name, inbox_id, stored)
    )
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        if not work.done():
            # Finishes in the background; whoever asks next finds its answer saved.
            _background.add(work)
            work.add_done_callback(_background.discard)
        raise


# Refreshes outliving the caller that started them (kept referenced until done).
_background: set[asyncio.Future[AccessToken | None]] = set()


# How long a stop waits for them: a refresh's whole bound, and its save.
DRAIN_SECONDS = 2 * oauth.TOKEN_TIMEOUT_SECONDS + 10


async def drain() -> None:
    """Let refreshes whose callers were cancelled (a shutdown) finish saving what the
    provider answered, before the database goes: call before disposing the engine."""
    pending = [task for task in _background if not task.done()]
    if pending:
        await asyncio.wait(pending, timeout=DRAIN_SECONDS)


async def _refresh_and_save(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    provider_name: str,
    inbox_id: int,
    stored: str,
) -> AccessToken | None:
    try:
        try:
            provider = oauth.provider(settings, provider_name)
        except oauth.ProviderNotConfigured:
            raise oauth.OAuthFailure(
                f"Signing in with {provider_name} is not set up on this server any more: "
                "the operator must restore its OAuth settings.",
                status="retrying",
            ) from None
        refresh_token = _decrypt(settings, stored, REFRESH_TOKEN_CONTEXT)
        if refresh_token is None:
            raise oauth.OAuthFailure(
                "The inbox's saved sign-in cannot be read (the encryption key changed): "
                "reconnect the inbox.",
                status="reconnect_needed",
            )
        tokens = await oauth.refresh(provider, settings, refresh_token)
    except oauth.OAuthFailure as failure:
        await record_failure(sessionmaker, settings, inbox_id, failure, claimed=stored)
        raise TokenUnavailable(str(failure), status=failure.status) from None
    except BaseException:
        await _release(sessionmaker, inbox_id, stored)
        raise
    # Saved (the rotated refresh token with it) and committed before it is used: a
    # crash after the provider answered loses at most this access token.
    if not await _save(sessionmaker, settings, inbox_id, tokens, claimed=stored):
        return None  # signed in again meanwhile: that sign-in's tokens are the ones
    log.info("inbox token refreshed", extra={"inbox_id": inbox_id})
    now = clock.now()
    return AccessToken(
        tokens.access_token, tokens.expires_at, renew_at(tokens.expires_at, now), now
    )


def _still(inbox_id: int, claimed: str) -> ColumnElement[bool]:
    """The grant still holds the refresh token this worker used: a reconnect in the
    meantime (new tokens, perhaps another account) is never overwritten."""
    return and_(
        InboxOAuthGrant.email_inbox_id == inbox_id,
        InboxOAuthGrant.refresh_token_encrypted == claimed,
    )


async def _save(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    inbox_id: int,
    tokens: oauth.Tokens,
    *,
    claimed: str,
) -> bool:
    values = grant_values(settings, tokens)
    async with sessionmaker() as session, session.begin():
        grant = await session.scalar(
            select(InboxOAuthGrant).where(_still(inbox_id, claimed)).with_for_update()
        )
        if grant is None:
            return False  # deleted, or signed in again meanwhile
        for name, value in values.items():
            setattr(grant, name, value)
        if grant.status != "smtp_disabled":  # a token does not fix the tenant's setting
            grant.status = "connected"
            grant.alerted_status = None
    return True


async def _release(
    sessionmaker: async_sessionmaker[AsyncSession], inbox_id: int, claimed: str
) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(InboxOAuthGrant)
            .where(_still(inbox_id, claimed))
            .values(lease_until=None, lease_owner=None)
        )


async def record_failure(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    inbox_id: int,
    failure: oauth.OAuthFailure,
    *,
    claimed: str,
) -> None:
    """Write a failure on the grant (and free the lease) unless it was signed in again
    meanwhile; a problem only the manager can fix is mailed to them once."""
    async with sessionmaker() as session, session.begin():
        # Locked as it is checked: a reconnect committing meanwhile waits, then wins.
        grant = await session.scalar(
            select(InboxOAuthGrant).where(_still(inbox_id, claimed)).with_for_update()
        )
        if grant is not None:
            await set_status(session, settings, inbox_id, failure.status, str(failure), grant=grant)


async def set_status(
    session: AsyncSession,
    settings: Settings,
    inbox_id: int,
    status: str,
    message: str | None,
    *,
    grant: InboxOAuthGrant | None = None,
) -> None:
    """Set the grant's status (in the caller's transaction; `grant`, when given, is
    the row already locked). Retrying backs off; a status in ALERTED is mailed to the
    manager the first time it is set."""
    if grant is None:
        grant = await session.get(InboxOAuthGrant, inbox_id, with_for_update=True)
    if grant is None:
        return
    now = clock.now()
    grant.lease_until = None
    grant.lease_owner = None
    if status == "connected":
        grant.status, grant.alerted_status = status, None
        grant.last_error = grant.last_error_at = None
        return
    grant.last_error = message
    grant.last_error_at = now
    if status in RETRIED:
        grant.failures += 1
        grant.retry_at = now + retry_delay(grant.failures)
        # A passing failure does not hide (or, once over, re-announce) SMTP AUTH being off.
        if grant.status != "smtp_disabled" or status != "retrying":
            grant.status = status
    else:
        grant.status = status
        if status != "smtp_disabled":  # reading goes on: its backoff stays
            grant.retry_at = None
    if status == "retrying":
        log.warning("inbox token refresh failed; will retry", extra={"error": message})
    elif status == "app_rejected":
        log.error("the provider refuses the app's own settings", extra={"error": message})
    else:
        log.warning("inbox sign-in needs the manager", extra={"status": status, "error": message})
    if status in ALERTED and grant.alerted_status != status:
        grant.alerted_status = status
        await _alert(session, settings, inbox_id, status, message)


async def _alert(
    session: AsyncSession, settings: Settings, inbox_id: int, status: str, message: str | None
) -> None:
    row = (
        await session.execute(
            select(EmailInbox, Manager)
            .join(Manager, Manager.id == EmailInbox.manager_id)
            .where(EmailInbox.id == inbox_id)
        )
    ).first()
    if row is None:
        return
    inbox, manager = row
    await outgoing.enqueue(
        session,
        settings,
        kind="inbox_signin_problem",
        to=manager.email,
        language=manager.language,
        manager_id=manager.id,
        values={
            "full_name": manager.full_name,
            "inbox_name": inbox.name,
            "address": inbox.email_address,
            "problem": status,
            "detail": message or "",
            "link": f"{settings.PUBLIC_BASE_URL}/inboxes/{inbox.id}",
        },
    )


async def note_smtp_check(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    inbox_id: int,
    error: str | None,
) -> None:
    """After an SMTP sign-in with the inbox's token: a tenant that refuses SMTP AUTH
    marks the grant `smtp_disabled`; a sign-in that worked clears that mark."""
    async with sessionmaker() as session, session.begin():
        status = await session.scalar(
            select(InboxOAuthGrant.status).where(InboxOAuthGrant.email_inbox_id == inbox_id)
        )
        if error is not None and AUTH_DISABLED in error and status in ("connected", "retrying"):
            await set_status(session, settings, inbox_id, "smtp_disabled", error)
        elif error is None and status == "smtp_disabled":
            await set_status(session, settings, inbox_id, "connected", None)


async def stale_grants(
    sessionmaker: async_sessionmaker[AsyncSession], limit: int = 50
) -> list[int]:
    """Inboxes whose token was not refreshed for IDLE_REFRESH_AFTER."""
    async with sessionmaker() as session:
        found = await session.scalars(
            select(InboxOAuthGrant.email_inbox_id)
            .where(
                InboxOAuthGrant.status.in_(READABLE_GRANT_STATUSES),
                or_(
                    InboxOAuthGrant.refreshed_at.is_(None),
                    InboxOAuthGrant.refreshed_at < clock.now() - IDLE_REFRESH_AFTER,
                ),
                or_(InboxOAuthGrant.retry_at.is_(None), InboxOAuthGrant.retry_at < clock.now()),
            )
            .order_by(InboxOAuthGrant.refreshed_at.nulls_first())
            .limit(limit)
        )
        return list(found)


async def refresh_stale(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *, owner: str
) -> int:
    """Refresh the grants nobody used for a day, side by side: one provider that does
    not answer delays none of the others. Returns how many were refreshed."""
    inbox_ids = await stale_grants(sessionmaker)

    async def one(inbox_id: int) -> bool:
        # Its access token may still be valid: the point is using the refresh token.
        stored = await _claim(sessionmaker, inbox_id, owner)
        if stored is None:
            return False
        async with sessionmaker() as session:
            provider_name = await session.scalar(
                select(InboxOAuthGrant.provider).where(InboxOAuthGrant.email_inbox_id == inbox_id)
            )
        if provider_name is None:
            return False
        try:
            return (
                await _refresh(sessionmaker, settings, provider_name, inbox_id, stored) is not None
            )
        except TokenUnavailable:
            return False

    results = await asyncio.gather(*(one(i) for i in inbox_ids), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            log.error("refreshing an idle grant failed", exc_info=result)
    return sum(1 for result in results if result is True)
