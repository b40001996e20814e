"""Keyset paging (`keyset_page`) against the real database, and a bad cursor on every list."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Manager
from app.boards.models import Board
from app.core.pagination import keyset_page
from tests.auth.helpers import signed_in
from tests.boards.test_boards_api import make_board

API = "/api/v1"
NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def a_manager(db: AsyncSession) -> Manager:
    manager = Manager(email="pager@example.com", password_hash="x", full_name="Anna Nowak")
    db.add(manager)
    await db.flush()
    return manager


async def add_boards(
    db: AsyncSession, manager: Manager, created_at: list[datetime], prefix: str = "Board"
) -> list[Board]:
    boards = [
        Board(
            manager_id=manager.id,
            name=f"{prefix} {n}",
            public_id=secrets.token_urlsafe(16),
            created_at=at,
        )
        for n, at in enumerate(created_at)
    ]
    for board in boards:  # one at a time, so ids rise in the order given
        db.add(board)
        await db.flush()
    return boards


async def every_page(
    db: AsyncSession, manager: Manager, *, limit: int, cursor: str | None = None
) -> list[list[int]]:
    """The ids of each page, from `cursor` to the last page."""
    query = select(Board).where(Board.manager_id == manager.id)
    pages = []
    while True:
        rows, cursor = await keyset_page(
            db, query, key=(Board.created_at, Board.id), limit=limit, cursor=cursor
        )
        pages.append([b.id for b in rows])
        if cursor is None:
            return pages


def newest_first(boards: list[Board]) -> list[int]:
    return [b.id for b in sorted(boards, key=lambda b: (b.created_at, b.id), reverse=True)]


async def test_rows_sharing_a_timestamp_come_once_each_in_order(db: AsyncSession) -> None:
    manager = await a_manager(db)
    hour = timedelta(hours=1)
    # Ten boards, seven of them at noon, added out of order.
    at = [NOON - hour, NOON, NOON, NOON, NOON + hour, NOON, NOON - hour, NOON, NOON, NOON]
    boards = await add_boards(db, manager, at)
    pages = await every_page(db, manager, limit=2)
    assert [len(p) for p in pages] == [2, 2, 2, 2, 2]
    assert [i for page in pages for i in page] == newest_first(boards)

    # A limit that divides the rows exactly ends on a full page with no cursor after it.
    rows, cursor = await keyset_page(
        db,
        select(Board).where(Board.manager_id == manager.id),
        key=(Board.created_at, Board.id),
        limit=len(boards),
        cursor=None,
    )
    assert [b.id for b in rows] == newest_first(boards) and cursor is None


async def test_rows_arriving_between_pages_neither_repeat_nor_hide_older_ones(
    db: AsyncSession,
) -> None:
    manager = await a_manager(db)
    old = await add_boards(db, manager, [NOON - timedelta(minutes=m) for m in range(6)] + [NOON])
    query = select(Board).where(Board.manager_id == manager.id)
    first, cursor = await keyset_page(
        db, query, key=(Board.created_at, Board.id), limit=3, cursor=None
    )
    assert cursor is not None
    # Newer rows, and rows sharing the timestamp of the last row seen (their ids are
    # higher, so they sort before it): a reader going on from the cursor sees none.
    last_seen = first[-1].created_at
    new = await add_boards(
        db, manager, [NOON + timedelta(minutes=5), last_seen, last_seen], prefix="New"
    )
    rest = await every_page(db, manager, limit=3, cursor=cursor)
    seen = [b.id for b in first] + [i for page in rest for i in page]
    assert seen == newest_first(old)
    assert not {b.id for b in new} & set(seen)
    # Starting over shows them, in their place.
    again = await every_page(db, manager, limit=3)
    assert [i for page in again for i in page] == newest_first(old + new)


async def lists(client: httpx.AsyncClient, auth: dict[str, str]) -> list[str]:
    board = await make_board(client, auth)
    return [
        "/boards",
        "/inboxes",
        "/standby",
        f"/boards/{board['id']}/tickets",
        f"/boards/{board['id']}/external-tickets",
    ]


@pytest.mark.parametrize("cursor", ["garbage!", "nope", "eyJ0IjoxfQ"])
async def test_a_bad_cursor_is_the_same_422_on_every_list(
    client: httpx.AsyncClient, db: AsyncSession, cursor: str
) -> None:
    auth = await signed_in(client, db)
    bodies: list[Any] = []
    for path in await lists(client, auth):
        response = await client.get(f"{API}{path}", params={"cursor": cursor}, headers=auth)
        assert response.status_code == 422, (path, response.text)
        bodies.append(response.json())
    body = bodies[0]
    assert body["code"] == "validation_error"
    assert [(e["field"], e["code"], e["params"]) for e in body["errors"]] == [
        ("cursor", "invalid_cursor", {})
    ]
    assert all(b == body for b in bodies), bodies
