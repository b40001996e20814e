"""Passwords (Argon2id via pwdlib), access tokens (JWT via PyJWT), opaque random tokens."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from app.core.ids import MAX_ID, MIN_ID

ACCESS_TOKEN_TTL = timedelta(minutes=15)
JWT_ALGORITHM = "HS256"
JWT_ISSUER = "simple-issue-tracker"
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128  # Argon2 over megabytes of input would be a cheap DoS

# Argon2id hashes new passwords; bcrypt hashes (imported accounts) still verify and
# are upgraded to Argon2id at the next successful login.
_password_hash = PasswordHash((Argon2Hasher(), BcryptHasher()))
# Verified against when the account does not exist, so both paths cost the same.
_DUMMY_HASH = _password_hash.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    # Hashing takes tens of milliseconds of CPU: keep it off the event loop.
    return await asyncio.to_thread(_password_hash.hash, password)


async def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(matches, a new hash to store when the old one uses outdated parameters)."""
    if password_hash is None:
        await asyncio.to_thread(_password_hash.verify, password, _DUMMY_HASH)
        return False, None
    try:
        return await asyncio.to_thread(_password_hash.verify_and_update, password, password_hash)
    except Exception:  # an unreadable stored hash never matches
        return False, None


def new_opaque_token() -> str:
    """A random token for links and refresh (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex: what manager_tokens stores instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AccessClaims:
    manager_id: int
    family_id: uuid.UUID


class InvalidAccessToken(Exception):
    pass


def create_access_token(
    *, manager_id: int, family_id: uuid.UUID, secret_key: str, now: datetime
) -> str:
    claims = {
        "sub": str(manager_id),
        "fam": str(family_id),
        "typ": "access",
        "iss": JWT_ISSUER,
        "iat": int(now.timestamp()),
        "exp": int((now + ACCESS_TOKEN_TTL).timestamp()),
    }
    return jwt.encode(claims, secret_key, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, *, secret_key: str) -> AccessClaims:
    """Verify signature, algorithm, issuer and expiry; anything else is InvalidAccessToken."""
    try:
        claims = jwt.decode(
            token,
            secret_key,
            algorithms=[JWT_ALGORITHM],  # never "none", never what the token says
            issuer=JWT_ISSUER,
            options={"require": ["sub", "fam", "typ", "iat", "exp", "iss"]},
        )
        if claims["typ"] != "access":
            raise InvalidAccessToken("not an access token")
        manager_id = int(claims["sub"])
        if not MIN_ID <= manager_id <= MAX_ID:  # no row has it, and bigint cannot hold it
            raise InvalidAccessToken("not a manager id")
        return AccessClaims(manager_id=manager_id, family_id=uuid.UUID(claims["fam"]))
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidAccessToken(str(exc)) from None
