"""Request dependencies every router shares: the settings, the client's address, the
session whose transaction the request owns, the direct pool of the busiest public
routes (app/core/direct.py),
and the paging parameters of lists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.database import request_transaction
from app.core.direct import Direct
from app.core.pagination import MAX_LIMIT


# Dependencies are `async def` even with nothing to await: FastAPI runs a plain `def`
# in a worker thread, a thread hop on every request.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def client_ip(request: Request) -> str:
    """The client's address (uvicorn applies X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


ClientIp = Annotated[str, Depends(client_ip)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction (see request_transaction)."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session, request_transaction(session):
        yield session


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """For work that needs several short transactions of its own, with remote calls
    between them (an inbox's token refresh, a provider's sign-in callback)."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


# A plain `async def` returning what the lifespan made: a generator dependency with
# its exit stack costs more than the status link's read itself.
async def get_direct(request: Request) -> Direct:
    direct: Direct = request.app.state.direct
    return direct


DirectDep = Annotated[Direct, Depends(get_direct)]


async def direct_of(request: Request) -> Direct:
    """`get_direct` for a route that solves no dependencies (app/core/routes.py), with an
    override of it honoured as FastAPI would honour it (the tests run the app in their
    own transaction so); an override is an `async def` without parameters."""
    override = request.app.dependency_overrides.get(get_direct)
    if override is not None:
        direct: Direct = await override()
        return direct
    return await get_direct(request)


# scope="function": commit before the response is sent, so a failed commit is never a 200.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

# The query parameters of every list (see app/core/pagination.py).
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (1–{MAX_LIMIT})")]
Cursor = Annotated[
    str | None, Query(max_length=200, description="`next_cursor` of the previous page")
]
