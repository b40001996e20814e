"""Placing a report on a board: an internal ticket, or, for a board connected to Jira
or Trello, an external ticket the forwarder pushes. Email and a standby assignment
go through here, inside their caller's transaction; the public form places its
report in one statement built from the same pieces (app/tickets/submission.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.core.config import Settings
from app.core.direct import Executor
from app.integrations.service import create_external_ticket
from app.tickets.service import Destination, NewReport, create_ticket


@dataclass(frozen=True)
class Placed:
    kind: str  # "ticket" | "external"
    uuid: uuid.UUID
    row_id: int


async def place_report(
    db: Executor,
    settings: Settings,
    *,
    to: Destination,
    report: NewReport,
    acknowledge: bool = True,
    ack_headers: dict[str, str] | None = None,
) -> Placed:
    if to.platform:
        external = await create_external_ticket(
            db, settings, to=to, report=report, acknowledge=acknowledge, ack_headers=ack_headers
        )
        return Placed("external", external.uuid, external.id)
    ticket = await create_ticket(
        db, settings, to=to, report=report, acknowledge=acknowledge, ack_headers=ack_headers
    )
    return Placed("ticket", ticket.uuid, ticket.id)
