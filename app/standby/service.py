"""The standby queue: what could not be placed, waiting for its manager."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Manager
from app.core.clock import clock
from app.core.errors import AlreadyResolved, NotFound, WrongStandbyKind
from app.core.pagination import decode_cursor, page_of
from app.standby.models import StandbyQueueItem


async def add_item(
    session: AsyncSession,
    *,
    manager_id: int,
    kind: str,
    reason: str,
    payload: dict[str, Any],
    email_inbox_id: int | None = None,
    external_ticket_id: int | None = None,
    ticket_id: int | None = None,
) -> StandbyQueueItem:
    item = StandbyQueueItem(
        manager_id=manager_id,
        kind=kind,
        reason=reason,
        payload=payload,
        email_inbox_id=email_inbox_id,
        external_ticket_id=external_ticket_id,
        ticket_id=ticket_id,
    )
    session.add(item)
    await session.flush()
    return item


async def list_items(
    session: AsyncSession,
    manager: Manager,
    *,
    status: str | None,
    kind: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[StandbyQueueItem], str | None]:
    query = select(StandbyQueueItem).where(StandbyQueueItem.manager_id == manager.id)
    if status:
        query = query.where(StandbyQueueItem.status == status)
    if kind:
        query = query.where(StandbyQueueItem.kind == kind)
    if cursor:
        created_at, item_id = decode_cursor(cursor)
        query = query.where(
            tuple_(StandbyQueueItem.created_at, StandbyQueueItem.id) < (created_at, item_id)
        )
    rows = list(
        await session.scalars(
            query.order_by(StandbyQueueItem.created_at.desc(), StandbyQueueItem.id.desc()).limit(
                limit + 1
            )
        )
    )
    return page_of(rows, limit, key=lambda r: (r.created_at, r.id))


async def lock_pending(
    session: AsyncSession, manager: Manager, item_id: int, *, kind: str | None
) -> StandbyQueueItem:
    """The manager's pending item, locked: of two racing actions the second waits,
    then finds it resolved (409 already_resolved)."""
    item = await session.scalar(
        select(StandbyQueueItem)
        .where(StandbyQueueItem.id == item_id, StandbyQueueItem.manager_id == manager.id)
        .with_for_update()
    )
    if item is None:
        raise NotFound("No such standby item.")
    if item.status != "pending":
        raise AlreadyResolved()
    if kind is not None and item.kind != kind:
        raise WrongStandbyKind(f"Only {kind.replace('_', ' ')} items allow this.")
    return item


def resolve(item: StandbyQueueItem, manager: Manager, *, status: str = "resolved") -> None:
    item.status = status
    item.resolved_at = clock.now()
    item.resolved_by = manager.id
