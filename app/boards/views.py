"""A board as the API shows it (`BoardRead`), for the boards and integrations routes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.boards import service
from app.boards.models import Board
from app.boards.schemas import BoardRead, TicketCounts
from app.core.config import Settings


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
    """The board as the API shows it: its public link and integration without secrets."""
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


async def read_one(session: AsyncSession, settings: Settings, board: Board) -> BoardRead:
    """The board as the API shows it, reloaded after a change, with its ticket counts."""
    await session.refresh(board)
    counts = await service.ticket_counts(session, [board.id])
    return board_read(board, counts[board.id], settings)
