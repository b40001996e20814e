"""One email → exactly one outcome (SPEC 4.3): a ticket, a standby item, or ignored.

`ingest_message` runs inside the caller's transaction: the ticket (or standby item)
and the `processed_emails` row commit together, and the caller flags the message
`\\Seen` only after that commit. A crash anywhere therefore neither loses an email
nor makes it twice (a redelivered message is found in `processed_emails`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Manager
from app.boards.models import Board
from app.boards.placement import Trace, placement, run_placement
from app.boards.routing import Candidate, route_email
from app.core.clock import clock
from app.core.config import Settings
from app.core.direct import Pipeline, Statement, below
from app.core.i18n import pick_language
from app.core.logging import info_line, log_context
from app.inboxes.models import EmailInbox
from app.intake.classify import classify
from app.intake.models import ProcessedEmail
from app.intake.parse import (
    HEADER_BLOCK_MAX,
    IncomingEmail,
    parse_email,
    parse_headers_only,
    tidy,
)
from app.integrations.models import ExternalTicket
from app.outbox.models import OutgoingEmail
from app.outbox.outgoing import threading_headers
from app.standby.service import add_item
from app.tickets.models import DESCRIPTION_MAX, NO_SUBJECT, TITLE_MAX, Ticket
from app.tickets.service import Destination, NewReport

log = logging.getLogger(__name__)

TITLE_FROM_BODY_MAX = 120
CUT_MARKER = "\n\n[… message cut here: it was longer than 20,000 characters]"
_REFERENCE = re.compile(r"\[ref:([0-9a-f]{12})\]")


@dataclass(frozen=True)
class IngestResult:
    outcome: str  # a processed_emails outcome, or "duplicate"
    ticket_uuid: uuid.UUID | None = None
    standby_item_id: int | None = None


def ticket_title(mail: IncomingEmail) -> str:
    """The subject; without one, the body's first line (120 characters); else a stand-in."""
    subject = " ".join(mail.subject.split())
    if subject:
        return subject[:TITLE_MAX]
    for line in mail.text.splitlines():
        if line.strip():
            return " ".join(line.split())[:TITLE_FROM_BODY_MAX]
    return NO_SUBJECT


def ticket_description(mail: IncomingEmail) -> str:
    """The text, cut with a visible marker, and the attachments' names at the end."""
    tail = ""
    if mail.attachments:
        names = ", ".join(mail.attachments)
        tail = f"\n\nAttachments (not stored): {names}"[:2000]
    room = DESCRIPTION_MAX - len(tail)
    text = mail.text
    # `text_cut`: the parser stopped reading early (a part of megabytes, a hostile HTML)
    if len(text) > room or mail.text_cut:
        text = text[: room - len(CUT_MARKER)] + CUT_MARKER
    return text + tail


def _payload(mail: IncomingEmail, **extra: Any) -> dict[str, Any]:
    return {
        "sender": mail.sender_email,
        "sender_name": mail.sender_name,
        "subject": mail.subject,
        "title": ticket_title(mail),
        "text": ticket_description(mail),
        "message_id": mail.message_id,
        "in_reply_to": mail.in_reply_to,
        "references": mail.references,
        "content_language": mail.content_language,
        "attachments": mail.attachments,
        **extra,
    }


REPLY_IDS_MAX = 50  # the newest ids of a References chain are the ones we could have sent


def _reply_lookups(inbox: EmailInbox, mail: IncomingEmail) -> list[Select[uuid.UUID]]:
    """The queries that find the report our mail was about, when this message replies
    to it (step 4a), in the order they are asked; none for most mail, which names
    nothing to look up.

    Only the receiving manager's own reports are candidates: a reply that names
    another manager's mail or reference is ordinary mail here. Both lookups use an
    index (outgoing_emails.message_id; the reports' uuid, as a range for the 12-digit
    reference).
    """
    ids = [*mail.in_reply_to, *mail.references[-REPLY_IDS_MAX:]]
    match = _REFERENCE.search(mail.subject)
    if not ids and not match:
        return []
    by_id: list[Select[uuid.UUID]] = []
    by_reference: list[Select[uuid.UUID]] = []
    for model in (Ticket, ExternalTicket):
        owned = (
            select(model.uuid)
            .join(Board, Board.id == model.board_id)
            .where(Board.manager_id == inbox.manager_id)
        )
        if ids:
            by_id.append(
                owned.join(OutgoingEmail, OutgoingEmail.ticket_uuid == model.uuid).where(
                    OutgoingEmail.message_id.in_(ids)
                )
            )
        if match:
            prefix = match.group(1)
            low, high = uuid.UUID(prefix + "0" * 20), uuid.UUID(prefix + "f" * 20)
            by_reference.append(owned.where(model.uuid.between(low, high)))
    # Our Message-IDs (In-Reply-To, References) first, then the subject's reference.
    return [*by_id, *by_reference]


