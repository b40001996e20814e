"""One email → one outcome, through `ingest_message`, against the real database."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import create_manager
from app.boards.models import Board, BoardKeyword
from app.core.config import Settings
from app.core.direct import Pipeline, below
from app.inboxes.models import EmailInbox
from app.intake.ingest import inbox_context, ingest_message
from app.intake.models import ProcessedEmail
from app.intake.parse import parse_email
from app.outbox.models import OutgoingEmail
from app.outbox.outgoing import render_claimed
from app.standby.models import StandbyQueueItem
from app.tickets import service as tickets
from app.tickets.models import Ticket
from tests.database import driver_statements_during

SAMPLES = Path(__file__).parent / "samples"


def mail(
    subject: str, body: str, *, sender: str = "jan@example.org", msgid: str = "", extra: str = ""
) -> bytes:
    msgid = msgid or f"<{abs(hash((subject, body, sender, extra)))}@example.org>"
    return (
        f"From: Jan <{sender}>\r\nTo: help@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: {msgid}\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


async def manager_with_inbox(db: AsyncSession, who: str, name: str, address: str) -> EmailInbox:
    """A verified manager `who`@example.com and their inbox."""
    manager = await create_manager(
        db,
        email=f"{who}@example.com",
        password="long enough pw",
        full_name=who.title(),
        language="en",
        verified=True,
    )
    box = EmailInbox(
        manager_id=manager.id,
        name=name,
        email_address=address,
        imap_host="imap.example.com",
        smtp_host="smtp.example.com",
    )
    db.add(box)
    await db.flush()
    return box


@pytest.fixture
async def inbox(db: AsyncSession) -> EmailInbox:
    box = await manager_with_inbox(db, "boss", "Help", "help@example.com")
    manager_id = box.manager_id
    for name, keywords, active in (
        ("Printers", ["printer", "drukarka"], True),
        ("Network", ["wifi"], True),
        ("Scanners", ["scanner"], False),
    ):
        board = Board(
            manager_id=manager_id,
            name=name,
            public_id=f"{name.lower():_<22}",
            email_inbox_id=box.id,
            is_active=active,
            archived_at=None if active else func.now(),
        )
        db.add(board)
        await db.flush()
        db.add_all(BoardKeyword(board_id=board.id, keyword=k) for k in keywords)
    await db.flush()
    return box


async def ingest(
    db: AsyncSession, settings: Settings, inbox: EmailInbox, raw: bytes, uid: int = 1
) -> str:
    result = await ingest_message(db, settings, inbox, raw, uid=uid)
    return result.outcome


async def board_of(db: AsyncSession, raw_subject: str) -> str | None:
    return await db.scalar(
        select(Board.name)
        .join(Ticket, Ticket.board_id == Board.id)
        .where(Ticket.title == raw_subject)
    )


async def standby_reasons(db: AsyncSession) -> list[str]:
    return list(await db.scalars(select(StandbyQueueItem.reason).order_by(StandbyQueueItem.id)))


async def test_routing_outcomes(db: AsyncSession, settings: Settings, inbox: EmailInbox) -> None:
    assert await ingest(db, settings, inbox, mail("Printer jams", "paper")) == "ticket"
    assert await board_of(db, "Printer jams") == "Printers"
    assert await ingest(db, settings, inbox, mail("Help", "printer and wifi")) == "standby"
    assert await ingest(db, settings, inbox, mail("WiFi down", "printer too")) == "ticket"
    assert await board_of(db, "WiFi down") == "Network"
    assert await ingest(db, settings, inbox, mail("Hello", "nothing here")) == "standby"
    assert await ingest(db, settings, inbox, mail("Printers!", "reprinting")) == "standby"
    assert await ingest(db, settings, inbox, mail("scanner broken", "")) == "standby"
    assert await standby_reasons(db) == ["ambiguous", "no_match", "no_match", "board_inactive"]
    ambiguous = await db.scalar(
        select(StandbyQueueItem).where(StandbyQueueItem.reason == "ambiguous")
    )
    assert ambiguous is not None
    assert {c["name"] for c in ambiguous.payload["candidates"]} == {"Printers", "Network"}
    assert ambiguous.payload["sender"] == "jan@example.org"
    assert ambiguous.payload["text"] == "printer and wifi"
    assert ambiguous.email_inbox_id == inbox.id and ambiguous.kind == "unrouted_email"


async def test_ignored_mail_gets_nothing(
    db: AsyncSession, settings: Settings, inbox: EmailInbox
) -> None:
    for name, outcome in (
        ("out-of-office.eml", "ignored_autoreply"),
        ("bounce.eml", "ignored_bounce"),
    ):
        assert await ingest(db, settings, inbox, (SAMPLES / name).read_bytes()) == outcome
    assert await db.scalar(select(func.count()).select_from(Ticket)) == 0
    assert await db.scalar(select(func.count()).select_from(StandbyQueueItem)) == 0
    assert await db.scalar(select(func.count()).select_from(OutgoingEmail)) == 0
    assert await db.scalar(select(func.count()).select_from(ProcessedEmail)) == 2


async def test_a_routed_report_gets_one_threaded_acknowledgement_from_the_inbox(
    db: AsyncSession, settings: Settings, inbox: EmailInbox
) -> None:
    raw = (SAMPLES / "polish-qp-iso-8859-2.eml").read_bytes()
    assert await ingest(db, settings, inbox, raw) == "ticket"
    ticket = await db.scalar(select(Ticket))
    assert ticket is not None
    assert ticket.title == "Drukarka nie działa - zażółć gęślą jaźń"
    assert (ticket.source, ticket.language) == ("email", "pl")
    assert ticket.reporter_name == "Zbigniew Grębowski"
    assert ticket.email_message_id == "<pl-qp-1@example.pl>"
    [ack] = await db.scalars(select(OutgoingEmail))
    assert ack.to_address == "zbyszek@example.pl" and ack.language == "pl"
    assert ack.headers["In-Reply-To"] == "<pl-qp-1@example.pl>"
    assert ack.headers["References"] == "<pl-qp-1@example.pl>"
    assert ack.headers["Auto-Submitted"] == "auto-replied"
    assert ack.email_inbox_id == inbox.id and ack.from_address == "help@example.com"


async def test_a_routed_email_is_placed_answered_and_recorded_in_one_statement(
    db: AsyncSession, settings: Settings, inbox: EmailInbox
) -> None:
    statements = await driver_statements_during(db)
    assert await ingest(db, settings, inbox, mail("Printer jams", "paper"), uid=7) == "ticket"
    ticket = await db.scalar(select(Ticket))
    record = await db.scalar(select(ProcessedEmail))
    ack = await db.scalar(select(OutgoingEmail))
    assert ticket is not None and record is not None and ack is not None
    assert (record.outcome, record.ticket_uuid, record.imap_uid) == ("ticket", ticket.uuid, 7)
    assert record.email_inbox_id == inbox.id and record.standby_item_id is None
    assert ack.ticket_uuid == ticket.uuid
    # (asyncpg logs a statement on the loop's next turn: the reads above gave it that.)
    writes = [s for s in statements if "INSERT INTO" in s]
    # The ticket with its history, the acknowledgement and the email's record.
    assert len(writes) == 1, writes
    for part in (
        "INSERT INTO tickets",
        "INSERT INTO ticket_status_changes",
        "INSERT INTO outgoing_emails",
        "INSERT INTO processed_emails",
    ):
        assert part in writes[0], part


async def test_a_taken_uuid_is_drawn_again_and_the_record_names_the_new_one(
    db: AsyncSession, settings: Settings, inbox: EmailInbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await ingest(db, settings, inbox, mail("Printer jams", "paper")) == "ticket"
    taken = await db.scalar(select(Ticket.uuid))
    fresh = uuid.uuid4()
    draws = iter([taken, fresh])
    monkeypatch.setattr(tickets, "generate_uuid", lambda: next(draws))
    assert await ingest(db, settings, inbox, mail("Printer smokes", "paper")) == "ticket"
    records = list(await db.scalars(select(ProcessedEmail.ticket_uuid).order_by(ProcessedEmail.id)))
    acks = list(await db.scalars(select(OutgoingEmail.ticket_uuid).order_by(OutgoingEmail.id)))
    # The taken draw wrote nothing: one ticket, one answer and one record per email.
    assert records == acks == [taken, fresh]
    assert await db.scalar(select(func.count()).select_from(Ticket)) == 2


async def batch(
    db: AsyncSession, settings: Settings, inbox: EmailInbox, raws: list[bytes], round_size: int = 2
) -> list[str]:
    """The messages written as the inbox worker writes a batch: the reports sent in
    rounds while the next messages are decided, all written at the end."""
    parsed = [parse_email(raw) for raw in raws]
    context = await inbox_context(db, inbox, parsed)
    pipeline = Pipeline((await below(db)).connection, round_size=round_size)
    context = replace(context, pipeline=pipeline)
    outcomes = []
    for uid, (raw, parsed_mail) in enumerate(zip(raws, parsed, strict=True), start=1):
        result = await ingest_message(
            db, settings, inbox, raw, uid=uid, mail=parsed_mail, context=context
        )
        outcomes.append(result.outcome)
    await context.settle()
    return outcomes


@pytest.mark.parametrize("round_size", [1, 3])
async def test_a_batch_sends_its_reports_together_and_each_email_has_its_one_outcome(
    db: AsyncSession, settings: Settings, inbox: EmailInbox, round_size: int
) -> None:
    """Reports go into the pipeline; an ignored mail, one for standby and a duplicate
    do not, and each waits for the reports before it (in rounds of one, each report is
    on the connection as soon as it is decided). Everything lands once, in order."""
    first = mail("Printer jams", "paper", msgid="<first@example.org>")
    raws = [
        first,
        (SAMPLES / "out-of-office.eml").read_bytes(),
        mail("WiFi down", "since noon"),
        mail("Hello", "nothing here"),  # no board: standby
        mail("Printer smokes", "fire"),
        first,  # delivered twice in the batch
        mail("Drukarka", "nie drukuje"),
    ]
    outcomes = await batch(db, settings, inbox, raws, round_size)
    assert outcomes == [
        "ticket", "ignored_autoreply", "ticket", "standby", "ticket", "duplicate", "ticket"
    ]  # fmt: skip
    records = (
        await db.execute(
            select(
                ProcessedEmail.imap_uid, ProcessedEmail.outcome, ProcessedEmail.ticket_uuid
            ).order_by(ProcessedEmail.imap_uid)
        )
    ).all()
    tickets_in_order = (
        await db.execute(select(Ticket.title, Ticket.uuid).order_by(Ticket.id))
    ).all()
    assert [t.title for t in tickets_in_order] == [
        "Printer jams", "WiFi down", "Printer smokes", "Drukarka"
    ]  # fmt: skip
    assert [(r.imap_uid, r.outcome) for r in records] == [
        (1, "ticket"), (2, "ignored_autoreply"), (3, "ticket"), (4, "standby"), (5, "ticket"),
        (7, "ticket"),
    ]  # fmt: skip
    placed = [r.ticket_uuid for r in records if r.outcome == "ticket"]
    assert placed == [t.uuid for t in tickets_in_order]
    acks = list(await db.scalars(select(OutgoingEmail.ticket_uuid).order_by(OutgoingEmail.id)))
    assert acks == placed
    assert await standby_reasons(db) == ["no_match"]


async def test_a_taken_uuid_in_a_batch_is_drawn_again_when_its_round_is_answered(
    db: AsyncSession, settings: Settings, inbox: EmailInbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await ingest(db, settings, inbox, mail("Printer jams", "paper")) == "ticket"
    taken = await db.scalar(select(Ticket.uuid))
    fresh, other = uuid.uuid4(), uuid.uuid4()
    draws = iter([taken, other, fresh])
    monkeypatch.setattr(tickets, "generate_uuid", lambda: next(draws))
    raws = [mail("Printer smokes", "paper"), mail("WiFi down", "since noon")]
    assert await batch(db, settings, inbox, raws) == ["ticket", "ticket"]
    records = list(await db.scalars(select(ProcessedEmail.ticket_uuid).order_by(ProcessedEmail.id)))
    acks = list(await db.scalars(select(OutgoingEmail.ticket_uuid).order_by(OutgoingEmail.id)))
    # The taken draw wrote nothing; its report was placed again under the next draw.
    assert records == acks == [taken, other, fresh]
    assert await db.scalar(select(func.count()).select_from(Ticket)) == 3


async def test_list_mail_is_routed_but_never_answered(
    db: AsyncSession, settings: Settings, inbox: EmailInbox
) -> None:
    raw = (SAMPLES / "mailing-list.eml").read_bytes()
    assert await ingest(db, settings, inbox, raw) == "ticket"
    assert await db.scalar(select(func.count()).select_from(OutgoingEmail)) == 0


async def test_the_same_message_twice_is_one_record(
    db: AsyncSession, settings: Settings, inbox: EmailInbox
) -> None:
    raw = mail("Printer jams", "paper", msgid="<same@example.org>")
    assert await ingest(db, settings, inbox, raw, uid=1) == "ticket"
    assert await ingest(db, settings, inbox, raw, uid=2) == "duplicate"
    # A broken mailer reusing the Message-ID for other mail is still heard.
    other = mail("Printer smokes", "fire", msgid="<same@example.org>")
    assert await ingest(db, settings, inbox, other, uid=3) == "ticket"
    assert await db.scalar(select(func.count()).select_from(Ticket)) == 2
    assert await db.scalar(select(func.count()).select_from(ProcessedEmail)) == 2
    assert await db.scalar(select(func.count()).select_from(OutgoingEmail)) == 2


async def sent(db: AsyncSession, settings: Settings, mail: OutgoingEmail) -> None:
    """Rendered, as the mail worker renders a mail it sends: a reply can only name a
    mail that went out."""
    render_claimed(mail, settings)
    await db.flush()


async def test_replies_to_our_mail_wait_in_standby(
    db: AsyncSession, settings: Settings, inbox: EmailInbox
) -> None:
    await ingest(db, settings, inbox, mail("Printer jams", "paper"))
    [ack] = await db.scalars(select(OutgoingEmail))
    await sent(db, settings, ack)
    reply = mail(
        "Re: We received your report",
        "printer still jams, thanks",
        extra=f"In-Reply-To: {ack.message_id}\r\nReferences: {ack.message_id}\r\n",
    )
    assert await ingest(db, settings, inbox, reply, uid=2) == "standby"
    assert ack.subject is not None
    by_subject = mail(f"Re: something {ack.subject[-18:]}", "printer again")
    assert await ingest(db, settings, inbox, by_subject, uid=3) == "standby"
    ticket = await db.scalar(select(Ticket))
    items = list(await db.scalars(select(StandbyQueueItem).order_by(StandbyQueueItem.id)))
    assert [(i.reason, i.ticket_id) for i in items] == [
        ("reply_to_ticket", ticket.id if ticket else None)
    ] * 2
    assert await db.scalar(select(func.count()).select_from(OutgoingEmail)) == 1  # no answer
    assert await db.scalar(select(func.count()).select_from(Ticket)) == 1


async def test_mail_without_a_usable_sender_waits_with_no_sender(
    db: AsyncSession, settings: Settings, inbox: EmailInbox
) -> None:
    raw = (
        b"From: not an address\r\nSender: nobody\r\nReply-To: <>\r\nReturn-Path: <>\r\n"
        b"Subject: printer\r\nMessage-ID: <x@y>\r\n\r\nhelp\r\n"
    )
    assert await ingest(db, settings, inbox, raw) == "standby"
    assert await standby_reasons(db) == ["no_sender"]


async def test_a_sender_found_past_from_gets_the_ticket_and_the_answer(
    db: AsyncSession, settings: Settings, inbox: EmailInbox
) -> None:
    """From names nobody; Reply-To does: the report is placed and answered there."""
    raw = (
        b"From: Printer Room\r\nReply-To: Ola <ola@example.org>\r\nSubject: printer\r\n"
        b"Message-ID: <reply-to-only@y>\r\n\r\nthe printer is jammed\r\n"
    )
    assert await ingest(db, settings, inbox, raw) == "ticket"
    ticket = await db.scalar(select(Ticket).where(Ticket.title == "printer"))
    assert ticket is not None and ticket.reporter_email == "ola@example.org"
    assert ticket.reporter_name == "Ola"


async def test_a_reply_to_a_forwarded_reports_mail_waits_too(
    db: AsyncSession, settings: Settings, inbox: EmailInbox
) -> None:
    import uuid as uuid_module

    from app.integrations.models import ExternalTicket
    from app.tickets.notifications import reference

    board_id = await db.scalar(select(Board.id).where(Board.name == "Printers"))
    forwarded = ExternalTicket(
        uuid=uuid_module.uuid4(),
        board_id=board_id,
        platform="jira",
        title="t",
        reporter_email="jan@example.org",
        source="email",
    )
    db.add(forwarded)
    await db.flush()
    reply = mail(f"Re: We received your report {reference(forwarded.uuid)}", "printer thanks")
    assert await ingest(db, settings, inbox, reply) == "standby"
    item = await db.scalar(select(StandbyQueueItem))
    assert item is not None and item.reason == "reply_to_ticket"
    assert item.payload["report_uuid"] == str(forwarded.uuid)


async def test_a_reply_to_another_managers_mail_reaches_nothing_of_theirs(
    db: AsyncSession, settings: Settings, inbox: EmailInbox
) -> None:
    from app.tickets.notifications import reference

    other_box = await manager_with_inbox(db, "other", "Theirs", "theirs@example.com")
    other_board = Board(
        manager_id=other_box.manager_id,
        name="Theirs",
        public_id="theirs" + "_" * 16,
        email_inbox_id=other_box.id,
    )
    db.add(other_board)
    await db.flush()
    db.add(BoardKeyword(board_id=other_board.id, keyword="printer"))
    await db.flush()
    await ingest(db, settings, other_box, mail("Printer jams", "paper", msgid="<b1@example.org>"))
    theirs = await db.scalar(select(Ticket).where(Ticket.board_id == other_board.id))
    [ack] = await db.scalars(select(OutgoingEmail))
    await sent(db, settings, ack)
    assert theirs is not None

    # The reply arrives at the first manager's inbox: by Message-ID, and by reference.
    by_id = mail(
        "Re: printer",
        "printer thanks",
        extra=f"In-Reply-To: {ack.message_id}\r\nReferences: {ack.message_id}\r\n",
    )
    by_reference = mail(f"Re: printer {reference(theirs.uuid)}", "printer thanks")
    assert await ingest(db, settings, inbox, by_id, uid=2) == "ticket"
    assert await ingest(db, settings, inbox, by_reference, uid=3) == "ticket"

    items = list(await db.scalars(select(StandbyQueueItem)))
    assert items == []  # neither is a reply to anything of the first manager's
    mine = list(
        await db.scalars(
            select(ProcessedEmail.ticket_uuid).where(ProcessedEmail.email_inbox_id == inbox.id)
        )
    )
    assert len(mine) == 2 and theirs.uuid not in mine
    assert await db.scalar(select(func.count()).select_from(Ticket)) == 3


async def test_parsing_runs_off_the_event_loop(
    db: AsyncSession, settings: Settings, inbox: EmailInbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import threading

    from app.intake import ingest as ingest_module

    loop_ran = threading.Event()
    real_parse = ingest_module.parse_email

    def slow_parse(raw: bytes) -> Any:
        # Blocks until the event loop has run something else: on the loop, it never would.
        assert loop_ran.wait(timeout=10), "the event loop was held while parsing"
        return real_parse(raw)

    monkeypatch.setattr(ingest_module, "parse_email", slow_parse)
    task = asyncio.create_task(ingest(db, settings, inbox, mail("Printer jams", "paper")))
    await asyncio.sleep(0)
    loop_ran.set()
    assert await asyncio.wait_for(task, timeout=20) == "ticket"


async def test_a_message_over_the_size_limit_waits_named_by_its_headers(
    db: AsyncSession, settings: Settings, inbox: EmailInbox
) -> None:
    small = settings.model_copy(update={"MAX_MESSAGE_BYTES": 4096})
    raw = mail("Printer manual attached", "printer " * 2000, msgid="<big@example.org>")
    assert len(raw) > 4096
    assert await ingest(db, small, inbox, raw) == "standby"
    item = await db.scalar(select(StandbyQueueItem))
    assert item is not None and item.reason == "too_large"
    assert item.payload["sender"] == "jan@example.org"
    assert item.payload["subject"] == "Printer manual attached"
    assert item.payload["size"] == len(raw) and item.payload["text"] == ""
    assert await db.scalar(select(func.count()).select_from(Ticket)) == 0
    assert await ingest(db, small, inbox, raw, uid=2) == "duplicate"  # seen once, kept once
    assert await ingest(db, settings, inbox, mail("Printer jams", "paper")) == "ticket"
