"""The async engine, sessions and the transaction a request or a job runs in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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


def make_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=settings.DB_POOL_SIZE,
        max_overflow=settings.DB_MAX_OVERFLOW,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


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
