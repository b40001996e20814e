"""Lists: `{"items": [...], "next_cursor": ...}` with keyset cursors (the query
parameters `limit` and `cursor` are in app/core/deps.py)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import ValidationFailed
from app.core.ids import MAX_ID, MIN_ID

T = TypeVar("T")
M = TypeVar("M")

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(created_at: datetime, row_id: int) -> str:
    raw = json.dumps({"t": created_at.isoformat(), "i": row_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """(created_at, id) of the last row of the previous page."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data: dict[str, Any] = json.loads(raw)
        created_at, row_id = datetime.fromisoformat(data["t"]), int(data["i"])
        if not MIN_ID <= row_id <= MAX_ID:  # a forged cursor: bigint cannot hold it
            raise ValueError(row_id)
        return created_at, row_id
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ValidationFailed(
            "cursor", "not a cursor this list gave out", "invalid_cursor"
        ) from None


def page_of(rows: list[Any], limit: int, *, key: Any) -> tuple[list[Any], str | None]:
    """Split the `limit + 1` rows a query fetched into a page and the cursor after it."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    created_at, row_id = key(last)
    return rows[:limit], encode_cursor(created_at, row_id)


def keyset_query(
    query: Select[M],
    *,
    key: tuple[InstrumentedAttribute[datetime], InstrumentedAttribute[int]],
    limit: int,
    cursor: str | None,
) -> Select[M]:
    """`query` newest first on `key` (its created_at and id columns), after `cursor`,
    one row more than a page (to know whether another page follows)."""
    created_at, row_id = key
    if cursor:
        after = decode_cursor(cursor)
        query = query.where(tuple_(created_at, row_id) < after)
    return query.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)


async def keyset_page(
    session: AsyncSession,
    query: Select[M],
    *,
    key: tuple[InstrumentedAttribute[datetime], InstrumentedAttribute[int]],
    limit: int,
    cursor: str | None,
) -> tuple[list[M], str | None]:
    """One page of `query`, newest first on `key`, and the cursor after it.

    The id breaks ties on the timestamp, and a cursor names the last row seen rather
    than an offset, so rows arriving between pages are neither skipped nor repeated.
    A cursor this list did not give out is a 422 (`invalid_cursor`).
    """
    created_at, row_id = key
    rows = list(await session.scalars(keyset_query(query, key=key, limit=limit, cursor=cursor)))
    return page_of(rows, limit, key=lambda r: (getattr(r, created_at.key), getattr(r, row_id.key)))
