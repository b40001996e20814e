"""The inbox worker in-process: a broken inbox or a poison message stops nothing else."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import clock
from app.core.config import Settings
from app.inboxes.models import EmailInbox
from app.intake import ingest
from app.intake.models import ProcessedEmail
from app.standby.models import StandbyQueueItem
from app.tickets.models import Ticket
from app.workers import inbox_poller
from app.workers.inbox_poller import InboxPoller
from tests.dovecot import Dovecot
from tests.workers.helpers import seed_dovecot_inbox

KEY = base64.b64encode(os.urandom(32)).decode()


def message(number: int, subject: str = "printer") -> bytes:
    return (
        f"From: r{number}@example.org\r\nSubject: {subject} {number}\r\n"
        f"Message-ID: <poll-{number}@example.org>\r\n\r\nprinter\r\n"
    ).encode()


def inbox_for(database: str, dovecot: Dovecot, login: str, password: str, name: str) -> int:
    return seed_dovecot_inbox(
        database, dovecot, login, password, key=KEY, manager="poll@example.com", name=name
    )


async def ticket_titles(sessions: async_sessionmaker[AsyncSession], inbox_id: int) -> list[str]:
    """The titles of the tickets the inbox's mail became, sorted."""
    async with sessions() as session:
        return sorted(
            await session.scalars(
                select(Ticket.title)
                .join(ProcessedEmail, ProcessedEmail.ticket_uuid == Ticket.uuid)
                .where(ProcessedEmail.email_inbox_id == inbox_id)
            )
        )


async def one_session(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    inbox_id: int,
    monkeypatch: pytest.MonkeyPatch,
    parse_processes: int | None = None,
    prepare: Callable[[InboxPoller], None] | None = None,
    **overrides: object,
) -> InboxPoller:
    """One poller session for the inbox: a single sync, no IDLE wait; `prepare` sees
    the poller before it starts."""
    poller = InboxPoller(
        settings.model_copy(update={"ENCRYPTION_KEY": KEY, "ENCRYPTION_KEYS_OLD": "", **overrides}),
        sessions,
        parse_processes=parse_processes,
    )
    monkeypatch.setattr(poller, "session_seconds", 0)
    if prepare is not None:
        prepare(poller)
    await poller.step()
    async with asyncio.timeout(60):
        await poller.sessions[inbox_id]
    return poller


