"""Manager routes: a board's tickets, one ticket with its history, state changes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth.deps import CurrentManager
from app.core.deps import Cursor, Limit, SessionDep, SettingsDep
from app.core.errors import ERROR_RESPONSES, ErrorResponse
from app.core.ids import ObjectId
from app.core.pagination import DEFAULT_LIMIT, Page
from app.core.responses import model_response
from app.integrations import service as integrations
from app.integrations.schemas import ExternalTicketRead
from app.tickets import service
from app.tickets.schemas import (
    Source,
    State,
    TicketDetail,
    TicketRead,
    TransitionRequest,
)

router = APIRouter(tags=["tickets"], responses=ERROR_RESPONSES)


@router.get(
    "/boards/{board_id}/tickets",
    response_model=Page[TicketRead],
    summary="A board's tickets, newest first, with filters and full-text search",
)
async def list_tickets(
    board_id: ObjectId,
    manager: CurrentManager,
    session: SessionDep,
    state: State | None = None,
    source: Source | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Words to find")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    tickets, next_cursor = await service.list_tickets(
        session,
        manager,
        board_id,
        state=state,
        source=source,
        q=q,
        limit=limit,
        cursor=cursor,
    )
    page = Page[TicketRead](
        items=[TicketRead.model_validate(t) for t in tickets], next_cursor=next_cursor
    )
    return model_response(page)


@router.get(
    "/boards/{board_id}/external-tickets",
    response_model=Page[ExternalTicketRead],
    summary="Reports of a board forwarded to Jira or Trello, newest first",
)
async def list_external_tickets(
    board_id: ObjectId,
    manager: CurrentManager,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ExternalTicketRead]:
    items, next_cursor = await integrations.list_external_tickets(
        session, manager, board_id, limit=limit, cursor=cursor
    )
    return Page(
        items=[ExternalTicketRead.model_validate(r) for r in items], next_cursor=next_cursor
    )


@router.get("/tickets/{ticket_id}", response_model=TicketDetail, summary="A ticket and its history")
async def read_ticket(
    ticket_id: ObjectId, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> TicketDetail:
    return await service.read_ticket(session, settings, manager, ticket_id)


@router.post(
    "/tickets/{ticket_id}/transitions",
    response_model=TicketDetail,
    responses={409: {"model": ErrorResponse, "description": "Not allowed from this state"}},
    summary="Move a ticket: new → in_progress → closed or rejected",
)
async def move_ticket(
    ticket_id: ObjectId,
    body: TransitionRequest,
    manager: CurrentManager,
    session: SessionDep,
    settings: SettingsDep,
) -> TicketDetail:
    return await service.move_ticket(session, settings, manager, ticket_id, body)
