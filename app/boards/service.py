"""Boards: create, read, update, archive; keywords; the counts the dashboard shows."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Manager
from app.boards.models import Board, BoardKeyword
from app.boards.schemas import BoardCreate, BoardUpdate, TicketCounts
from app.core.clock import clock
from app.core.database import violated_constraint
from app.core.errors import BoardNameTaken, NotFound, ValidationFailed
from app.core.pagination import keyset_page
from app.inboxes.models import EmailInbox
from app.standby.models import StandbyQueueItem
from app.tickets.models import Ticket


def new_public_id() -> str:
    """128 random bits, URL-safe: the unguessable part of the form's address."""
    return secrets.token_urlsafe(16)


async def get_board(
    session: AsyncSession, manager: Manager, board_id: int, *, lock: bool = False
) -> Board:
    """The manager's board; another manager's answers NotFound like a missing one.

    `lock` holds the row until the transaction ends, so changes that replace a set of
    rows (the keywords) run one after the other instead of colliding.
    """
    query = select(Board).where(Board.id == board_id, Board.manager_id == manager.id)
    board = await session.scalar(query.with_for_update() if lock else query)
    if board is None:
        raise NotFound("No such board.")
    return board


async def ensure_own_board(session: AsyncSession, manager: Manager, board_id: int) -> None:
    """NotFound unless the board is the manager's: one key lookup, nothing loaded."""
    found = await session.scalar(
        select(Board.id).where(Board.id == board_id, Board.manager_id == manager.id)
    )
    if found is None:
        raise NotFound("No such board.")


async def list_boards(
    session: AsyncSession, manager: Manager, *, limit: int, cursor: str | None
) -> tuple[list[Board], str | None]:
    query = select(Board).where(Board.manager_id == manager.id)
    return await keyset_page(
        session, query, key=(Board.created_at, Board.id), limit=limit, cursor=cursor
    )


async def _check_inbox(session: AsyncSession, manager: Manager, inbox_id: int | None) -> None:
    if inbox_id is None:
        return
    owned = await session.scalar(
        select(EmailInbox.id).where(EmailInbox.id == inbox_id, EmailInbox.manager_id == manager.id)
    )
    if owned is None:
        raise ValidationFailed(
            "email_inbox_id", "none of your inboxes has this id", "unknown_inbox"
        )


async def _flush_naming(session: AsyncSession) -> None:
    """Flush, turning a clash of board names into BoardNameTaken."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if violated_constraint(exc) == "uq_boards_manager_name_lower":
            raise BoardNameTaken() from None
        raise


async def _replace_keywords(session: AsyncSession, board: Board, keywords: Sequence[str]) -> None:
    await session.execute(delete(BoardKeyword).where(BoardKeyword.board_id == board.id))
    session.add_all(BoardKeyword(board_id=board.id, keyword=k) for k in keywords)
    await session.flush()
    await session.refresh(board, ["keywords"])


async def create_board(session: AsyncSession, manager: Manager, data: BoardCreate) -> Board:
    await _check_inbox(session, manager, data.email_inbox_id)
    board = Board(
        manager_id=manager.id,
        name=data.name,
        description=data.description,
        public_id=new_public_id(),
        email_inbox_id=data.email_inbox_id,
    )
    session.add(board)
    await _flush_naming(session)
    await _replace_keywords(session, board, data.keywords)
    return board


async def update_board(
    session: AsyncSession, manager: Manager, board_id: int, data: BoardUpdate
) -> Board:
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    board = await get_board(session, manager, board_id, lock="keywords" in changes)
    if "email_inbox_id" in changes:
        await _check_inbox(session, manager, changes["email_inbox_id"])
    keywords = changes.pop("keywords", None)
    for field, value in changes.items():
        setattr(board, field, value)
    await _flush_naming(session)
    if keywords is not None:
        await _replace_keywords(session, board, keywords)
    return board


async def set_keywords(
    session: AsyncSession, manager: Manager, board_id: int, keywords: Sequence[str]
) -> Board:
    board = await get_board(session, manager, board_id, lock=True)
    board.updated_at = clock.now()
    await _replace_keywords(session, board, keywords)
    return board


async def set_archived(
    session: AsyncSession, manager: Manager, board_id: int, *, archived: bool
) -> Board:
    """Archived boards keep their tickets and accept nothing new."""
    board = await get_board(session, manager, board_id)
    board.is_active = not archived
    board.archived_at = clock.now() if archived else None
    await session.flush()
    return board


async def ticket_counts(session: AsyncSession, board_ids: Sequence[int]) -> dict[int, TicketCounts]:
    counts = {board_id: TicketCounts() for board_id in board_ids}
    if not board_ids:
        return counts
    rows = await session.execute(
        select(Ticket.board_id, Ticket.state, func.count())
        .where(Ticket.board_id.in_(board_ids))
        .group_by(Ticket.board_id, Ticket.state)
    )
    for board_id, state, count in rows:
        setattr(counts[board_id], state, count)
    return counts


async def standby_pending(session: AsyncSession, manager: Manager) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(StandbyQueueItem)
        .where(StandbyQueueItem.manager_id == manager.id, StandbyQueueItem.status == "pending")
    )
    return int(count or 0)


async def all_boards(session: AsyncSession, manager: Manager) -> list[Board]:
    return list(
        await session.scalars(
            select(Board).where(Board.manager_id == manager.id).order_by(Board.name)
        )
    )
