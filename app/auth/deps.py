"""The signed-in manager, as a typed dependency (the shared ones are in app/core/deps.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from app.auth import tokens
from app.auth.models import Manager
from app.core.deps import SessionDep, SettingsDep
from app.core.errors import AccountSuspended, NotAuthenticated
from app.core.security import InvalidAccessToken, decode_access_token

_bearer = HTTPBearer(auto_error=False, description="The access token from /auth/login")


async def current_manager(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Manager:
    """The manager the bearer token belongs to.

    401 for a missing, malformed, expired or revoked token (its session was logged
    out, rotated away after reuse, or ended by a password reset); 403 for a
    suspended account, at once, whatever tokens it holds.
    """
    if credentials is None:
        raise NotAuthenticated()
    try:
        claims = decode_access_token(credentials.credentials, secret_key=settings.secret_key())
    except InvalidAccessToken:
        raise NotAuthenticated() from None
    row = (
        await session.execute(
            select(Manager, tokens.family_is_live(claims.family_id)).where(
                Manager.id == claims.manager_id
            )
        )
    ).first()
    if row is None:
        raise NotAuthenticated()
    manager, live = row
    if manager.is_suspended:
        raise AccountSuspended()
    if not live:
        raise NotAuthenticated()
    return manager


CurrentManager = Annotated[Manager, Depends(current_manager)]
