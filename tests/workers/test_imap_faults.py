"""The IMAP server drops the connection in the middle of answers, again and again:
every mail still becomes exactly one ticket, none is lost, and the inbox shows the
fault until it recovers (SPEC 4.3). Dovecot is reached through a proxy that cuts."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import clock
from app.core.config import Settings
from app.inboxes.models import EmailInbox
from app.intake.models import ProcessedEmail
from app.outbox.models import OutgoingEmail
from app.tickets.models import Ticket
from app.workers import inbox_poller
from app.workers.inbox_poller import InboxPoller
from tests.dovecot import Dovecot
from tests.faults import (
    FETCH_BODY,
    STORE,
    Cut,
    CuttingProxy,
    CutWhen,
    SkippingClock,
    skipping_clock,
)
from tests.workers.helpers import query
from tests.workers.test_inbox_poller import KEY, inbox_for, message, one_session

# A cut connection must be noticed at once, not after aioimaplib's command timeout.
DEADLINE_SECONDS = 25


def mail(number: int) -> bytes:
    """Every third one large (about 150 KB), so a cut falls inside its body."""
    small = message(number)
    if number % 3 != 2:
        return small
    return small.replace(
        b"\r\n\r\nprinter\r\n", b"\r\n\r\n" + b"printer page 0123456789\r\n" * 6000
    )


def through(database: str, inbox_id: int, proxy: CuttingProxy) -> None:
    """Point the inbox at the proxy in front of Dovecot."""
    query(
        database, "UPDATE email_inboxes SET imap_port = :p WHERE id = :i", p=proxy.port, i=inbox_id
    )


async def inbox_row(sessions: async_sessionmaker[AsyncSession], inbox_id: int) -> EmailInbox:
    async with sessions() as session:
        return await session.get_one(EmailInbox, inbox_id)


async def poll_until_healthy(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    inbox_id: int,
    monkeypatch: pytest.MonkeyPatch,
    skipping: SkippingClock,
) -> list[str]:
    """Poller sessions, each when the inbox falls due again (the retry after an error
    is skipped to, not slept through), until one ends well; the errors they left."""
    errors: list[str] = []
    while True:
        row = await inbox_row(sessions, inbox_id)
        assert row.next_poll_at is not None
        skipping.skip_to(row.next_poll_at)
        await one_session(sessions, settings, inbox_id, monkeypatch)
        row = await inbox_row(sessions, inbox_id)
        if row.last_error is None:
            return errors
        errors.append(row.last_error)


async def test_connections_cut_mid_fetch_lose_nothing_and_double_nothing(
    database: str,
    sessions: async_sessionmaker[AsyncSession],
    dovecot: Dovecot,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    skipping = skipping_clock(monkeypatch)
    # Batches of four, so that a session reads several and a cut falls between them.
    monkeypatch.setattr(inbox_poller, "FETCH_BATCH", 4)
    login, password = dovecot.add_user()
    inbox_id = inbox_for(database, dovecot, login, password, "Cut")
    for number in range(1, 16):
        dovecot.append(login, password, mail(number))
    # A fresh inbox: read by UNSEEN, so only \Seen tells what was done.
    fresh_plan = [
        Cut(FETCH_BODY, nth=2),  # messages 1-4 done, the batch 5-8 cut mid-body
        Cut(FETCH_BODY),  # 5-8 cut again, first thing in the next session
        Cut(STORE, when="unsent"),  # 5-8 committed, never flagged: read again
        Cut(STORE, when="unanswered"),  # flagged, but the session never hears so
        Cut(FETCH_BODY, nth=2),  # 9-12 done, the batch 13-15 cut mid-body
    ]
    async with CuttingProxy((dovecot.host, dovecot.port), list(fresh_plan)) as proxy:
        through(database, inbox_id, proxy)
        async with asyncio.timeout(DEADLINE_SECONDS):
            fresh_errors = await poll_until_healthy(
                sessions, settings, inbox_id, monkeypatch, skipping
            )
            assert (await inbox_row(sessions, inbox_id)).last_seen_uid == 15

            # Known position from now on: new UIDs are read after it, \Seen or not.
            for number in range(16, 21):
                dovecot.append(login, password, mail(number))
            # 16-19 done, 20 cut mid-body; then 20 committed, never flagged.
            proxy.plan += [Cut(FETCH_BODY, nth=2), Cut(STORE, when="unsent")]
            async with sessions() as session, session.begin():  # "poll now"
                inbox = await session.get_one(EmailInbox, inbox_id)
                inbox.next_poll_at = clock.now()
            later_errors = await poll_until_healthy(
                sessions, settings, inbox_id, monkeypatch, skipping
            )

    async with sessions() as session:
        titles = Counter(await session.scalars(select(Ticket.title)))
        outcomes = Counter(
            await session.scalars(
                select(ProcessedEmail.outcome).where(ProcessedEmail.email_inbox_id == inbox_id)
            )
        )
        acknowledged = Counter(await session.scalars(select(OutgoingEmail.to_address)))
    assert titles == Counter(f"printer {n}" for n in range(1, 21))  # each once, none lost
    assert outcomes == {"ticket": 20}
    assert acknowledged == Counter(f"r{n}@example.org" for n in range(1, 21))
    assert all("\\Seen" in flags for flags in dovecot.flags(login, password).values())
    assert proxy.cuts == [*fresh_plan, Cut(FETCH_BODY, nth=2), Cut(STORE, when="unsent")]
    # While it happened the inbox said so, once per cut session; then it cleared.
    assert len(fresh_errors) == 5 and len(later_errors) == 2
    assert all("broke off" in error for error in fresh_errors + later_errors)
    row = await inbox_row(sessions, inbox_id)
    assert row.last_error is None and row.last_seen_uid == 20 and row.lease_until is None


@pytest.mark.parametrize(
    "when",
    [
        "unanswered",  # the server idles; the client never heard it agree
        "answered",  # the client idles too, waiting for news that cannot come
    ],
)
async def test_a_connection_dropped_in_idle_ends_the_session_at_once(
    when: CutWhen,
    database: str,
    sessions: async_sessionmaker[AsyncSession],
    dovecot: Dovecot,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    skipping = skipping_clock(monkeypatch)
    login, password = dovecot.add_user()
    inbox_id = inbox_for(database, dovecot, login, password, "Idle")
    dovecot.append(login, password, mail(1))
    async with CuttingProxy((dovecot.host, dovecot.port), [Cut(rb" IDLE", when=when)]) as proxy:
        through(database, inbox_id, proxy)
        poller = InboxPoller(
            settings.model_copy(update={"ENCRYPTION_KEY": KEY, "ENCRYPTION_KEYS_OLD": ""}),
            sessions,
        )
        # It would idle for ten minutes, waking every 20 s: the drop must end it sooner.
        monkeypatch.setattr(poller, "idle_seconds", 20)
        monkeypatch.setattr(poller, "session_seconds", 600)
        await poller.step()
        async with asyncio.timeout(5):
            await poller.sessions[inbox_id]
        row = await inbox_row(sessions, inbox_id)
        assert proxy.cuts == [Cut(rb" IDLE", when=when)]
        assert row.last_error and "broke off" in row.last_error and row.lease_until is None

        dovecot.append(login, password, mail(2))  # arrived while it was down
        async with asyncio.timeout(DEADLINE_SECONDS):
            errors = await poll_until_healthy(sessions, settings, inbox_id, monkeypatch, skipping)
    assert errors == []
    async with sessions() as session:
        titles = sorted(await session.scalars(select(Ticket.title)))
    assert titles == ["printer 1", "printer 2"]
