"""A PostgreSQL server for the tests: TEST_DATABASE_URL, or pgserver in a temp folder."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import normalize_database_url


class DatabaseServer:
    """Creates and drops throwaway databases on one server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = normalize_database_url(admin_url)

    def url_for(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def _asyncpg_dsn(self) -> tuple[str, dict[str, str]]:
        url = make_url(self.admin_url)
        kwargs = {k: str(v) for k, v in url.query.items()}
        dsn = url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
        return dsn, kwargs

    async def _admin(self, sql: str) -> None:
        dsn, kwargs = self._asyncpg_dsn()
        conn = await asyncpg.connect(dsn, **kwargs)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def _run_admin(self, sql: str) -> None:
        # In a thread of its own: callers may sit inside a running event loop.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, self._admin(sql)).result()

    def create(self, prefix: str = "test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self._run_admin(f'CREATE DATABASE "{name}"')
        return name

    def drop(self, name: str) -> None:
        self._run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextmanager
    def fresh(self, prefix: str = "test") -> Iterator[str]:
        """A new empty database for the block; its URL is yielded."""
        name = self.create(prefix)
        try:
            yield self.url_for(name)
        finally:
            self.drop(name)


@contextmanager
def database_server(tmp_root: Path) -> Iterator[DatabaseServer]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield DatabaseServer(url)
        return
    import pgserver

    server = pgserver.get_server(tmp_root / "pgdata", cleanup_mode="delete")
    try:
        yield DatabaseServer(server.get_uri())
    finally:
        server.cleanup()


def statements_during(db: AsyncSession) -> list[str]:
    """Every statement the test's connection runs from now on, savepoints left out."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            seen.append(" ".join(statement.split()))

    event.listen(db.sync_session.get_bind(), "before_cursor_execute", record)
    return seen


async def driver_statements_during(db: AsyncSession) -> list[str]:
    """Every statement the test connection's asyncpg connection runs from now on,
    through the session or below it (app/core/direct.py), savepoints left out."""
    seen: list[str] = []
    raw = await (await db.connection()).get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None

    def record(logged: Any) -> None:
        statement = " ".join(logged.query.split())
        if not statement.upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "SELECT 1")):
            seen.append(statement)

    driver.add_query_logger(record)
    return seen
