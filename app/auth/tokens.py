"""manager_tokens: one-time link tokens and rotating refresh-token families."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ManagerToken
from app.core.clock import clock
from app.core.security import hash_token, new_opaque_token

REFRESH_TOKEN_TTL = timedelta(days=30)
EMAIL_VERIFICATION_TTL = timedelta(hours=48)
PASSWORD_RESET_TTL = timedelta(hours=1)


async def issue(
    session: AsyncSession,
    *,
    manager_id: int,
    token_type: str,
    ttl: timedelta,
    family_id: uuid.UUID | None = None,
) -> str:
    """Store the hash of a new random token and return the token itself (never stored)."""
    token = new_opaque_token()
    session.add(
        ManagerToken(
            manager_id=manager_id,
            token_type=token_type,
            token_hash=hash_token(token),
            expires_at=clock.now() + ttl,
            family_id=family_id,
        )
    )
    await session.flush()
    return token


async def find(session: AsyncSession, *, token: str, token_type: str) -> ManagerToken | None:
    """The token's row, locked for this transaction, whatever its state."""
    return await session.scalar(
        select(ManagerToken)
        .where(ManagerToken.token_hash == hash_token(token), ManagerToken.token_type == token_type)
        .with_for_update()
    )


def is_usable(row: ManagerToken) -> bool:
    return row.used_at is None and row.revoked_at is None and row.expires_at > clock.now()


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(ManagerToken)
        .where(ManagerToken.family_id == family_id, ManagerToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


async def revoke_all(session: AsyncSession, *, manager_id: int, token_type: str) -> None:
    await session.execute(
        update(ManagerToken)
        .where(
            ManagerToken.manager_id == manager_id,
            ManagerToken.token_type == token_type,
            ManagerToken.revoked_at.is_(None),
        )
        .values(revoked_at=clock.now())
    )


def family_is_live(family_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """SQL: the family still has a token that is neither revoked nor expired.

    Access tokens name their family, so logout, reuse detection and a password
    reset end them at once, not only when they expire.
    """
    return exists().where(
        and_(
            ManagerToken.family_id == family_id,
            ManagerToken.token_type == "refresh",
            ManagerToken.revoked_at.is_(None),
            ManagerToken.expires_at > clock.now(),
        )
    )
