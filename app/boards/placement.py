"""Placing a report on a board: an internal ticket, or, for a board connected to Jira
or Trello, an external ticket the forwarder pushes. Every source (web form, email,
a standby assignment) goes through here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.boards.models import Board
from app.core.config import Settings
from app.inboxes.models import EmailInbox
from app.integrations.service import create_external_ticket
from app.tickets.service import NewReport, create_ticket


@dataclass(frozen=True)
class Placed:
    kind: str  # "ticket" | "external"
    uuid: uuid.UUID
    row_id: int


async def place_report(
    session: AsyncSession,
    settings: Settings,
    *,
    board: Board,
    report: NewReport,
    acknowledge: bool = True,
    ack_headers: dict[str, str] | None = None,
    inbox: EmailInbox | None = None,
) -> Placed:
    if board.external_platform:
        external = await create_external_ticket(
            session,
            settings,
            board=board,
            report=report,
            acknowledge=acknowledge,
            ack_headers=ack_headers,
        )
        return Placed("external", external.uuid, external.id)
    ticket = await create_ticket(
        session,
        settings,
        board=board,
        report=report,
        acknowledge=acknowledge,
        ack_headers=ack_headers,
        inbox=inbox,
    )
    return Placed("ticket", ticket.uuid, ticket.id)
