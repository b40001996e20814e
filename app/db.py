"""Database: the declarative Base, the async engine, the session dependency, embedded PostgreSQL."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.config import Settings, normalize_database_url
from app.core.errors import AppError

log = logging.getLogger(__name__)

# Stable constraint names, so Alembic revisions can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


LANGUAGES = ("en", "pl")
SOURCES = ("web", "email")


def one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK that keeps a text column within an enumeration (NULL passes)."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class CreatedAt:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Timestamps(CreatedAt):
    # Maintained by the application: SQLAlchemy sets it on every UPDATE it issues.
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


_embedded_server: Any = None


def start_embedded_postgres(settings: Settings) -> str:
    """Start (or join) the pgserver PostgreSQL in DATA_DIR and return its URL.

    pgserver counts the processes using one data folder and stops the server when
    the last of them exits, so the CLI, the workers and tests can share it.
    """
    global _embedded_server
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (servers, containers): harmless.
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: only the embedded default needs it

    pgdata = settings.data_dir / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if _embedded_server is None:
        _forget_dead_handles(pgdata)
        log.info("starting embedded PostgreSQL", extra={"pgdata": str(pgdata)})
        _embedded_server = pgserver.get_server(pgdata, cleanup_mode="stop")
    return str(_embedded_server.get_uri())


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without releasing their handle (SIGKILL, power loss).

    pgserver stops the server only when the last registered process exits; a dead
    process left in its list would keep the server running forever after.
    """
    import psutil

    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def stop_embedded_postgres() -> None:
    """Release this process's handle; the server stops when no process holds one."""
    global _embedded_server
    if _embedded_server is not None:
        _embedded_server.cleanup()
        _embedded_server = None


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
    # Every model must be known before the first flush: foreign keys name other tables.
    import app.models  # noqa: F401

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


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction (see request_transaction)."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session, request_transaction(session):
        yield session


# scope="function": commit before the response is sent, so a failed commit is never a 200.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


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
