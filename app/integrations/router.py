"""Routes: a board's Jira/Trello connection."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.deps import CurrentManager
from app.boards.schemas import BoardRead
from app.boards.views import read_one
from app.core.deps import SessionDep, SettingsDep
from app.core.errors import ERROR_RESPONSES
from app.core.ids import ObjectId
from app.integrations import service
from app.integrations.schemas import IntegrationCheck, IntegrationSettings

router = APIRouter(prefix="/boards", tags=["integrations"], responses=ERROR_RESPONSES)


@router.put(
    "/{board_id}/integration",
    response_model=BoardRead,
    summary="Forward this board's reports to Jira Cloud or Trello",
)
async def set_integration(
    board_id: ObjectId,
    body: IntegrationSettings,
    manager: CurrentManager,
    session: SessionDep,
    settings: SettingsDep,
) -> BoardRead:
    board = await service.set_integration(session, settings, manager, board_id, body)
    return await read_one(session, settings, board)


@router.delete(
    "/{board_id}/integration",
    response_model=BoardRead,
    summary="Keep this board's reports as internal tickets again",
)
async def remove_integration(
    board_id: ObjectId, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> BoardRead:
    board = await service.remove_integration(session, manager, board_id)
    return await read_one(session, settings, board)


@router.post(
    "/{board_id}/integration/test",
    response_model=IntegrationCheck,
    summary="Check the credentials and the project or list, now",
)
async def test_integration(
    board_id: ObjectId, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> IntegrationCheck:
    return await service.check_integration(session, settings, manager, board_id)
