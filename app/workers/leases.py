"""Claiming due rows with a lease, so several processes never work on one row at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.core.clock import clock

Row = TypeVar("Row")


async def claim_due(
    session: AsyncSession,
    model: type[Row],
    *,
    due_column: Any,
    where: ColumnElement[bool],
    lease_seconds: float,
    limit: int,
    values: dict[str, Any] | None = None,
) -> list[Row]:
    """Lock up to `limit` due rows (skipping rows others hold), stamp a lease, return them.

    The caller commits right after, which releases the row locks; the lease keeps
    other processes away until it expires, so a crashed worker's rows come back.
    """
    now = clock.now()
    lease_column = model.lease_until  # type: ignore[attr-defined]
    ids = (
        await session.scalars(
            select(model.id)  # type: ignore[attr-defined]
            .where(where, due_column <= now, or_(lease_column.is_(None), lease_column < now))
            .order_by(due_column)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not ids:
        return []
    result = await session.scalars(
        update(model)
        .where(model.id.in_(ids))  # type: ignore[attr-defined]
        .values(lease_until=now + timedelta(seconds=lease_seconds), **(values or {}))
        .returning(model)
        .execution_options(synchronize_session=False)
    )
    return list(result.all())
