"""The outbox and the mail worker against a real SMTP server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.direct import OnSession
from app.outbox import outgoing
from app.outbox.models import OutgoingEmail
from app.workers.mail_sender import send_due_mail
from tests.faults import FaultySmtp
from tests.smtp import SmtpServer

# Long enough that SMTP mail would fold or quote it.
LINK = "http://tracker.example.com/verify-email?token=" + "Ab3_-" * 12
VALUES = {"full_name": "Anna Nowak", "link": LINK, "hours": 48}


def smtp_settings(settings: Settings, server: SmtpServer | FaultySmtp) -> Settings:
    host = server.host if isinstance(server, SmtpServer) else "127.0.0.1"
    return settings.model_copy(
        update={"SMTP_HOST": host, "SMTP_PORT": server.port, "SMTP_SECURITY": "none"}
    )


async def queue(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, to: str, **kw: object
) -> int:
    async with sessions() as session, session.begin():
        mail = await outgoing.enqueue(
            session,
            settings,
            kind="verify_email",
            to=to,
            language=str(kw.pop("language", "en")),
            values=VALUES,
            **kw,  # type: ignore[arg-type]
        )
        return mail.id


async def row(sessions: async_sessionmaker[AsyncSession], mail_id: int) -> OutgoingEmail:
    async with sessions() as session:
        return await session.get_one(OutgoingEmail, mail_id)


async def test_mail_is_sent_after_commit_with_its_headers(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    configured = smtp_settings(settings, smtp_server)
    mail_id = await queue(sessions, configured, "anna@example.com", language="pl", sensitive=True)
    assert await send_due_mail(sessions, configured) >= 1
    [message] = smtp_server.mailbox.wait_for("anna@example.com")
    assert message["Subject"] == "Potwierdź swój adres e-mail"
    assert message["Content-Language"] == "pl"
    assert message["Auto-Submitted"] == "auto-generated"
    stored = await row(sessions, mail_id)
    assert message["Message-ID"] == stored.message_id
    assert stored.status == "sent" and stored.sent_at is not None
    # A secret link is wiped from the outbox once delivered.
    assert stored.text_body == "" and stored.html_body is None
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert LINK in text and LINK in html
    assert "Dzień dobry, Anna Nowak" in text


async def test_a_rolled_back_transaction_sends_nothing(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    configured = smtp_settings(settings, smtp_server)
    async with sessions() as session:
        await outgoing.enqueue(
            session,
            configured,
            kind="verify_email",
            to="ghost@example.com",
            language="en",
            values=VALUES,
        )
        await session.rollback()
    await send_due_mail(sessions, configured)
    assert smtp_server.mailbox.to("ghost@example.com") == []


async def test_temporary_failures_are_retried_and_permanent_ones_give_up(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    configured = smtp_settings(settings, smtp_server)
    smtp_server.mailbox.refuse_with = ["451 4.3.0 try again later"]
    retried = await queue(sessions, configured, "retry@example.com")
    await send_due_mail(sessions, configured)
    after_first = await row(sessions, retried)
    assert after_first.status == "pending" and after_first.attempts == 1
    assert after_first.last_error and "451" in after_first.last_error
    assert after_first.next_attempt_at > after_first.created_at

    # When its time comes, it goes out.
    async with sessions() as session, session.begin():
        stored = await session.get_one(OutgoingEmail, retried)
        stored.next_attempt_at = stored.created_at
    await send_due_mail(sessions, configured)
    assert (await row(sessions, retried)).status == "sent"
    assert len(smtp_server.mailbox.wait_for("retry@example.com")) == 1

    smtp_server.mailbox.refuse_with = ["550 5.1.1 no such user"]
    refused = await queue(sessions, configured, "gone@example.com")
    await send_due_mail(sessions, configured)
    final = await row(sessions, refused)
    assert final.status == "failed" and final.last_error and "550" in final.last_error


async def test_an_unreachable_server_is_retried(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    from tests.conftest import free_port

    unreachable = settings.model_copy(
        update={"SMTP_HOST": "127.0.0.1", "SMTP_PORT": free_port(), "SMTP_SECURITY": "none"}
    )
    mail_id = await queue(sessions, unreachable, "later@example.com")
    await send_due_mail(sessions, unreachable)
    stored = await row(sessions, mail_id)
    assert stored.status == "pending" and stored.attempts == 1 and stored.last_error


async def test_without_smtp_mail_is_written_to_a_file_not_the_log(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    local = settings.model_copy(update={"SMTP_HOST": None, "DATA_DIR": tmp_path})
    mail_id = await queue(sessions, local, "dev@example.com", sensitive=True)
    await send_due_mail(sessions, local)
    [written] = (tmp_path / "mail").glob(f"*-{mail_id}.eml")
    # Readable as it is: a developer greps the link out of the file.
    assert LINK in written.read_text()
    assert "Hello Anna Nowak" in written.read_text()
    assert "SMTP_HOST is unset" in caplog.text
    assert "token=" not in caplog.text
    assert (await row(sessions, mail_id)).status == "sent"


async def test_two_workers_never_send_one_mail_twice(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    import asyncio

    configured = smtp_settings(settings, smtp_server)
    ids = [await queue(sessions, configured, f"many{i}@example.com") for i in range(30)]
    await asyncio.gather(*(send_due_mail(sessions, configured) for _ in range(3)))
    while await send_due_mail(sessions, configured):
        pass
    for i in range(30):
        assert len(smtp_server.mailbox.to(f"many{i}@example.com")) == 1
    async with sessions() as session:
        statuses = set(
            await session.scalars(select(OutgoingEmail.status).where(OutgoingEmail.id.in_(ids)))
        )
    assert statuses == {"sent"}


async def test_mail_cancelled_mid_send_by_a_shutdown_is_sent_again(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, smtp_server: SmtpServer
) -> None:
    """The mail cut mid-send and the ones of its round not reached yet all go back."""
    import asyncio

    async with FaultySmtp("stall") as server:  # takes the whole message, never answers
        stalled = smtp_settings(settings, server)
        ids = [await queue(sessions, stalled, f"shutdown{i}@example.com") for i in range(3)]
        worker = asyncio.create_task(send_due_mail(sessions, stalled))
        async with asyncio.timeout(20):
            await server.reached_data.wait()
        worker.cancel()  # what a SIGTERM does to the running worker
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(10):  # no polite QUIT waiting out the SMTP timeout
                await worker

    for mail_id in ids:
        stored = await row(sessions, mail_id)
        assert (stored.status, stored.sending_since, stored.lease_until) == ("pending", None, None)
    configured = smtp_settings(settings, smtp_server)
    assert await send_due_mail(sessions, configured) == 3
    for i in range(3):
        assert len(smtp_server.mailbox.wait_for(f"shutdown{i}@example.com")) == 1


def gated_record(monkeypatch: pytest.MonkeyPatch, when: Any, *, written_first: bool) -> Any:
    """Make the mail worker's row write that `when(values)` picks wait for the test:
    `reached` is set when it gets there, and it goes on once `gate` is set. With
    `written_first` the row is written before the wait, as when a shutdown comes while
    PostgreSQL's answer is on its way."""
    import asyncio

    from app.workers import mail_sender

    real = mail_sender._record
    reached, gate = asyncio.Event(), asyncio.Event()

    async def record(sessionmaker: Any, mail: OutgoingEmail, **values: object) -> bool:
        if not when(values):
            return await real(sessionmaker, mail, **values)
        written = await real(sessionmaker, mail, **values) if written_first else None
        reached.set()
        await gate.wait()
        return written if written is not None else await real(sessionmaker, mail, **values)

    monkeypatch.setattr(mail_sender, "_record", record)
    return reached, gate


