"""Routes: /boards, /boards/{id}, archive, keywords, and the dashboard's /stats."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.auth.deps import CurrentManager
from app.boards import service
from app.boards.schemas import (
    BoardCreate,
    BoardRead,
    BoardStats,
    BoardUpdate,
    KeywordsUpdate,
    StatsRead,
)
from app.boards.views import board_read, read_one
from app.core.deps import Cursor, Limit, SessionDep, SettingsDep
from app.core.errors import ERROR_RESPONSES, error_responses
from app.core.ids import ObjectId
from app.core.pagination import DEFAULT_LIMIT, Page

router = APIRouter(prefix="/boards", tags=["boards"], responses=ERROR_RESPONSES)
stats_router = APIRouter(tags=["boards"], responses=ERROR_RESPONSES)
CONFLICT = error_responses(409)


@router.get("", response_model=Page[BoardRead], summary="Your boards, newest first")
async def list_boards(
    manager: CurrentManager,
    session: SessionDep,
    settings: SettingsDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[BoardRead]:
    boards, next_cursor = await service.list_boards(session, manager, limit=limit, cursor=cursor)
    counts = await service.ticket_counts(session, [b.id for b in boards])
    return Page(
        items=[board_read(b, counts[b.id], settings) for b in boards], next_cursor=next_cursor
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=BoardRead,
    responses=CONFLICT,
    summary="Create a board (its public form is live at once)",
)
async def create_board(
    body: BoardCreate, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> BoardRead:
    board = await service.create_board(session, manager, body)
    return await read_one(session, settings, board)


@router.get("/{board_id}", response_model=BoardRead, summary="One of your boards")
async def read_board(
    board_id: ObjectId, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> BoardRead:
    board = await service.get_board(session, manager, board_id)
    return await read_one(session, settings, board)


@router.patch(
    "/{board_id}",
    response_model=BoardRead,
    responses=CONFLICT,
    summary="Change name, description, linked inbox or keywords",
)
async def update_board(
    board_id: ObjectId,
    body: BoardUpdate,
    manager: CurrentManager,
    session: SessionDep,
    settings: SettingsDep,
) -> BoardRead:
    board = await service.update_board(session, manager, board_id, body)
    return await read_one(session, settings, board)


@router.put("/{board_id}/keywords", response_model=BoardRead, summary="Replace the keywords")
async def set_keywords(
    board_id: ObjectId,
    body: KeywordsUpdate,
    manager: CurrentManager,
    session: SessionDep,
    settings: SettingsDep,
) -> BoardRead:
    board = await service.set_keywords(session, manager, board_id, body.keywords)
    return await read_one(session, settings, board)


@router.post(
    "/{board_id}/archive",
    response_model=BoardRead,
    summary="Archive: the board keeps its tickets and accepts nothing new",
)
async def archive_board(
    board_id: ObjectId, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> BoardRead:
    board = await service.set_archived(session, manager, board_id, archived=True)
    return await read_one(session, settings, board)


@router.post("/{board_id}/unarchive", response_model=BoardRead, summary="Accept reports again")
async def unarchive_board(
    board_id: ObjectId, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> BoardRead:
    board = await service.set_archived(session, manager, board_id, archived=False)
    return await read_one(session, settings, board)


@stats_router.get("/stats", response_model=StatsRead, summary="Counts for the dashboard")
async def stats(manager: CurrentManager, session: SessionDep) -> StatsRead:
    boards = await service.all_boards(session, manager)
    counts = await service.ticket_counts(session, [b.id for b in boards])
    return StatsRead(
        boards=[
            BoardStats(id=b.id, name=b.name, is_active=b.is_active, ticket_counts=counts[b.id])
            for b in boards
        ],
        standby_pending=await service.standby_pending(session, manager),
    )
