"""An oauth2 inbox's tokens against a local provider: one refresh at a time across
replicas, failures that back off or stop and are told once, idle grants refreshed
daily, and an IMAP server refusing a token without the client hanging."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.auth.models import Manager
from app.core.clock import clock
from app.core.config import Settings
from app.core.database import make_sessionmaker
from app.inboxes import grants, oauth
from app.inboxes.imap import ImapError, ImapMailbox, ImapSettings
from app.inboxes.models import EmailInbox, InboxOAuthGrant
from app.outbox.models import OutgoingEmail
from tests.dovecot import Dovecot
from tests.fakes.oauth import FakeOAuthProvider


@pytest.fixture
def configured(settings: Settings, oauth_provider: FakeOAuthProvider) -> Settings:
    return settings.model_copy(
        update={
            "GOOGLE_OAUTH_CLIENT_ID": oauth_provider.client_id,
            "GOOGLE_OAUTH_CLIENT_SECRET": oauth_provider.client_secret,
            "GOOGLE_OAUTH_AUTHORIZE_URL": oauth_provider.authorize_url("google"),
            "GOOGLE_OAUTH_TOKEN_URL": oauth_provider.token_url("google"),
        }
    )


async def signed_in_inbox(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    oauth_provider: FakeOAuthProvider,
) -> tuple[int, str]:
    """A manager, an oauth2 inbox and the grant of a real sign-in at the provider:
    (inbox id, the account's address)."""
    account = f"box-{uuid.uuid4().hex[:8]}@example.com"
    oauth_provider.add_account(account)
    provider = oauth.provider(settings, "google")
    verifier, state = secrets.token_urlsafe(64), secrets.token_urlsafe(16)
    url = oauth.authorization_url(provider, settings, state=state, code_verifier=verifier)
    back = httpx.get(url, follow_redirects=False).headers["location"]
    code = parse_qs(urlsplit(back).query)["code"][0]
    tokens = await oauth.exchange_code(provider, settings, code=code, code_verifier=verifier)
    async with sessions() as session, session.begin():
        manager = Manager(
            email=f"m-{account}", password_hash="x", full_name="Mia", is_email_verified=True
        )
        session.add(manager)
        await session.flush()
        inbox = EmailInbox(
            manager_id=manager.id,
            name="Help",
            email_address=account,
            imap_host="127.0.0.1",
            auth_kind="oauth2",
        )
        session.add(inbox)
        await session.flush()
        session.add(
            InboxOAuthGrant(
                email_inbox_id=inbox.id, provider="google", **grants.grant_values(settings, tokens)
            )
        )
    return inbox.id, account


async def expire(sessions: async_sessionmaker[AsyncSession], inbox_id: int) -> None:
    """The stored access token ran out."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(InboxOAuthGrant)
            .where(InboxOAuthGrant.email_inbox_id == inbox_id)
            .values(expires_at=clock.now() - timedelta(seconds=1))
        )


async def grant_row(sessions: async_sessionmaker[AsyncSession], inbox_id: int) -> InboxOAuthGrant:
    async with sessions() as session:
        return await session.get_one(InboxOAuthGrant, inbox_id)


async def alerts(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(OutgoingEmail)
            .where(OutgoingEmail.kind == "inbox_signin_problem")
        )
        return int(found or 0)


@pytest.fixture
async def replica(database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A second process's view: its own engine and connections."""
    engine = create_async_engine(database)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_two_replicas_refresh_one_inbox_once_and_both_get_the_new_token(
    sessions: async_sessionmaker[AsyncSession],
    replica: async_sessionmaker[AsyncSession],
    configured: Settings,
    oauth_provider: FakeOAuthProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox_id, account = await signed_in_inbox(sessions, configured, oauth_provider)
    await expire(sessions, inbox_id)
    # The provider takes its time: both replicas ask while the first refresh runs.
    monkeypatch.setattr(oauth_provider, "refresh_delay", 1.0)
    refreshes = oauth_provider.refreshes
    first, second = await asyncio.gather(
        grants.access_token(sessions, configured, inbox_id, owner="replica-a"),
        grants.access_token(replica, configured, inbox_id, owner="replica-b"),
    )
    assert first.token == second.token
    assert oauth_provider.valid_mailbox(first.token) == account
    assert oauth_provider.refreshes == refreshes + 1
    assert oauth_provider.max_concurrent_refreshes == 1
    [grant] = oauth_provider.grants(account)
    assert not grant.revoked and len(grant.old_refresh_tokens) == 1
    stored = await grant_row(sessions, inbox_id)
    assert (stored.status, stored.lease_until, stored.lease_owner) == ("connected", None, None)
    # The rotated refresh token was saved: the next refresh works with it.
    await expire(sessions, inbox_id)
    third = await grants.access_token(sessions, configured, inbox_id, owner="replica-a")
    assert third.token != first.token and not grant.revoked


async def test_a_provider_that_fails_is_retried_with_backoff_and_nobody_is_mailed(
    sessions: async_sessionmaker[AsyncSession],
    configured: Settings,
    oauth_provider: FakeOAuthProvider,
) -> None:
    inbox_id, _ = await signed_in_inbox(sessions, configured, oauth_provider)
    await expire(sessions, inbox_id)
    oauth_provider.fail_next("500")
    with pytest.raises(grants.TokenUnavailable) as failed:
        await grants.access_token(sessions, configured, inbox_id, owner="w")
    assert failed.value.status == "retrying" and failed.value.retryable
    stored = await grant_row(sessions, inbox_id)
    assert stored.status == "retrying" and stored.failures == 1
    assert stored.retry_at is not None and stored.retry_at > clock.now() + timedelta(seconds=20)
    assert stored.lease_until is None
    # Before the backoff ends nobody asks the provider again.
    asked = oauth_provider.refreshes
    with pytest.raises(grants.TokenUnavailable):
        await grants.access_token(sessions, configured, inbox_id, owner="w")
    assert oauth_provider.refreshes == asked
    assert await alerts(sessions) == 0
    # Once it passes, the provider answers and the grant is healthy again.
    async with sessions() as session, session.begin():
        await session.execute(
            update(InboxOAuthGrant)
            .where(InboxOAuthGrant.email_inbox_id == inbox_id)
            .values(retry_at=clock.now())
        )
    await grants.access_token(sessions, configured, inbox_id, owner="w")
    stored = await grant_row(sessions, inbox_id)
    assert (stored.status, stored.failures, stored.last_error) == ("connected", 0, None)


async def test_a_revoked_grant_stops_retrying_and_the_manager_is_told_once(
    sessions: async_sessionmaker[AsyncSession],
    configured: Settings,
    oauth_provider: FakeOAuthProvider,
) -> None:
    inbox_id, account = await signed_in_inbox(sessions, configured, oauth_provider)
    oauth_provider.revoke(account)
    await expire(sessions, inbox_id)
    with pytest.raises(grants.TokenUnavailable) as failed:
        await grants.access_token(sessions, configured, inbox_id, owner="w")
    assert failed.value.status == "reconnect_needed"
    assert "reconnect the inbox" in str(failed.value)
    asked = oauth_provider.refreshes
    for _ in range(3):
        with pytest.raises(grants.TokenUnavailable):
            await grants.access_token(sessions, configured, inbox_id, owner="w")
    assert oauth_provider.refreshes == asked  # retrying stopped
    assert await alerts(sessions) == 1
    async with sessions() as session:
        mail = await session.scalar(
            select(OutgoingEmail).where(OutgoingEmail.kind == "inbox_signin_problem")
        )
    assert mail is not None and mail.to_address == f"m-{account}"
    assert "reconnect" in mail.text_body and f"/inboxes/{inbox_id}" in mail.text_body


async def test_grants_nobody_used_for_a_day_are_refreshed(
    sessions: async_sessionmaker[AsyncSession],
    configured: Settings,
    oauth_provider: FakeOAuthProvider,
) -> None:
    idle_id, idle_account = await signed_in_inbox(sessions, configured, oauth_provider)
    fresh_id, fresh_account = await signed_in_inbox(sessions, configured, oauth_provider)
    async with sessions() as session, session.begin():
        await session.execute(
            update(InboxOAuthGrant)
            .where(InboxOAuthGrant.email_inbox_id == idle_id)
            .values(refreshed_at=clock.now() - timedelta(days=2))
        )
    assert await grants.refresh_stale(sessions, configured, owner="maintenance") == 1
    assert len(oauth_provider.grants(idle_account)[0].old_refresh_tokens) == 1
    assert oauth_provider.grants(fresh_account)[0].old_refresh_tokens == set()
    stored = await grant_row(sessions, idle_id)
    assert stored.refreshed_at is not None
    assert stored.refreshed_at > clock.now() - timedelta(minutes=1)
    assert (await grant_row(sessions, fresh_id)).status == "connected"


async def test_an_imap_server_refusing_a_token_answers_at_once(
    oauth_dovecot: Dovecot, oauth_provider: FakeOAuthProvider
) -> None:
    account = f"imap-{uuid.uuid4().hex[:8]}@example.com"
    oauth_provider.add_account(account)
    started = time.monotonic()
    with pytest.raises(ImapError) as refused:
        async with asyncio.timeout(10):
            await ImapMailbox(
                ImapSettings(
                    host=oauth_dovecot.host,
                    port=oauth_dovecot.port,
                    security="none",
                    username=account,
                    password=None,
                    access_token="not-a-token",
                )
            ).open()
    # aioimaplib alone leaves the server's error challenge unanswered: a minute's hang.
    assert time.monotonic() - started < 5
    assert refused.value.token_refused and not refused.value.retryable
    assert "refused the sign-in token" in str(refused.value)