async def _first_found(session: AsyncSession, lookups: list[Select[uuid.UUID]]) -> uuid.UUID | None:
    for query in lookups:
        found = await session.scalar(query.limit(1))
        if found:
            return found
    return None


_PROCESSED = cast(Table, ProcessedEmail.__table__)
# Built once, run below the ORM on the session's connection: every mail writes one
# (a mail placed as a report, in the report's statement: the placement's trace).
_RECORD = Statement(
    insert(_PROCESSED).values(
        {
            name: bindparam(name)
            for name in (
                "email_inbox_id", "message_id", "content_hash", "imap_uid", "outcome",
                "ticket_uuid", "standby_item_id", "processed_at", "created_at",
            )
        }
    )
)  # fmt: skip


def _record_values(
    inbox: EmailInbox, mail: IncomingEmail, uid: int | None, outcome: str
) -> dict[str, Any]:
    now = clock.now()
    return {
        "email_inbox_id": inbox.id,
        "message_id": mail.message_id[:998],
        "content_hash": mail.content_hash,
        "imap_uid": uid,
        "outcome": outcome,
        "standby_item_id": None,
        "processed_at": now,
        "created_at": now,
    }


def _processed(outcome: str, uid: int | None, **extra: Any) -> None:
    info_line(log, "email processed", {"outcome": outcome, "imap_uid": uid, **extra})


async def _record(
    session: AsyncSession,
    inbox: EmailInbox,
    mail: IncomingEmail,
    uid: int | None,
    result: IngestResult,
) -> IngestResult:
    await (await below(session)).scalar(
        _RECORD,
        {
            **_record_values(inbox, mail, uid, result.outcome),
            "ticket_uuid": result.ticket_uuid,
            "standby_item_id": result.standby_item_id,
        },
    )
    _processed(result.outcome, uid)
    return result


async def _to_standby(
    session: AsyncSession,
    inbox: EmailInbox,
    mail: IncomingEmail,
    uid: int | None,
    reason: str,
    **extra: Any,
) -> IngestResult:
    ticket_id = extra.pop("ticket_id", None)
    item = await add_item(
        session,
        manager_id=inbox.manager_id,
        kind="unrouted_email",
        reason=reason,
        payload=_payload(mail, **extra),
        email_inbox_id=inbox.id,
        ticket_id=ticket_id,
    )
    return await _record(
        session, inbox, mail, uid, IngestResult("standby", standby_item_id=item.id)
    )


@dataclass(frozen=True)
class InboxContext:
    """What every message of one inbox is routed with: read once per batch."""

    boards: list[Board]
    manager_language: str | None
    # (Message-ID, content hash) of the batch's messages already processed, kept up
    # to date as the batch is written; None: ask the database per message.
    processed: set[tuple[str, str]] | None = None
    # Where a batch's reports are sent together, while the next messages are decided
    # (app/core/direct.py); None: each report is written before the next message.
    pipeline: Pipeline | None = None

    async def settle(self) -> None:
        """The reports sent so far written: before anything else on the connection."""
        if self.pipeline is not None:
            await self.pipeline.settle()


async def inbox_context(
    session: AsyncSession, inbox: EmailInbox, batch: Sequence[IncomingEmail] = ()
) -> InboxContext:
    """The inbox's boards and its manager's language; with a `batch`, which of its
    messages were processed before (one query for all)."""
    processed: set[tuple[str, str]] | None = None
    if batch:
        ids = {mail.message_id[:998] for mail in batch}
        processed = {
            (row.message_id, row.content_hash)
            for row in await session.execute(
                select(ProcessedEmail.message_id, ProcessedEmail.content_hash).where(
                    ProcessedEmail.email_inbox_id == inbox.id,
                    ProcessedEmail.message_id.in_(ids),
                )
            )
        }
    rows = (
        await session.execute(
            select(Manager.language, Board)
            .select_from(Manager)
            .outerjoin(Board, (Board.manager_id == Manager.id) & (Board.email_inbox_id == inbox.id))
            .where(Manager.id == inbox.manager_id)
        )
    ).all()
    language = rows[0][0] if rows else None
    return InboxContext([row[1] for row in rows if row[1] is not None], language, processed)


