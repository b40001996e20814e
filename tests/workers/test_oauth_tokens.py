"""An oauth2 inbox's tokens against a local provider: one refresh at a time across
replicas, failures that back off or stop and are told once, idle grants refreshed
daily, and an IMAP server refusing a token without the client hanging."""

from __future__ import annotations

import asyncio
import secrets
import socket
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
from app.boards.models import Board, BoardKeyword
from app.core.clock import clock
from app.core.config import Settings
from app.core.database import make_sessionmaker
from app.inboxes import grants, oauth
from app.inboxes.imap import ImapError, ImapMailbox, ImapSettings
from app.inboxes.models import REFRESH_TOKEN_CONTEXT, EmailInbox, InboxOAuthGrant
from app.outbox.models import OutgoingEmail
from app.tickets.models import Ticket
from app.workers.inbox_poller import InboxPoller
from app.workers.mail_sender import send_due_mail
from tests.dovecot import PASSWORD, Dovecot
from tests.fakes.oauth import FakeOAuthProvider
from tests.outbox.test_outbox import queue
from tests.smtp import SmtpServer


@pytest.fixture
def configured(settings: Settings, oauth_provider: FakeOAuthProvider) -> Settings:
    return settings.model_copy(update=oauth_provider.app_settings())


async def signed_in_inbox(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    oauth_provider: FakeOAuthProvider,
    smtp: SmtpServer | None = None,
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
            smtp_host=smtp.host if smtp else None,
            smtp_port=smtp.port if smtp else 587,
            smtp_security="none",
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


async def set_grant(
    sessions: async_sessionmaker[AsyncSession], inbox_id: int, **values: object
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(InboxOAuthGrant)
            .where(InboxOAuthGrant.email_inbox_id == inbox_id)
            .values(**values)
        )


async def expire(sessions: async_sessionmaker[AsyncSession], inbox_id: int) -> None:
    """The stored access token ran out."""
    await set_grant(sessions, inbox_id, expires_at=clock.now() - timedelta(seconds=1))


async def grant_row(sessions: async_sessionmaker[AsyncSession], inbox_id: int) -> InboxOAuthGrant:
    async with sessions() as session:
        return await session.get_one(InboxOAuthGrant, inbox_id)


async def leased_by(sessions: async_sessionmaker[AsyncSession], inbox_id: int, owner: str) -> None:
    """Until `owner` holds the grant's refresh lease (its refresh under way)."""
    async with asyncio.timeout(10):
        while (await grant_row(sessions, inbox_id)).lease_owner != owner:
            await asyncio.sleep(0.02)


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
    await set_grant(sessions, inbox_id, retry_at=clock.now())
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
    assert mail.text_body is not None and "reconnect" in mail.text_body
    assert f"/inboxes/{inbox_id}" in mail.text_body


async def test_grants_nobody_used_for_a_day_are_refreshed(
    sessions: async_sessionmaker[AsyncSession],
    configured: Settings,
    oauth_provider: FakeOAuthProvider,
) -> None:
    idle_id, idle_account = await signed_in_inbox(sessions, configured, oauth_provider)
    fresh_id, fresh_account = await signed_in_inbox(sessions, configured, oauth_provider)
    await set_grant(sessions, idle_id, refreshed_at=clock.now() - timedelta(days=2))
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


async def test_a_token_endpoint_answering_a_web_page_is_a_failure_that_passes(
    sessions: async_sessionmaker[AsyncSession],
    configured: Settings,
    oauth_provider: FakeOAuthProvider,
) -> None:
    inbox_id, _ = await signed_in_inbox(sessions, configured, oauth_provider)
    await expire(sessions, inbox_id)
    oauth_provider.fail_next("html")  # a captive portal's 200 page
    with pytest.raises(grants.TokenUnavailable) as failed:
        await grants.access_token(sessions, configured, inbox_id, owner="w")
    assert failed.value.status == "retrying" and "not a token" in str(failed.value)
    stored = await grant_row(sessions, inbox_id)
    assert (stored.status, stored.failures, stored.lease_until) == ("retrying", 1, None)


async def test_a_failed_daily_refresh_is_written_down(
    sessions: async_sessionmaker[AsyncSession],
    configured: Settings,
    oauth_provider: FakeOAuthProvider,
) -> None:
    inbox_id, _ = await signed_in_inbox(sessions, configured, oauth_provider)
    await set_grant(sessions, inbox_id, refreshed_at=clock.now() - timedelta(days=2))
    oauth_provider.fail_next("500")
    assert await grants.refresh_stale(sessions, configured, owner="maintenance") == 0
    stored = await grant_row(sessions, inbox_id)
    assert stored.status == "retrying" and "HTTP 500" in (stored.last_error or "")


async def test_a_refresh_under_way_never_overwrites_a_new_sign_in(
    sessions: async_sessionmaker[AsyncSession],
    configured: Settings,
    oauth_provider: FakeOAuthProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox_id, _ = await signed_in_inbox(sessions, configured, oauth_provider)
    await expire(sessions, inbox_id)
    monkeypatch.setattr(oauth_provider, "refresh_delay", 1.0)
    refreshing = asyncio.ensure_future(
        grants.access_token(sessions, configured, inbox_id, owner="worker")
    )
    await leased_by(sessions, inbox_id, "worker")
    # Meanwhile the manager reconnects the inbox (connect._save writes its tokens).
    reconnected = oauth.Tokens(
        access_token="access-of-the-new-sign-in",
        refresh_token="refresh-of-the-new-sign-in",
        expires_at=clock.now() + timedelta(hours=1),
        scopes="https://mail.google.com/",
    )
    await set_grant(sessions, inbox_id, **grants.grant_values(configured, reconnected))
    token = await refreshing
    assert token.token == "access-of-the-new-sign-in"
    stored = await grant_row(sessions, inbox_id)
    assert (
        grants._decrypt(configured, stored.refresh_token_encrypted, REFRESH_TOKEN_CONTEXT)
        == "refresh-of-the-new-sign-in"
    )


async def test_the_poller_leaves_an_inbox_whose_sign_in_is_dead_alone(
    sessions: async_sessionmaker[AsyncSession],
    configured: Settings,
    oauth_provider: FakeOAuthProvider,
) -> None:
    inbox_id, _ = await signed_in_inbox(sessions, configured, oauth_provider)
    await set_grant(sessions, inbox_id, status="reconnect_needed")
    async with sessions() as session, session.begin():
        await session.execute(
            update(EmailInbox).where(EmailInbox.id == inbox_id).values(next_poll_at=clock.now())
        )
    poller = InboxPoller(configured, sessions, parse_processes=0)
    try:
        assert await poller.step() == 0
        await set_grant(sessions, inbox_id, status="retrying")
        assert await poller.step() == 1  # still tried: that may pass
    finally:
        await poller.stop()


async def answer_through(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, inbox_id: int
) -> int:
    """A mail that goes out through the inbox's own SMTP server."""
    return await queue(sessions, settings, "jan@example.org", email_inbox_id=inbox_id)


async def mail_row(sessions: async_sessionmaker[AsyncSession], mail_id: int) -> OutgoingEmail:
    async with sessions() as session:
        return await session.get_one(OutgoingEmail, mail_id)


async def test_mail_through_an_oauth2_inbox_signs_in_as_the_mailbox_and_waits_out_refusals(
    sessions: async_sessionmaker[AsyncSession],
    configured: Settings,
    oauth_provider: FakeOAuthProvider,
    oauth_smtp_server: SmtpServer,
) -> None:
    inbox_id, account = await signed_in_inbox(
        sessions, configured, oauth_provider, oauth_smtp_server
    )
    # SMTP AUTH switched off in the tenant: the mail waits, the manager is told once.
    oauth_smtp_server.mailbox.refuse_auth_with.append(
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for"
        " the Tenant."
    )
    first = await answer_through(sessions, configured, inbox_id)
    assert await send_due_mail(sessions, configured) == 1
    waiting = await mail_row(sessions, first)
    # Waiting for the tenant is not the mail's failure: no attempt counted, for days.
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    assert waiting.next_attempt_at > clock.now() + timedelta(minutes=9)
    assert "SMTP AUTH is switched off" in (waiting.last_error or "")
    assert (await grant_row(sessions, inbox_id)).status == "smtp_disabled"
    assert await alerts(sessions) == 1

    # The administrator allowed it: the next try goes out as the mailbox, and the
    # inbox's mark is cleared.
    async with sessions() as session, session.begin():
        await session.execute(
            update(OutgoingEmail)
            .where(OutgoingEmail.id == first)
            .values(next_attempt_at=clock.now())
        )
    assert await send_due_mail(sessions, configured) >= 1
    assert (await mail_row(sessions, first)).status == "sent"
    assert oauth_smtp_server.mailbox.authenticated_users == [account]
    assert (await grant_row(sessions, inbox_id)).status == "connected"

    # The grant revoked: the server refuses the token; the mail waits (not failed),
    # a new token is asked for, and the provider's answer is written on the inbox.
    oauth_provider.revoke(account)
    await set_grant(sessions, inbox_id, refreshed_at=clock.now() - timedelta(minutes=30))
    second = await answer_through(sessions, configured, inbox_id)
    assert await send_due_mail(sessions, configured) == 1
    refused = await mail_row(sessions, second)
    assert (refused.status, refused.attempts) == ("pending", 0)
    assert "refused the sign-in token" in (refused.last_error or "")
    assert (await grant_row(sessions, inbox_id)).status == "reconnect_needed"
    assert await alerts(sessions) == 2  # smtp_disabled earlier, now this


async def test_a_refresh_cut_off_by_a_shutdown_still_saves_the_rotated_token(
    sessions: async_sessionmaker[AsyncSession],
    configured: Settings,
    oauth_provider: FakeOAuthProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox_id, account = await signed_in_inbox(sessions, configured, oauth_provider)
    await expire(sessions, inbox_id)
    monkeypatch.setattr(oauth_provider, "refresh_delay", 1.0)
    refreshing = asyncio.ensure_future(
        grants.access_token(sessions, configured, inbox_id, owner="worker")
    )
    await leased_by(sessions, inbox_id, "worker")
    refreshing.cancel()  # the worker stops while the provider is answering
    with pytest.raises(asyncio.CancelledError):
        await refreshing
    await grants.drain()  # what WorkerRunner.stop does before the engine goes
    [grant] = oauth_provider.grants(account)
    stored = await grant_row(sessions, inbox_id)
    assert (
        grants._decrypt(configured, stored.refresh_token_encrypted, REFRESH_TOKEN_CONTEXT)
        == grant.refresh_token
    )  # the rotated one, saved
    assert stored.lease_owner is None and not grant.revoked
    await expire(sessions, inbox_id)
    await grants.access_token(sessions, configured, inbox_id, owner="worker")
    assert not grant.revoked


async def test_a_token_still_good_is_used_while_another_worker_renews_it(
    sessions: async_sessionmaker[AsyncSession],
    configured: Settings,
    oauth_provider: FakeOAuthProvider,
) -> None:
    inbox_id, _ = await signed_in_inbox(sessions, configured, oauth_provider)
    before = await grants.access_token(sessions, configured, inbox_id, owner="a")
    # Two minutes left (inside the renewal margin), and another worker holds the lease.
    await set_grant(
        sessions,
        inbox_id,
        expires_at=clock.now() + timedelta(minutes=2),
        lease_owner="b",
        lease_until=clock.now() + timedelta(minutes=1),
    )
    asked = oauth_provider.refreshes
    token = await grants.access_token(sessions, configured, inbox_id, owner="a", wait=False)
    assert token.token == before.token and oauth_provider.refreshes == asked


async def test_a_provider_that_hangs_for_one_inbox_delays_no_other(
    sessions: async_sessionmaker[AsyncSession],
    configured: Settings,
    oauth_provider: FakeOAuthProvider,
    oauth_dovecot: Dovecot,
) -> None:
    # Microsoft's token endpoint takes connections and never answers.
    with socket.socket() as blackhole:
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(16)
        settings = configured.model_copy(
            update={
                "MICROSOFT_OAUTH_AUTHORITY": f"http://127.0.0.1:{blackhole.getsockname()[1]}",
            }
        )
        stuck, _ = await signed_in_inbox(sessions, settings, oauth_provider)
        await set_grant(sessions, stuck, provider="microsoft")
        await expire(sessions, stuck)
        async with sessions() as session, session.begin():
            await session.execute(
                update(EmailInbox).where(EmailInbox.id == stuck).values(next_poll_at=clock.now())
            )
        working, account = await signed_in_inbox(sessions, settings, oauth_provider)
        async with sessions() as session, session.begin():
            await session.execute(
                update(EmailInbox)
                .where(EmailInbox.id == working)
                .values(
                    imap_host=oauth_dovecot.host,
                    imap_port=oauth_dovecot.port,
                    imap_security="none",
                    next_poll_at=clock.now(),
                )
            )
            inbox = await session.get_one(EmailInbox, working)
            board = Board(
                manager_id=inbox.manager_id,
                name="Printers",
                public_id=secrets.token_urlsafe(24),
                email_inbox_id=working,
            )
            session.add(board)
            await session.flush()
            session.add(BoardKeyword(board_id=board.id, keyword="printer"))
        oauth_dovecot.append(
            account,
            PASSWORD,
            b"From: jan@example.org\r\nTo: x@example.com\r\nSubject: Printer jams\r\n"
            b"Message-ID: <hang@example.org>\r\n\r\nIt jams.\r\n",
        )
        poller = InboxPoller(settings, sessions, parse_processes=0)
        try:
            assert await poller.step() == 2
            async with asyncio.timeout(15):
                while not await titles_of(sessions, board.id):
                    await asyncio.sleep(0.1)
            assert await titles_of(sessions, board.id) == ["Printer jams"]
            # Meanwhile the other inbox still waits on its provider.
            assert (await grant_row(sessions, stuck)).lease_owner == poller.owner
        finally:
            await poller.stop()


async def titles_of(sessions: async_sessionmaker[AsyncSession], board_id: int) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(Ticket.title).where(Ticket.board_id == board_id)))
