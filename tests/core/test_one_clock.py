"""One clock: every timestamp the application writes comes from `clock.now()`, so a
test that moves time moves all of it (nothing is left to the database's `now()`)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import clock, utcnow
from app.outbox.models import OutgoingEmail
from app.tickets.models import Ticket, TicketStatusChange
from tests.auth.helpers import signed_in
from tests.boards.test_boards_api import make_board
from tests.tickets.test_tickets_api import API, report


async def test_rows_and_history_take_the_application_clock(
    client: httpx.AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = await signed_in(client, db)
    board = await make_board(client, auth)
    # Two minutes back: the access token stays valid, and the database's own clock
    # is far enough ahead that a row it stamped would show.
    frozen = utcnow().replace(microsecond=0) - timedelta(minutes=2)
    monkeypatch.setattr(clock, "now", lambda: frozen)

    report_uuid = await report(client, board, "Paper jam")
    ticket = await db.scalar(select(Ticket).where(Ticket.uuid == report_uuid))
    assert ticket is not None
    moved = await client.post(
        f"{API}/tickets/{ticket.id}/transitions", json={"to_state": "in_progress"}, headers=auth
    )
    assert moved.status_code == 200, moved.text

    await db.refresh(ticket)
    history = (
        await db.scalars(
            select(TicketStatusChange.changed_at).where(TicketStatusChange.ticket_id == ticket.id)
        )
    ).all()
    mail = (
        await db.scalars(select(OutgoingEmail).where(OutgoingEmail.ticket_uuid == ticket.uuid))
    ).all()
    assert (ticket.created_at, ticket.updated_at) == (frozen, frozen)
    assert len(history) == 2 and set(history) == {frozen}
    assert len(mail) == 2  # received, then the status change
    assert {m.created_at for m in mail} == {frozen}
    assert {m.next_attempt_at for m in mail} == {frozen}
    database_now = await db.scalar(text("SELECT now()"))
    assert database_now - frozen > timedelta(minutes=1)