async def stop_at(worker: Any, reached: Any, gate: Any) -> None:
    """Cancel `worker` (what a SIGTERM does) once it waits at the gate, then let the
    write go on: the worker ends with the cancellation."""
    import asyncio

    async with asyncio.timeout(20):
        await reached.wait()
    worker.cancel()  # first: it reaches the worker before the write can go on
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(10):
            await worker


async def test_a_shutdown_while_a_mail_is_marked_as_on_its_way_sends_it_again(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mark is written, the stop comes before its answer: nothing went out, so
    the mail goes back to be sent, not left to count as interrupted (and failed)."""
    import asyncio

    configured = smtp_settings(settings, smtp_server)
    mail_id = await queue(sessions, configured, "marked@example.com")
    reached, gate = gated_record(
        monkeypatch, lambda values: values.get("sending_since") is not None, written_first=True
    )
    await stop_at(asyncio.create_task(send_due_mail(sessions, configured)), reached, gate)

    stored = await row(sessions, mail_id)
    assert (stored.status, stored.sending_since, stored.lease_until) == ("pending", None, None)
    assert smtp_server.mailbox.to("marked@example.com") == []
    monkeypatch.undo()
    assert await send_due_mail(sessions, configured) == 1
    assert len(smtp_server.mailbox.wait_for("marked@example.com")) == 1
    assert (await row(sessions, mail_id)).status == "sent"


async def test_a_shutdown_while_a_sent_mail_is_recorded_records_it_sent(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server took the mail and the stop comes while that is written down: the
    row still says sent, so the next start neither sends it again nor calls it failed."""
    import asyncio

    configured = smtp_settings(settings, smtp_server)
    mail_id = await queue(sessions, configured, "recorded@example.com")
    reached, gate = gated_record(
        monkeypatch, lambda values: values.get("status") == "sent", written_first=False
    )
    await stop_at(asyncio.create_task(send_due_mail(sessions, configured)), reached, gate)

    stored = await row(sessions, mail_id)
    assert (stored.status, stored.sending_since, stored.lease_until) == ("sent", None, None)
    assert len(smtp_server.mailbox.wait_for("recorded@example.com")) == 1
    monkeypatch.undo()
    assert await send_due_mail(sessions, configured) == 0


async def test_a_sender_that_lost_its_lease_neither_sends_nor_writes(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from app.core.clock import clock
    from app.workers import mail_sender

    configured = smtp_settings(settings, smtp_server)
    mail_id = await queue(sessions, configured, "lease@example.com")
    taken_over = clock.now() + timedelta(hours=1)
    real_server_for = mail_sender._Inboxes.server_for

    async def slow_server_for(*args: Any) -> Any:
        # Meanwhile the lease ran out and another worker claimed the mail.
        async with sessions() as session, session.begin():
            await session.execute(
                update(OutgoingEmail)
                .where(OutgoingEmail.id == mail_id)
                .values(lease_until=taken_over)
            )
        return await real_server_for(*args)

    monkeypatch.setattr(mail_sender._Inboxes, "server_for", slow_server_for)
    assert await send_due_mail(sessions, configured) == 1
    stored = await row(sessions, mail_id)
    assert (stored.status, stored.sending_since, stored.lease_until) == (
        "pending",
        None,
        taken_over,
    )
    assert smtp_server.mailbox.to("lease@example.com") == []  # the other worker sends it


async def test_a_round_sends_its_mail_over_one_connection(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, smtp_server: SmtpServer
) -> None:
    configured = smtp_settings(settings, smtp_server)
    for i in range(5):
        await queue(sessions, configured, f"batch{i}@example.com")
    assert await send_due_mail(sessions, configured) == 5
    for i in range(5):
        assert len(smtp_server.mailbox.wait_for(f"batch{i}@example.com")) == 1
    assert len(smtp_server.mailbox.peers) == 5
    assert len(set(smtp_server.mailbox.peers)) == 1  # one connection, five messages


async def test_an_unreachable_server_is_tried_once_a_round(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with FaultySmtp("refuse") as server:  # 421 at the greeting
        refusing = smtp_settings(settings, server)
        ids = [await queue(sessions, refusing, f"down{i}@example.com") for i in range(4)]
        assert await send_due_mail(sessions, refusing) == 4
        assert server.connections == 1  # not once per mail, each waiting for its answer
    for mail_id in ids:
        stored = await row(sessions, mail_id)
        assert (stored.status, stored.attempts, stored.lease_until) == ("pending", 1, None)
        assert stored.last_error and "421" in stored.last_error
        assert stored.next_attempt_at > stored.created_at  # retried later, with backoff


async def queue_unrendered(
    sessions: async_sessionmaker[AsyncSession], to: str, kind: str = "ticket_received"
) -> int:
    row = outgoing.deferred_row(
        kind=kind,
        to=to,
        language="pl",
        values={"title": "Drukarka", "board_name": "Printers", "link": LINK},
        subject_suffix=" [ref:0123456789ab]",
    )
    async with sessions() as session, session.begin():
        queued = await outgoing.enqueue_capped(
            OnSession(session), row, cap=10, window=timedelta(hours=1)
        )
    assert queued is not None
    return queued


async def test_a_mail_queued_unrendered_is_rendered_once_by_the_worker(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    configured = smtp_settings(settings, smtp_server)
    mail_id = await queue_unrendered(sessions, "ola@example.com")
    queued = await row(sessions, mail_id)
    assert (queued.subject, queued.text_body, queued.message_id) == (None, None, None)

    # Its first attempt is refused: it was rendered when claimed, and that is kept.
    smtp_server.mailbox.refuse_with = ["451 4.3.0 try again later"]
    await send_due_mail(sessions, configured)
    first = await row(sessions, mail_id)
    assert first.status == "pending" and first.template_values is None
    assert first.subject == "Otrzymaliśmy Twoje zgłoszenie: Drukarka [ref:0123456789ab]"
    assert first.message_id and first.text_body and LINK in first.text_body

    async with sessions() as session, session.begin():
        (await session.get_one(OutgoingEmail, mail_id)).next_attempt_at = first.created_at
    await send_due_mail(sessions, configured)
    [message] = smtp_server.mailbox.wait_for("ola@example.com")
    # The same message as rendered the first time, not rendered again.
    assert message["Message-ID"] == first.message_id
    assert message["Subject"] == first.subject
    assert (await row(sessions, mail_id)).status == "sent"


async def test_a_mail_that_cannot_be_rendered_fails_alone(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    configured = smtp_settings(settings, smtp_server)
    broken = await queue_unrendered(sessions, "broken@example.com", kind="no_such_template")
    fine = await queue_unrendered(sessions, "fine@example.com")
    await send_due_mail(sessions, configured)
    failed = await row(sessions, broken)
    assert failed.status == "failed" and failed.lease_until is None
    assert failed.last_error == "could not be rendered: KeyError"
    assert failed.template_values is not None  # kept, to be looked at
    assert len(smtp_server.mailbox.wait_for("fine@example.com")) == 1
    assert (await row(sessions, fine)).status == "sent"


def test_a_sensitive_mail_is_never_queued_unrendered() -> None:
    with pytest.raises(ValueError, match="sensitive"):
        outgoing.deferred_row(
            kind="password_reset", to="a@example.com", language="en", values={}, sensitive=True
        )
