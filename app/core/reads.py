"""Reads on the hottest public routes, below the ORM.

The status link is the most requested page a reporter has, and a request that goes
through a session, its transaction and SQLAlchemy's pool costs several times the
query itself (docs/performance.md). These reads are single statements, need no
transaction, and are served from a plain asyncpg pool (`make_read_pool`): the SQL is
compiled once, at import, from the same SQLAlchemy Core statement the models
describe, so a renamed column still fails at import, not in production.

A route takes a `ReaderDep` (app/core/deps.py). The app's is the pool; tests that
run the app inside their own rolled-back transaction read through that transaction
instead (`SessionReader`), so they see what they wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from sqlalchemy import ClauseElement
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

# Positional `$1` parameters, as asyncpg takes them.
_DIALECT = asyncpg_dialect(paramstyle="numeric_dollar")


@dataclass(frozen=True)
class Query:
    """A statement compiled once: its SQL and the order of its named parameters."""

    sql: str
    parameters: tuple[str, ...]

    def arguments(self, values: dict[str, Any]) -> list[Any]:
        return [values[name] for name in self.parameters]


def compile_query(statement: ClauseElement) -> Query:
    compiled = statement.compile(dialect=_DIALECT)
    order = getattr(compiled, "positiontup", None)  # SQLCompiler's; None without parameters
    return Query(compiled.string, tuple(order or ()))


class Reader(Protocol):
    async def fetch(self, query: Query, **values: Any) -> list[asyncpg.Record]: ...


# What a pooled connection raises when its server went away while it waited in the
# pool (a restart: the server's goodbye arrives between two reads).
_LOST_CONNECTION = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


class PoolReader:
    """Reads on a pooled connection, outside any transaction (autocommit)."""

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float) -> None:
        self.pool = pool
        self.acquire_timeout = acquire_timeout

    async def fetch(self, query: Query, **values: Any) -> list[asyncpg.Record]:
        arguments = query.arguments(values)
        for attempt in (1, 2):
            # A pool that gives no connection within the timeout raises TimeoutError,
            # which the error handlers answer with 503 database_unavailable.
            async with self.pool.acquire(timeout=self.acquire_timeout) as connection:
                try:
                    result: list[asyncpg.Record] = await connection.fetch(query.sql, *arguments)
                except _LOST_CONNECTION:
                    # The server went away (a restart): every idle connection of the
                    # pool is as dead as this one. Each (this one included) is closed
                    # and replaced when next released or taken, and a read can be run
                    # again; if that fails too, the error is answered (503 when the
                    # database is still away).
                    await self.pool.expire_connections()
                    if attempt == 2:
                        raise
                else:
                    return result
        raise AssertionError("unreachable")


class SessionReader:
    """Reads on a session's connection, inside its transaction (the tests' apps)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fetch(self, query: Query, **values: Any) -> list[asyncpg.Record]:
        connection = await (await self.session.connection()).get_raw_connection()
        driver = connection.driver_connection
        assert driver is not None
        result: list[asyncpg.Record] = await driver.fetch(query.sql, *query.arguments(values))
        return result
