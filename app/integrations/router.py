"""Routes: a board's Jira/Trello connection."""

from __future__ import annotations

import httpx
from fastapi import APIRouter

from app.auth.deps import CurrentManager, SettingsDep
from app.boards.router import read_one
from app.boards.schemas import BoardRead
from app.boards.service import get_board
from app.core.crypto import DecryptionError
from app.core.errors import ERROR_RESPONSES
from app.db import SessionDep
from app.integrations import service
from app.integrations.schemas import IntegrationCheck, IntegrationSettings

router = APIRouter(prefix="/boards", tags=["integrations"], responses=ERROR_RESPONSES)


@router.put(
    "/{board_id}/integration",
    response_model=BoardRead,
    summary="Forward this board's reports to Jira Cloud or Trello",
)
async def set_integration(
    board_id: int,
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
    board_id: int, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> BoardRead:
    board = await service.remove_integration(session, manager, board_id)
    return await read_one(session, settings, board)


@router.post(
    "/{board_id}/integration/test",
    response_model=IntegrationCheck,
    summary="Check the credentials and the project or list, now",
)
async def test_integration(
    board_id: int, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> IntegrationCheck:
    board = await get_board(session, manager, board_id)
    if board.external_platform is None or board.external_config is None:
        return IntegrationCheck(ok=False, error="The board is not connected to Jira or Trello.")
    platform_name, config = board.external_platform, dict(board.external_config)
    # End the read-only transaction: no database connection waits on a remote system.
    await session.rollback()
    async with httpx.AsyncClient() as client:
        try:
            platform = service.platform_for(platform_name, config, board_id, settings, client)
        except (DecryptionError, KeyError):
            return IntegrationCheck(
                ok=False, error="The stored settings cannot be read; save the integration again."
            )
        ok, error = await service.check_platform(platform)
    return IntegrationCheck(ok=ok, error=error)
