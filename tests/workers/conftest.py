"""A migrated database of its own for each worker test: workers commit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app import migrations
from tests.database import DatabaseServer


@pytest.fixture
def database(db_server: DatabaseServer) -> Iterator[str]:
    with db_server.fresh("workers") as url:
        migrations.upgrade(url)
        yield url