def _candidates(boards: list[Board]) -> list[Candidate]:
    return [Candidate(b.id, b.name, tuple(k.keyword for k in b.keywords)) for b in boards]


async def already_processed(session: AsyncSession, inbox: EmailInbox, mail: IncomingEmail) -> bool:
    found = await session.scalar(
        select(ProcessedEmail.id).where(
            ProcessedEmail.email_inbox_id == inbox.id,
            ProcessedEmail.message_id == mail.message_id[:998],
            ProcessedEmail.content_hash == mail.content_hash,
        )
    )
    return found is not None


async def ingest_message(
    session: AsyncSession,
    settings: Settings,
    inbox: EmailInbox,
    raw: bytes | bytearray,
    *,
    uid: int | None = None,
    mail: IncomingEmail | None = None,
    context: InboxContext | None = None,
) -> IngestResult:
    """Decide what one message becomes and write it, in the caller's transaction.

    `mail` is the message already parsed (the inbox worker parses a batch in other
    processes); else it is parsed in a thread, so a hostile message never holds the
    event loop that serves the API. A message over MAX_MESSAGE_BYTES is not read past
    its headers. `context`: the inbox's boards and language, when the caller read
    them for a whole batch.
    """
    if len(raw) > settings.MAX_MESSAGE_BYTES:
        return await ingest_too_large(session, inbox, raw[:HEADER_BLOCK_MAX], len(raw), uid=uid)
    if mail is None:
        mail = await asyncio.to_thread(parse_email, raw)
    context = context or await inbox_context(session, inbox)
    key = (mail.message_id[:998], mail.content_hash)
    if context.processed is None:
        seen = await already_processed(session, inbox, mail)
    else:
        seen = key in context.processed
    if seen:
        log.info("duplicate email skipped", extra={"imap_uid": uid})
        return IngestResult("duplicate")
    result = await _decide(session, settings, inbox, mail, uid, context)
    if context.processed is not None:
        context.processed.add(key)  # a copy later in the same batch is a duplicate
    return result


