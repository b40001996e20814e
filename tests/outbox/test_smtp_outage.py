"""The SMTP server is down for a while: first nothing listens on its port, then it
answers 421, then it drops the connection in the middle of each message, then after
each whole message before its reply. Mail queued meanwhile waits with the worker's
backoff, and once the server is back on its port every mail goes out exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.outbox.models import OutgoingEmail
from app.workers import mail_sender
from app.workers.mail_sender import send_due_mail
from tests.conftest import free_port
from tests.faults import FaultySmtp, SkippingClock, SmtpFault, skipping_clock
from tests.outbox.test_outbox import queue
from tests.smtp import running_smtp_server

MAILS = 6
DEADLINE_SECONDS = 25  # loopback only: every attempt fails or succeeds at once


async def outbox(sessions: async_sessionmaker[AsyncSession], ids: list[int]) -> list[OutgoingEmail]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(OutgoingEmail).where(OutgoingEmail.id.in_(ids)).order_by(OutgoingEmail.id)
            )
        )


async def send_what_is_due(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    skipping: SkippingClock,
    ids: list[int],
) -> int:
    """Skip to the moment the last retry falls due (no sleeping), then run two mail
    workers' steps until they find nothing due; how many mails they handled."""
    skipping.skip_to(max(mail.next_attempt_at for mail in await outbox(sessions, ids)))

    async def worker() -> int:
        handled = 0
        while count := await send_due_mail(sessions, settings):
            handled += count
            assert handled <= len(ids), "a mail was handled twice in one round"
        return handled

    return sum(await asyncio.gather(worker(), worker()))


async def test_mail_queued_during_an_outage_goes_out_once_when_it_ends(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with asyncio.timeout(DEADLINE_SECONDS):
        await outage_then_recovery(sessions, settings, skipping_clock(monkeypatch))


async def outage_then_recovery(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, skipping: SkippingClock
) -> None:
    port = free_port()  # nothing listens on it yet
    configured = settings.model_copy(
        update={"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_SECURITY": "none"}
    )
    ids = [await queue(sessions, configured, f"outage{i}@example.com") for i in range(MAILS)]

    async def fails(attempts: int, error: str) -> None:
        """Every mail was tried once more and failed; it waits for its next try."""
        assert await send_what_is_due(sessions, configured, skipping, ids) == MAILS
        base = mail_sender.RETRY_BASE_SECONDS * 2 ** (attempts - 1)
        for mail in await outbox(sessions, ids):
            assert (mail.status, mail.attempts) == ("pending", attempts)
            assert mail.last_error and error in mail.last_error, mail.last_error
            assert mail.sending_since is None and mail.lease_until is None
            wait = (mail.next_attempt_at - skipping.now()).total_seconds()
            assert base * 0.8 - 5 < wait <= base * 1.2  # the backoff, jitter included
        assert await send_due_mail(sessions, configured) == 0  # none before its time

    await fails(1, "refused the connection")
    faults: list[tuple[SmtpFault, str]] = [
        ("refuse", "answered 421"),
        ("cut", "SMTPServerDisconnected"),
        ("drop", "SMTPServerDisconnected"),
    ]
    for attempts, (fault, error) in enumerate(faults, start=2):
        async with FaultySmtp(fault, port) as server:
            await fails(attempts, error)
        if fault == "drop":
            # That server read every message whole and never said 250: by SMTP's rules
            # it is not responsible for them, so each is sent again (same Message-ID).
            stored_ids = [m.message_id for m in await outbox(sessions, ids)]
            assert None not in stored_ids
            ids_received = [str(i).encode() for i in stored_ids]
            assert all(any(i in raw for raw in server.received) for i in ids_received)

    with running_smtp_server(port) as back:  # the server is back, on the same port
        assert await send_what_is_due(sessions, configured, skipping, ids) == MAILS
        sent = await outbox(sessions, ids)
        delivered = Counter(str(message["Message-ID"]) for message in back.mailbox.messages)
        assert delivered == Counter(mail.message_id for mail in sent)  # each exactly once
        for mail in sent:
            assert (mail.status, mail.attempts, mail.last_error) == ("sent", len(faults) + 1, None)
            assert mail.sent_at is not None and mail.sending_since is None

        # Nothing is left to send later either.
        skipping.skip_to(skipping.now() + timedelta(seconds=mail_sender.RETRY_MAX_SECONDS * 2))
        assert await send_due_mail(sessions, configured) == 0
        assert len(back.mailbox.messages) == MAILS
