"""Routes: the manager's standby queue."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from app.auth.deps import CurrentManager
from app.core.errors import ERROR_RESPONSES
from app.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.db import SessionDep
from app.standby import service
from app.standby.schemas import StandbyRead

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
