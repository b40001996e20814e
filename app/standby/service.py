"""The standby queue: what could not be placed, waiting for its manager."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Manager
from app.core.clock import clock
from app.core.errors import AlreadyResolved, NotFound, WrongStandbyKind
from app.core.pagination import keyset_page
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
    return await keyset_page(
        session,
        query,
        key=(StandbyQueueItem.created_at, StandbyQueueItem.id),
        limit=limit,
        cursor=cursor,
    )


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
