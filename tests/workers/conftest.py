"""A migrated database of its own for each worker test: workers commit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app import migrations
from app.core.database import make_sessionmaker
from tests.database import DatabaseServer


@pytest.fixture
def database(db_server: DatabaseServer) -> Iterator[str]:
    with db_server.fresh("workers") as url:
        migrations.upgrade(url)
        yield url


@pytest.fixture
async def sessions(database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the test's own database, for code that commits (the poller)."""
    engine = create_async_engine(database)
    yield make_sessionmaker(engine)
    await engine.dispose()
