"""Routes: /boards, /boards/{id}, archive, keywords, and the dashboard's /stats."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from app.auth.deps import CurrentManager, SettingsDep
from app.boards import service
from app.boards.models import Board
from app.boards.schemas import (
    BoardCreate,
    BoardRead,
    BoardStats,
    BoardUpdate,
    KeywordsUpdate,
    StatsRead,
    TicketCounts,
)
from app.config import Settings
from app.core.errors import ERROR_RESPONSES, error_responses
from app.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.db import SessionDep

router = APIRouter(prefix="/boards", tags=["boards"], responses=ERROR_RESPONSES)
stats_router = APIRouter(tags=["boards"], responses=ERROR_RESPONSES)
CONFLICT = error_responses(409)


def integration_view(board: Board) -> dict[str, Any] | None:
    """The platform settings without secrets: encrypted values become `has_<name>`."""
    if board.external_platform is None or board.external_config is None:
        return None
    view: dict[str, Any] = {"platform": board.external_platform}
    for key, value in board.external_config.items():
        if key.endswith("_encrypted"):
            view[f"has_{key.removesuffix('_encrypted')}"] = bool(value)
        else:
            view[key] = value
    return view


def board_read(board: Board, counts: TicketCounts, settings: Settings) -> BoardRead:
    return BoardRead(
        id=board.id,
        name=board.name,
        description=board.description,
        public_id=board.public_id,
        public_url=f"{settings.PUBLIC_BASE_URL}/b/{board.public_id}",
        email_inbox_id=board.email_inbox_id,
        keywords=[k.keyword for k in board.keywords],
        integration=integration_view(board),
        is_active=board.is_active,
        ticket_counts=counts,
        created_at=board.created_at,
        updated_at=board.updated_at,
    )


async def read_one(session: SessionDep, settings: Settings, board: Board) -> BoardRead:
    await session.refresh(board)
    counts = await service.ticket_counts(session, [board.id])
    return board_read(board, counts[board.id], settings)


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
    board_id: int, manager: CurrentManager, session: SessionDep, settings: SettingsDep
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
    board_id: int,
    body: BoardUpdate,
    manager: CurrentManager,
    session: SessionDep,
    settings: SettingsDep,
) -> BoardRead:
    board = await service.update_board(session, manager, board_id, body)
    return await read_one(session, settings, board)


@router.put("/{board_id}/keywords", response_model=BoardRead, summary="Replace the keywords")
async def set_keywords(
    board_id: int,
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
    board_id: int, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> BoardRead:
    board = await service.set_archived(session, manager, board_id, archived=True)
    return await read_one(session, settings, board)


@router.post("/{board_id}/unarchive", response_model=BoardRead, summary="Accept reports again")
async def unarchive_board(
    board_id: int, manager: CurrentManager, session: SessionDep, settings: SettingsDep
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
