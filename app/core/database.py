"""The async engine, sessions and the transaction a request or a job runs in."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.config import Settings, normalize_database_url
from app.core.embedded_postgres import start_embedded_postgres
from app.core.errors import AppError


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL normalised for asyncpg, or the embedded server's URL when it is unset."""
    raw = settings.DATABASE_URL or start_embedded_postgres(settings)
    return normalize_database_url(raw)


# The client gives up this long after the server's own statement_timeout: a live
# server's cancellation (a clean error, the connection kept) always comes first.
CLIENT_TIMEOUT_MARGIN_SECONDS = 2.0


def _connect_args(settings: Settings, *, index_plans: bool = False) -> dict[str, Any]:
    """asyncpg's connection arguments, for the engine's pool and the direct pool alike.

    `index_plans`: for connections whose statements are few, built once and each made
    for an index (the direct pool's, the worker's). A connection keeps the plan of a
    statement it prepared (a generic plan, after five runs), and a plan made while a
    table was empty or just emptied reads all of it: the planner found that cheapest,
    and the plan stayed while the table grew (every report read all of
    outgoing_emails to count its recipient's mail, and so did every ingested mail
    until the next ANALYZE, measured). With sequential scans off such a statement
    takes the index it was made for, whatever the table's size when it planned; a
    table without one is still read whole."""
    connect_args: dict[str, Any] = {"timeout": settings.DB_CONNECT_TIMEOUT_SECONDS}
    server_settings: dict[str, str] = {}
    if index_plans:
        server_settings["enable_seqscan"] = "off"
    statement_timeout = settings.DB_STATEMENT_TIMEOUT_SECONDS
    if statement_timeout > 0:
        server_settings["statement_timeout"] = str(max(1, round(statement_timeout * 1000)))
        # A server that does not answer at all (frozen, a dropped network) cannot
        # cancel anything: asyncpg stops waiting on its own.
        connect_args["command_timeout"] = statement_timeout + CLIENT_TIMEOUT_MARGIN_SECONDS
    if server_settings:
        connect_args["server_settings"] = server_settings
    return connect_args


def make_engine(url: str, settings: Settings, *, index_plans: bool = False) -> AsyncEngine:
    """The engine of the app, the workers and the CLI (not of migrations: app/alembic/env.py
    makes its own, without the statement timeout, so a long migration is never cut).
    `index_plans`: the worker's (see `_connect_args`)."""
    return create_async_engine(
        url,
        pool_size=settings.DB_POOL_SIZE,
        max_overflow=settings.DB_MAX_OVERFLOW,
        pool_timeout=settings.DB_POOL_TIMEOUT_SECONDS,
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args=_connect_args(settings, index_plans=index_plans),
    )


async def _reset(connection: asyncpg.Connection) -> None:
    """What the direct pool's statements leave behind on release: nothing, unless a
    transaction was left open (its block never ended: a cancelled request whose
    rollback did not get through). asyncpg's default reset sends a statement on every
    release, a second round trip per read."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def make_direct_pool(engine: AsyncEngine, settings: Settings) -> asyncpg.Pool:
    """The plain asyncpg pool of app/core/direct.py, on the engine's database, with the
    same timeouts. It opens no connection until the first statement. Only statements
    and short transactions run on it (no SET, no LISTEN, no advisory lock): asyncpg's
    reset on release is left out."""
    # The engine's own reading of its URL (host, port, a Unix socket, ssl=…), not a
    # DSN string: asyncpg's DSN parser would pass `ssl=require` on to the server as a
    # setting, which the server refuses.
    _, connect_kwargs = engine.dialect.create_connect_args(engine.url)
    arguments = _connect_args(settings, index_plans=True)  # see there
    return await asyncpg.create_pool(
        **connect_kwargs,
        min_size=0,
        max_size=settings.DB_READ_POOL_SIZE,
        max_inactive_connection_lifetime=1800,
        reset=_reset,
        **arguments,
    )


async def listening_connection(engine: AsyncEngine, settings: Settings) -> asyncpg.Connection:
    """A connection of its own on the engine's database, outside every pool, for
    LISTEN: it stays open as long as it listens."""
    _, connect_kwargs = engine.dialect.create_connect_args(engine.url)
    return await asyncpg.connect(**connect_kwargs, **_connect_args(settings))


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Every model must be known before the first flush (foreign keys name other
    # tables): the entry points import the registry, app/models.py.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def request_transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Commit when the block ends, roll back on an exception.

    An AppError with `keep_changes` commits what was written before it was raised
    (a failed login's throttle counters, a reused refresh token's revoked family).
    """
    try:
        yield session
    except AppError as exc:
        if exc.keep_changes:
            await session.commit()
        else:
            await session.rollback()
        raise
    except BaseException:
        await session.rollback()
        raise
    else:
        await session.commit()


def violated_constraint(error: BaseException) -> str | None:
    """The name of the constraint an IntegrityError broke (asyncpg reports it)."""
    for candidate in (error, getattr(error, "orig", None), getattr(error, "__cause__", None)):
        if candidate is None:
            continue
        name = getattr(candidate, "constraint_name", None)
        if name:
            return str(name)
        cause = getattr(candidate, "__cause__", None)
        if cause is not None and getattr(cause, "constraint_name", None):
            return str(cause.constraint_name)
    return None


# SQLSTATEs of a server that is going away, starting, refusing connections or that
# cancelled a statement (statement_timeout): class 08 (connection exception), class 57
# (operator intervention: 57014 query_canceled, 57P01 admin_shutdown, 57P02
# crash_shutdown, 57P03 cannot_connect_now…) and 53300 too_many_connections.
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "57", "53300")
_DRIVER_MODULES = ("asyncpg", "sqlalchemy")


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, what SQLAlchemy wrapped (`orig`), and its causes and contexts."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                pending.append(linked)


def _raised_in_driver(error: BaseException) -> bool:
    """An OSError or TimeoutError raised by asyncpg or SQLAlchemy (a refused or timed-out
    connection, a command timeout), not by SMTP, IMAP or a file."""
    return any(
        str(frame.f_globals.get("__name__", "")).startswith(_DRIVER_MODULES)
        for frame, _ in traceback.walk_tb(error.__traceback__)
    )


def database_unavailable_cause(error: BaseException) -> BaseException | None:
    """What shows that the database did not answer (`error` or one of its causes), or
    None. Then a retry later can succeed: the request itself was fine. Errors of the
    request (a constraint, a bug in a query) are not this."""
    for cause in _causes(error):
        if isinstance(cause, sa_exc.TimeoutError):  # no pooled connection came free
            return cause
        if isinstance(cause, asyncpg.PostgresError):
            sqlstate = str(getattr(cause, "sqlstate", "") or "")
            if sqlstate.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES):
                return cause
        if isinstance(cause, asyncpg.InterfaceError) and "connection is closed" in str(cause):
            return cause
        # The protocol's state broken by a server that went away mid-conversation
        # (each connection serves one request at a time, so nothing else breaks it).
        if isinstance(cause, asyncpg.InternalClientError):
            return cause
        if isinstance(cause, OSError) and _raised_in_driver(cause):
            return cause
    for cause in _causes(error):
        # Whatever it was, it cost the connection (SQLAlchemy's own judgement).
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return cause
    return None
