"""Two keyword replacements of one board at once: both answer, the last one wins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import migrations
from app.auth.models import Manager
from app.auth.service import create_manager
from app.boards.models import BoardKeyword
from app.boards.schemas import BoardCreate
from app.boards.service import create_board, set_keywords
from app.core.config import Settings
from app.core.database import make_engine, make_sessionmaker, request_transaction
from tests.database import DatabaseServer


@pytest.fixture
def committed_url(db_server: DatabaseServer) -> Iterator[str]:
    with db_server.fresh("keywords") as url:
        migrations.upgrade(url)
        yield url


@pytest.fixture
async def sessions(
    committed_url: str, settings: Settings
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(committed_url, settings)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def waiting_on_a_lock(sessions: async_sessionmaker[AsyncSession]) -> bool:
    async with sessions() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        )
    return bool(count)


async def test_concurrent_keyword_replacements_do_not_collide(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, request_transaction(session):
        manager = await create_manager(
            session, email="kw@example.com", password="long enough pw", full_name="K"
        )
        board = await create_board(session, manager, BoardCreate(name="Printers"))
    manager_id, board_id = manager.id, board.id

    first = sessions()
    async with first, request_transaction(first):
        me = await first.get_one(Manager, manager_id)
        await set_keywords(first, me, board_id, ["printer", "toner"])
        # While the first replacement is uncommitted, a second one starts.
        second = asyncio.create_task(replace(sessions, manager_id, board_id, ["printer", "ink"]))
        async with asyncio.timeout(20):
            while not await waiting_on_a_lock(sessions):
                assert not second.done(), second.result()
                await asyncio.sleep(0.05)
    async with asyncio.timeout(20):
        await second  # no IntegrityError on the unique (board, keyword) index

    async with sessions() as session:
        keywords = await session.scalars(
            select(BoardKeyword.keyword).where(BoardKeyword.board_id == board_id)
        )
        assert sorted(keywords) == ["ink", "printer"]


async def replace(
    sessions: async_sessionmaker[AsyncSession], manager_id: int, board_id: int, words: list[str]
) -> None:
    async with sessions() as session, request_transaction(session):
        me = await session.get_one(Manager, manager_id)
        await set_keywords(session, me, board_id, words)
