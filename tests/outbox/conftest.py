"""A database of its own per test module: the mail worker commits, and must see what
other connections committed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app import migrations
from app.core.database import make_sessionmaker
from tests.database import DatabaseServer


@pytest.fixture(scope="module")
def committed_url(db_server: DatabaseServer) -> Iterator[str]:
    with db_server.fresh("outbox") as url:
        migrations.upgrade(url)
        yield url


@pytest.fixture
async def sessions(committed_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(committed_url)
    yield make_sessionmaker(engine)
    await engine.dispose()