async def _decide(
    session: AsyncSession,
    settings: Settings,
    inbox: EmailInbox,
    mail: IncomingEmail,
    uid: int | None,
    context: InboxContext,
) -> IngestResult:
    """What a new message becomes (steps 3–6), written in the caller's transaction."""
    # Only a report to place goes into the batch's pipeline: whatever else a message
    # writes or reads waits for the reports sent before it (`context.settle`).
    kind = classify(mail)
    if kind == "autoreply":
        await context.settle()
        return await _record(session, inbox, mail, uid, IngestResult("ignored_autoreply"))
    if kind == "bounce":
        await context.settle()
        return await _record(session, inbox, mail, uid, IngestResult("ignored_bounce"))

    lookups = _reply_lookups(inbox, mail)
    if lookups:
        await context.settle()
        replied = await _first_found(session, lookups)
        if replied is not None:
            ticket_id = await session.scalar(select(Ticket.id).where(Ticket.uuid == replied))
            return await _to_standby(
                session,
                inbox,
                mail,
                uid,
                "reply_to_ticket",
                ticket_id=ticket_id,
                report_uuid=str(replied),
            )
    if mail.sender_email is None:
        # No address in From, Sender, Reply-To or Return-Path (parse.find_sender).
        await context.settle()
        return await _to_standby(
            session, inbox, mail, uid, "no_sender", error="no sender address to answer"
        )

    boards = context.boards
    active = [b for b in boards if b.is_active]
    route = route_email(mail.subject, mail.text, _candidates(active))
    candidates = [{"id": c.board_id, "name": c.name} for c in route.candidates]
    if route.board_id is None:
        reason = route.reason or "no_match"
        if reason == "no_match":
            archived = route_email(
                mail.subject, mail.text, _candidates([b for b in boards if not b.is_active])
            )
            if archived.board_id is not None or archived.reason == "ambiguous":
                reason = "board_inactive"
                candidates = [{"id": c.board_id, "name": c.name} for c in archived.candidates]
        await context.settle()
        return await _to_standby(
            session,
            inbox,
            mail,
            uid,
            reason,
            candidates=candidates,
            # List and bulk mail is never answered, also when assigned from standby.
            acknowledge=kind != "bulk",
        )

    board = next(b for b in active if b.id == route.board_id)
    report = NewReport(
        title=ticket_title(mail),
        description=ticket_description(mail),
        reporter_email=mail.sender_email,
        reporter_name=(mail.sender_name or "")[:200] or None,
        source="email",
        language=pick_language(mail.content_language, context.manager_language),
        email_message_id=mail.message_id[:998],
    )
    outcome = "external" if board.external_platform else "ticket"
    # The record of the email is written in the report's statement.
    call = placement(
        settings,
        to=Destination.of(board, inbox),
        report=report,
        acknowledge=kind != "bulk",  # lists and bulk senders are never answered
        ack_headers=threading_headers(mail.message_id, mail.references),
        trace=Trace(_PROCESSED, "ticket_uuid", _record_values(inbox, mail, uid, outcome)),
    )
    connection = await below(session)
    if context.pipeline is None:
        placed = await run_placement(connection, call)
        _processed(outcome, uid, board_id=board.id)
        return IngestResult(placed.kind, placed.uuid)

    async def written(row: Sequence[Any]) -> None:
        with log_context(imap_uid=uid):
            # A taken UUID (nothing written) is drawn again, on its own.
            if call.placed(row) is None:
                await run_placement(connection, call.redraw())
            _processed(outcome, uid, board_id=board.id)

    await context.pipeline.add(call.statement, call.values, written)
    # Sent, not yet written: the batch's commit waits for it (its UUID may yet be
    # drawn again, which no caller of a batch reads).
    return IngestResult(outcome, call.uuid)


def _unparsed(raw: bytes | bytearray) -> IncomingEmail:
    """A message as nothing but its bytes: the trace a message leaves when even reading
    it failed (its identity is the hash of the bytes)."""
    digest = hashlib.sha256(raw).hexdigest()
    return IncomingEmail(
        message_id=f"<{digest}@unreadable>",
        subject="",
        sender_email=None,
        sender_name=None,
        text=tidy(raw[:2000].decode("utf-8", errors="replace")),
    )


async def ingest_too_large(
    session: AsyncSession, inbox: EmailInbox, head: bytes | bytearray, size: int, *, uid: int | None
) -> IngestResult:
    """A message too large to read waits in standby, named by its headers (`head` is
    its start: the header block is enough)."""
    mail = await asyncio.to_thread(parse_headers_only, head)
    if await already_processed(session, inbox, mail):
        return IngestResult("duplicate")
    return await _to_standby(
        session,
        inbox,
        mail,
        uid,
        "too_large",
        size=size,
        error=f"the message is {size:,} bytes; the limit is MAX_MESSAGE_BYTES",
    )


async def record_unreadable(
    session: AsyncSession,
    inbox: EmailInbox,
    raw: bytes | bytearray,
    *,
    uid: int | None,
    error: str,
    parse: bool | IncomingEmail = True,
) -> IngestResult:
    """A message the pipeline failed on still leaves a trace and a standby item.

    With `parse=False` (the pipeline failed on this message's parse too) the message
    is recorded from its bytes alone, so no message can fail twice here; `parse` may
    also be the message as already parsed.
    """
    mail = _unparsed(raw)
    if isinstance(parse, IncomingEmail):
        mail = parse
    elif parse:
        try:
            mail = await asyncio.to_thread(parse_email, raw)
        except Exception:
            mail = _unparsed(raw)
    if await already_processed(session, inbox, mail):
        return IngestResult("duplicate")
    item = await add_item(
        session,
        manager_id=inbox.manager_id,
        kind="unrouted_email",
        reason="unreadable",
        payload=_payload(mail, error=tidy(error)[:500], size=len(raw)),
        email_inbox_id=inbox.id,
    )
    return await _record(session, inbox, mail, uid, IngestResult("error", standby_item_id=item.id))
