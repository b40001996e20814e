"""Routes: the manager's standby queue."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response, status

from app.auth.deps import CurrentManager
from app.core.deps import Cursor, Limit, SessionDep, SettingsDep
from app.core.errors import ERROR_RESPONSES, error_responses
from app.core.ids import ObjectId
from app.core.pagination import DEFAULT_LIMIT, Page
from app.integrations.schemas import ExternalTicketRead
from app.standby import actions, service
from app.standby.schemas import AssignRequest, StandbyRead
from app.tickets.schemas import TicketRead

router = APIRouter(prefix="/standby", tags=["standby"], responses=ERROR_RESPONSES)


@router.get("", response_model=Page[StandbyRead], summary="What waits for you, newest first")
async def list_standby(
    manager: CurrentManager,
    session: SessionDep,
    status: Literal["pending", "resolved", "discarded"] | None = "pending",
    kind: Literal["unrouted_email", "failed_external"] | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[StandbyRead]:
    items, next_cursor = await service.list_items(
        session, manager, status=status, kind=kind, limit=limit, cursor=cursor
    )
    return Page(items=[StandbyRead.model_validate(i) for i in items], next_cursor=next_cursor)


CONFLICT = error_responses(409)  # already resolved, or the wrong kind


@router.post(
    "/{item_id}/assign",
    response_model=TicketRead | ExternalTicketRead,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Place an unrouted email on a board; its sender is answered now",
)
async def assign(
    item_id: ObjectId,
    body: AssignRequest,
    manager: CurrentManager,
    session: SessionDep,
    settings: SettingsDep,
) -> TicketRead | ExternalTicketRead:
    return await actions.assign(session, settings, manager, item_id, body.board_id)


@router.post(
    "/{item_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=StandbyRead,
    responses=CONFLICT,
    summary="Forward a failed report again, with the board's current settings",
)
async def retry(item_id: ObjectId, manager: CurrentManager, session: SessionDep) -> StandbyRead:
    return await actions.retry(session, manager, item_id)


@router.post(
    "/{item_id}/convert",
    response_model=TicketRead,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Keep a failed forward as an internal ticket (same status link)",
)
async def convert(
    item_id: ObjectId, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> TicketRead:
    return await actions.convert(session, settings, manager, item_id)


@router.post(
    "/{item_id}/discard",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=CONFLICT,
    summary="Drop the item",
)
async def discard(item_id: ObjectId, manager: CurrentManager, session: SessionDep) -> Response:
    await actions.discard(session, manager, item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
