"""Clearing the standby queue: assign, retry, convert, discard — each exactly once."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Manager
from app.boards.placement import Placed, placement, run_placement
from app.boards.service import get_board
from app.core.clock import clock
from app.core.config import Settings
from app.core.direct import OnSession
from app.core.errors import ValidationFailed
from app.core.i18n import pick_language
from app.inboxes.models import EmailInbox
from app.integrations.models import ExternalTicket
from app.integrations.schemas import ExternalTicketRead
from app.outbox.outgoing import threading_headers
from app.standby.schemas import StandbyRead
from app.standby.service import lock_pending, resolve
from app.tickets.models import DESCRIPTION_MAX, NO_SUBJECT, TITLE_MAX, Ticket
from app.tickets.schemas import TicketRead
from app.tickets.service import NewReport, create_ticket, destination

log = logging.getLogger(__name__)


async def assign(
    session: AsyncSession, settings: Settings, manager: Manager, item_id: int, board_id: int
) -> TicketRead | ExternalTicketRead:
    """An unrouted email becomes a report on the board; its sender is answered now."""
    item = await lock_pending(session, manager, item_id, kind="unrouted_email")
    board = await get_board(session, manager, board_id)
    if not board.is_active:
        raise ValidationFailed("board_id", "the board is archived", "board_archived")
    payload: dict[str, Any] = item.payload
    sender = payload.get("sender")
    if not sender:
        raise ValidationFailed(
            "id", "the email has no sender address to answer; discard it", "no_sender_address"
        )
    inbox = await session.get(EmailInbox, item.email_inbox_id) if item.email_inbox_id else None
    message_id = payload.get("message_id")
    report = NewReport(
        title=str(payload.get("title") or payload.get("subject") or NO_SUBJECT)[:TITLE_MAX],
        description=str(payload.get("text") or "")[:DESCRIPTION_MAX],
        reporter_email=str(sender),
        reporter_name=payload.get("sender_name") or None,
        source="email",
        language=pick_language(payload.get("content_language"), manager.language),
        email_message_id=message_id,
    )
    headers = threading_headers(message_id, payload.get("references") or []) if message_id else None
    call = placement(
        settings,
        to=await destination(session, board, inbox),
        report=report,
        # Mailing-list and bulk mail is never answered (an item from before the flag
        # existed says nothing: it is answered, as it was then).
        acknowledge=payload.get("acknowledge", True) is not False,
        ack_headers=headers,
    )
    placed = await run_placement(OnSession(session), call)
    resolve(item, manager)
    await session.flush()
    log.info("standby email assigned", extra={"standby_id": item.id, "board_id": board.id})
    return await _placed_read(session, placed)


async def _placed_read(session: AsyncSession, placed: Placed) -> TicketRead | ExternalTicketRead:
    if placed.kind == "ticket":
        return TicketRead.model_validate(await session.get_one(Ticket, placed.row_id))
    return ExternalTicketRead.model_validate(await session.get_one(ExternalTicket, placed.row_id))


async def _external(session: AsyncSession, external_ticket_id: int | None) -> ExternalTicket:
    external = await session.scalar(
        select(ExternalTicket).where(ExternalTicket.id == external_ticket_id).with_for_update()
    )
    assert external is not None  # a CHECK guarantees failed_external items have one
    return external


async def retry(session: AsyncSession, manager: Manager, item_id: int) -> StandbyRead:
    """Push the report again, with the board's current integration settings."""
    item = await lock_pending(session, manager, item_id, kind="failed_external")
    external = await _external(session, item.external_ticket_id)
    external.status = "pending"
    external.attempts = 0  # a fresh budget; last_error stays, so the UUID is looked up first
    external.next_attempt_at = clock.now()
    external.lease_until = None
    item.retry_count += 1
    resolve(item, manager)
    await session.flush()
    await session.refresh(item)
    return StandbyRead.model_validate(item)


async def convert(
    session: AsyncSession, settings: Settings, manager: Manager, item_id: int
) -> TicketRead:
    """Keep a failed forward as an internal ticket on the same board, under the same
    UUID: the reporter's link shows the ticket from then on."""
    item = await lock_pending(session, manager, item_id, kind="failed_external")
    external = await _external(session, item.external_ticket_id)
    board = await get_board(session, manager, external.board_id)
    report = NewReport(
        title=external.title,
        description=external.description,
        reporter_email=external.reporter_email,
        reporter_name=external.reporter_name,
        source=external.source,
        language=external.language,
        email_message_id=external.email_message_id,
    )
    ticket = await create_ticket(
        OnSession(session), board_id=board.id, report=report, report_uuid=external.uuid
    )
    external.converted_ticket_id = ticket.id
    resolve(item, manager)
    await session.flush()
    return TicketRead.model_validate(await session.get_one(Ticket, ticket.id))


async def discard(session: AsyncSession, manager: Manager, item_id: int) -> None:
    item = await lock_pending(session, manager, item_id, kind=None)
    resolve(item, manager, status="discarded")
    await session.flush()