async def test_a_broken_inbox_and_a_poison_message_stop_nothing(
    database: str,
    sessions: async_sessionmaker[AsyncSession],
    dovecot: Dovecot,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good_login, password = dovecot.add_user()
    good = inbox_for(database, dovecot, good_login, password, "Good")
    broken = inbox_for(database, dovecot, "someone@example.com", "wrong-password", "Broken")
    for number in range(3):
        dovecot.append(good_login, password, message(number))

    real_ingest = ingest.ingest_message

    async def poisoned(session: AsyncSession, *args: Any, **kwargs: Any) -> Any:
        raw: bytes = args[2]
        if b"poll-1@" in raw:
            raise ValueError("this message breaks the pipeline")
        return await real_ingest(session, *args, **kwargs)

    monkeypatch.setattr(inbox_poller, "ingest_message", poisoned)
    poller = InboxPoller(
        settings.model_copy(update={"ENCRYPTION_KEY": KEY, "ENCRYPTION_KEYS_OLD": ""}), sessions
    )
    monkeypatch.setattr(poller, "session_seconds", 0)  # one sync, no IDLE wait
    await poller.step()
    for task in list(poller.sessions.values()):
        await task

    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 2
        outcomes = sorted(await session.scalars(select(ProcessedEmail.outcome)))
        assert outcomes == ["error", "ticket", "ticket"]
        [item] = await session.scalars(select(StandbyQueueItem))
        assert item.reason == "unreadable" and "breaks the pipeline" in item.payload["error"]
        good_row = await session.get_one(EmailInbox, good)
        broken_row = await session.get_one(EmailInbox, broken)
    assert good_row.last_error is None and good_row.last_polled_at is not None
    assert good_row.last_seen_uid == 3 and good_row.lease_until is None
    assert broken_row.last_error and "username or password" in broken_row.last_error
    assert broken_row.next_poll_at and good_row.next_poll_at
    assert broken_row.next_poll_at > good_row.next_poll_at  # retried later, not hammered
    flags = dovecot.flags(good_login, password)
    assert all("\\Seen" in f for f in flags.values())  # the poison one too: it is kept


async def test_a_poll_asked_for_during_a_session_is_not_lost(
    database: str,
    sessions: async_sessionmaker[AsyncSession],
    dovecot: Dovecot,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    login, password = dovecot.add_user()
    inbox_id = inbox_for(database, dovecot, login, password, "Asked")
    poller = InboxPoller(
        settings.model_copy(update={"ENCRYPTION_KEY": KEY, "ENCRYPTION_KEYS_OLD": ""}), sessions
    )
    monkeypatch.setattr(poller, "session_seconds", 0)
    assert await poller.step() == 1  # claimed; its session has not run yet
    async with sessions() as session, session.begin():  # "poll now", as the API does it
        await session.execute(
            update(EmailInbox).where(EmailInbox.id == inbox_id).values(next_poll_at=func.now())
        )
    await poller.sessions[inbox_id]
    async with sessions() as session:
        row = await session.get_one(EmailInbox, inbox_id)
    assert row.next_poll_at is not None and row.last_polled_at is not None
    # Without the request the next poll would be an hour (the interval) away.
    assert (row.next_poll_at - row.last_polled_at).total_seconds() < 60


UTF7_POISON = (
    b"From: seven@example.org\r\nSubject: printer in UTF-7\r\n"
    b"Message-ID: <poll-utf7@example.org>\r\n"
    b"Content-Type: text/plain; charset=utf-7\r\n\r\n"
    b"printer +2D0- jammed +3gA-\r\n"  # each decodes to a lone surrogate
)


async def test_a_mail_that_decodes_to_lone_surrogates_stops_no_later_mail(
    database: str,
    sessions: async_sessionmaker[AsyncSession],
    dovecot: Dovecot,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    login, password = dovecot.add_user()
    inbox_id = inbox_for(database, dovecot, login, password, "Seven")
    dovecot.append(login, password, UTF7_POISON)
    dovecot.append(login, password, message(7))
    await one_session(sessions, settings, inbox_id, monkeypatch)

    async with sessions() as session:
        rows = (
            await session.execute(
                select(Ticket.title, Ticket.description)
                .join(ProcessedEmail, ProcessedEmail.ticket_uuid == Ticket.uuid)
                .where(ProcessedEmail.email_inbox_id == inbox_id)
                .order_by(ProcessedEmail.id)
            )
        ).all()
        row = await session.get_one(EmailInbox, inbox_id)
    assert [title for title, _ in rows] == ["printer in UTF-7", "printer 7"]
    assert rows[0][1] == "printer jammed"  # the surrogates dropped, the rest kept
    assert row.last_error is None and row.last_seen_uid == 2


async def test_a_message_that_fails_again_when_recorded_is_kept_from_its_bytes(
    database: str,
    sessions: async_sessionmaker[AsyncSession],
    dovecot: Dovecot,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    login, password = dovecot.add_user()
    inbox_id = inbox_for(database, dovecot, login, password, "Twice")
    dovecot.append(login, password, message(21))
    dovecot.append(login, password, message(22))

    def unreadable(raw: bytes) -> Any:
        mail = real_parse(raw)
        if b"poll-21@" in raw:  # a parser bug: text no encoder takes, every time
            mail.text += "\ud83d"
        return mail

    real_parse = ingest.parse_email
    monkeypatch.setattr(ingest, "parse_email", unreadable)
    # Parsed in this process, where the test's parser replaces the real one.
    await one_session(sessions, settings, inbox_id, monkeypatch, parse_processes=0)

    async with sessions() as session:
        outcomes = list(
            await session.scalars(
                select(ProcessedEmail.outcome)
                .where(ProcessedEmail.email_inbox_id == inbox_id)
                .order_by(ProcessedEmail.id)
            )
        )
        item = await session.scalar(
            select(StandbyQueueItem).where(StandbyQueueItem.email_inbox_id == inbox_id)
        )
    assert outcomes == ["error", "ticket"]
    assert item is not None and "surrogates not allowed" in item.payload["error"]
    assert "poll-21@example.org" in item.payload["text"]  # the bytes are kept to read


async def test_a_message_over_the_size_limit_is_not_downloaded_and_stops_nothing(
    database: str,
    sessions: async_sessionmaker[AsyncSession],
    dovecot: Dovecot,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    login, password = dovecot.add_user()
    inbox_id = inbox_for(database, dovecot, login, password, "Large")
    big = message(31).replace(b"\r\n\r\nprinter\r\n", b"\r\n\r\n" + b"printer page\r\n" * 2000)
    dovecot.append(login, password, big)
    dovecot.append(login, password, message(32))
    fetched: list[int] = []
    real_fetch = inbox_poller.ImapMailbox.fetch_many

    async def fetch_many(box: Any, uids: list[int]) -> dict[int, bytes | bytearray]:
        fetched.extend(uids)
        return await real_fetch(box, uids)

    monkeypatch.setattr(inbox_poller.ImapMailbox, "fetch_many", fetch_many)
    await one_session(sessions, settings, inbox_id, monkeypatch, MAX_MESSAGE_BYTES=4096)

    async with sessions() as session:
        item = await session.scalar(
            select(StandbyQueueItem).where(StandbyQueueItem.email_inbox_id == inbox_id)
        )
        titles = list(
            await session.scalars(
                select(Ticket.title)
                .join(ProcessedEmail, ProcessedEmail.ticket_uuid == Ticket.uuid)
                .where(ProcessedEmail.email_inbox_id == inbox_id)
            )
        )
    assert item is not None and item.reason == "too_large"
    assert item.payload["subject"] == "printer 31" and item.payload["sender"] == "r31@example.org"
    assert item.payload["size"] > 4096
    assert titles == ["printer 32"]
    assert fetched == [2]  # the large one was never downloaded whole
    assert all("\\Seen" in f for f in dovecot.flags(login, password).values())


async def test_changed_settings_end_a_running_session_and_none_of_its_writes_land(
    database: str,
    sessions: async_sessionmaker[AsyncSession],
    dovecot: Dovecot,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    from app.auth.models import Manager
    from app.inboxes.schemas import InboxUpdate
    from app.inboxes.service import update_inbox

    login, password = dovecot.add_user()
    inbox_id = inbox_for(database, dovecot, login, password, "Moving")
    dovecot.append(login, password, message(41))
    configured = settings.model_copy(update={"ENCRYPTION_KEY": KEY, "ENCRYPTION_KEYS_OLD": ""})
    poller = InboxPoller(configured, sessions)
    monkeypatch.setattr(poller, "idle_seconds", 0.5)
    monkeypatch.setattr(poller, "session_seconds", 600)  # it would idle for ten minutes
    await poller.step()
    session_task = poller.sessions[inbox_id]

    async def row() -> EmailInbox:
        async with sessions() as session:
            return await session.get_one(EmailInbox, inbox_id)

    async with asyncio.timeout(20):  # the first sync is done: the session idles now
        while (await row()).last_seen_uid is None:
            assert not session_task.done()
            await asyncio.sleep(0.05)

    async with sessions() as session, session.begin():  # the manager edits the folder
        manager = await session.scalar(select(Manager).where(Manager.email == "poll@example.com"))
        assert manager is not None
        await update_inbox(session, configured, manager, inbox_id, InboxUpdate(imap_folder="inbox"))

    async with asyncio.timeout(20):
        await session_task  # ended by the change, not after its ten minutes
    after = await row()
    assert (after.uid_validity, after.last_seen_uid) == (None, None)  # nothing written back
    assert after.lease_until is None and after.imap_folder == "inbox"


async def test_a_database_that_stops_answering_mid_mail_leaves_the_mail_to_read_again(
    database: str,
    sessions: async_sessionmaker[AsyncSession],
    dovecot: Dovecot,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not a poison mail: the database went away. The mail stays unseen and becomes a
    ticket once the database answers, instead of waiting in standby as unreadable."""
    login, password = dovecot.add_user()
    inbox_id = inbox_for(database, dovecot, login, password, "Outage")
    dovecot.append(login, password, message(8))
    real_ingest = ingest.ingest_message

    async def database_gone(*args: Any, **kwargs: Any) -> Any:
        raise asyncpg.CannotConnectNowError("the database system is starting up")

    monkeypatch.setattr(inbox_poller, "ingest_message", database_gone)
    await one_session(sessions, settings, inbox_id, monkeypatch)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(StandbyQueueItem)) == 0
        assert await session.scalar(select(func.count()).select_from(ProcessedEmail)) == 0
    assert "\\Seen" not in dovecot.flags(login, password)[1]

    monkeypatch.setattr(inbox_poller, "ingest_message", real_ingest)
    async with sessions() as session, session.begin():  # due again at once
        await session.execute(
            update(EmailInbox).where(EmailInbox.id == inbox_id).values(next_poll_at=func.now())
        )
    await one_session(sessions, settings, inbox_id, monkeypatch)
    async with sessions() as session:
        assert list(await session.scalars(select(Ticket.title))) == ["printer 8"]
        assert await session.scalar(select(func.count()).select_from(StandbyQueueItem)) == 0


async def test_a_message_delivered_twice_in_one_batch_becomes_one_ticket(
    database: str,
    sessions: async_sessionmaker[AsyncSession],
    dovecot: Dovecot,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    login, password = dovecot.add_user()
    inbox_id = inbox_for(database, dovecot, login, password, "Twice delivered")
    for raw in (message(51), message(52), message(51)):  # read in one batch
        dovecot.append(login, password, raw)
    await one_session(sessions, settings, inbox_id, monkeypatch)

    titles = await ticket_titles(sessions, inbox_id)
    async with sessions() as session:
        row = await session.get_one(EmailInbox, inbox_id)
    assert titles == ["printer 51", "printer 52"]
    assert row.last_seen_uid == 3
    assert all("\\Seen" in f for f in dovecot.flags(login, password).values())


async def test_replies_wait_while_a_backlog_is_read_not_for_one_new_mail(
    database: str,
    sessions: async_sessionmaker[AsyncSession],
    dovecot: Dovecot,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inbox_poller, "FETCH_BATCH", 2)
    login, password = dovecot.add_user()
    inbox_id = inbox_for(database, dovecot, login, password, "Backlog")
    for number in range(1, 6):
        dovecot.append(login, password, message(number))
    quiet_while_storing: list[bool] = []

    def watch(poller: InboxPoller) -> None:
        """Note whether mail may go while each batch is stored."""
        store = poller._store

        async def watched(inbox: int, batch: inbox_poller.Fetched) -> None:
            quiet_while_storing.append(poller.quiet.is_set())
            await store(inbox, batch)

        monkeypatch.setattr(poller, "_store", watched)

    async def session_storing() -> InboxPoller:
        return await one_session(
            sessions, settings, inbox_id, monkeypatch, parse_processes=0, prepare=watch
        )

    poller = await session_storing()
    assert quiet_while_storing == [False, False, False]  # five mails, batches of two
    assert poller.quiet.is_set()  # and the replies go once it is read

    dovecot.append(login, password, message(6))
    async with sessions() as session, session.begin():  # "poll now"
        inbox = await session.get_one(EmailInbox, inbox_id)
        inbox.next_poll_at = clock.now()
    quiet_while_storing.clear()
    await session_storing()  # another worker's session: this one just handed it back
    assert quiet_while_storing == [True]


async def test_a_session_that_loses_its_inbox_mid_backlog_writes_no_further_batch(
    database: str,
    sessions: async_sessionmaker[AsyncSession],
    dovecot: Dovecot,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Another worker took the inbox over (this one stalled past its lease) while a
    batch was written: the session flags what it wrote and stops before the next
    batch, which the other worker reads."""
    monkeypatch.setattr(inbox_poller, "FETCH_BATCH", 2)
    login, password = dovecot.add_user()
    inbox_id = inbox_for(database, dovecot, login, password, "Taken over")
    for number in range(1, 7):
        dovecot.append(login, password, message(number))
    stored: list[list[int]] = []

    def taken_over_while_the_first_batch_is_written(poller: InboxPoller) -> None:
        store, fetch_next = poller._store, poller._fetch_next

        async def watched_store(inbox: int, batch: inbox_poller.Fetched) -> None:
            stored.append(batch.uids)
            await store(inbox, batch)

        async def watched_fetch(*args: Any) -> inbox_poller.Fetched | None:
            if stored:  # the next batch is read while the first is written
                async with sessions() as session, session.begin():
                    await session.execute(
                        update(EmailInbox)
                        .where(EmailInbox.id == inbox_id)
                        .values(lease_owner="another-worker")
                    )
            return await fetch_next(*args)

        monkeypatch.setattr(poller, "_store", watched_store)
        monkeypatch.setattr(poller, "_fetch_next", watched_fetch)

    await one_session(
        sessions,
        settings,
        inbox_id,
        monkeypatch,
        parse_processes=0,
        prepare=taken_over_while_the_first_batch_is_written,
    )
    assert stored == [[1, 2]]
    titles = await ticket_titles(sessions, inbox_id)
    async with sessions() as session:
        row = await session.get_one(EmailInbox, inbox_id)
    assert titles == ["printer 1", "printer 2"]
    assert any("handed to another worker" in getattr(r, "error", "") for r in caplog.records)
    assert row.lease_owner == "another-worker"  # it reads on from message 3
    flags = dovecot.flags(login, password)
    assert [uid for uid in sorted(flags) if "\\Seen" in flags[uid]] == [1, 2]


async def test_a_batch_is_flagged_and_its_position_saved_only_after_its_commit(
    database: str,
    sessions: async_sessionmaker[AsyncSession],
    dovecot: Dovecot,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While a batch is written, the one before it is flagged and its position saved
    beside the write; never the batch still being written."""
    monkeypatch.setattr(inbox_poller, "FETCH_BATCH", 2)
    login, password = dovecot.add_user()
    inbox_id = inbox_for(database, dovecot, login, password, "In order")
    dovecot.append(login, password, message(1))
    await one_session(sessions, settings, inbox_id, monkeypatch, parse_processes=0)
    for number in range(2, 8):  # UIDs 2 to 7: batches of 2-3, 4-5 and 6-7
        dovecot.append(login, password, message(number))
    async with sessions() as session, session.begin():  # due again at once
        await session.execute(
            update(EmailInbox).where(EmailInbox.id == inbox_id).values(next_poll_at=func.now())
        )
    while_writing: dict[str, Any] = {}

    async def position() -> int | None:
        async with sessions() as session:
            return (await session.get_one(EmailInbox, inbox_id)).last_seen_uid

    def look_while_the_second_batch_is_written(poller: InboxPoller) -> None:
        store = poller._store

        async def watched(inbox: int, batch: inbox_poller.Fetched) -> None:
            if batch.uids == [4, 5]:
                async with asyncio.timeout(20):  # the batch before, done beside it
                    while await position() != 3:
                        await asyncio.sleep(0.02)
                flags = await asyncio.to_thread(dovecot.flags, login, password)
                while_writing["seen"] = sorted(uid for uid, f in flags.items() if "\\Seen" in f)
                while_writing["position"] = await position()
            await store(inbox, batch)

        monkeypatch.setattr(poller, "_store", watched)

    await one_session(
        sessions,
        settings,
        inbox_id,
        monkeypatch,
        parse_processes=0,
        prepare=look_while_the_second_batch_is_written,
    )
    assert while_writing == {"seen": [1, 2, 3], "position": 3}
    assert await position() == 7
    assert await ticket_titles(sessions, inbox_id) == sorted(f"printer {n}" for n in range(1, 8))
    assert all("\\Seen" in f for f in dovecot.flags(login, password).values())
