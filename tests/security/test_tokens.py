"""Forged, stale and misused access tokens: every one is a 401 `not_authenticated`.

Access tokens are HS256 JWTs (app/core/security.py) naming the manager (`sub`) and
the session family (`fam`); each case below is made with PyJWT the way an attacker
would make it, next to a genuine token that works.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Manager
from app.core.clock import clock
from app.core.config import Settings
from app.core.ids import MAX_ID
from app.core.security import JWT_ALGORITHM, JWT_ISSUER, create_access_token
from tests.auth.helpers import PASSWORD, bearer, login, signed_in

ME = "/api/v1/me"


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def with_payload(token: str, payload: dict[str, Any]) -> str:
    """The token with another payload and its original header and signature."""
    header, _, signature = token.split(".")
    return f"{header}.{b64(json.dumps(payload).encode())}.{signature}"


async def assert_refused(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(ME, headers=bearer(token))
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "not_authenticated"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.fixture
async def session_tokens(client: httpx.AsyncClient, db: AsyncSession) -> dict[str, str]:
    """A signed-in manager's genuine access and refresh tokens (checked to work)."""
    await signed_in(client, db, "anna@example.com")
    pair = (await login(client, "anna@example.com", PASSWORD)).json()
    assert (await client.get(ME, headers=bearer(pair["access_token"]))).status_code == 200
    return {"access": pair["access_token"], "refresh": pair["refresh_token"]}


async def test_alg_none(client: httpx.AsyncClient, session_tokens: dict[str, str]) -> None:
    claims = claims_of(session_tokens["access"])
    unsigned = jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]
    await assert_refused(client, unsigned)
    # The same with the signature of the genuine token left on.
    await assert_refused(client, unsigned + session_tokens["access"].split(".")[2])


async def test_another_key(client: httpx.AsyncClient, session_tokens: dict[str, str]) -> None:
    claims = claims_of(session_tokens["access"])
    await assert_refused(client, jwt.encode(claims, "another key " * 4, algorithm=JWT_ALGORITHM))


async def test_another_algorithm_with_the_right_key(
    client: httpx.AsyncClient, settings: Settings, session_tokens: dict[str, str]
) -> None:
    claims = claims_of(session_tokens["access"])
    await assert_refused(client, jwt.encode(claims, settings.secret_key(), algorithm="HS512"))


async def test_a_tampered_claim(
    client: httpx.AsyncClient, db: AsyncSession, session_tokens: dict[str, str]
) -> None:
    other = await signed_in(client, db, "boris@example.com")
    other_id = (await client.get(ME, headers=other)).json()["id"]
    claims = claims_of(session_tokens["access"])
    # Someone else's id, a later expiry, another family: the signature no longer fits.
    for change in (
        {"sub": str(other_id)},
        {"exp": claims["exp"] + 3600},
        {"fam": str(uuid.uuid4())},
    ):
        await assert_refused(client, with_payload(session_tokens["access"], {**claims, **change}))


async def test_an_expired_token(
    client: httpx.AsyncClient, settings: Settings, session_tokens: dict[str, str]
) -> None:
    claims = claims_of(session_tokens["access"])
    expired = create_access_token(
        manager_id=int(claims["sub"]),
        family_id=uuid.UUID(claims["fam"]),
        secret_key=settings.secret_key(),
        now=clock.now() - timedelta(minutes=16),
    )
    await assert_refused(client, expired)


async def test_a_refresh_token_as_an_access_token(
    client: httpx.AsyncClient, settings: Settings, session_tokens: dict[str, str]
) -> None:
    await assert_refused(client, session_tokens["refresh"])
    # A genuinely signed JWT of another type is no access token either.
    claims = {**claims_of(session_tokens["access"]), "typ": "refresh"}
    await assert_refused(client, jwt.encode(claims, settings.secret_key(), algorithm=JWT_ALGORITHM))


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        "....",
        "eyJhbGciOiJIUzI1NiJ9",
        "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",
        "x" * 5000,
        "zażółć.gęślą.jaźń",
    ],
)
async def test_garbage(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(ME, headers=[(b"Authorization", f"Bearer {token}".encode())])
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic YW5uYTpwYXNz", "Token abc"])
async def test_no_bearer_token(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get(ME, headers={"Authorization": header})
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


async def test_a_token_of_an_unknown_manager(
    client: httpx.AsyncClient, settings: Settings, session_tokens: dict[str, str]
) -> None:
    claims = claims_of(session_tokens["access"])
    for manager_id in (MAX_ID, 0, -1):
        forged = jwt.encode(
            {**claims, "sub": str(manager_id)}, settings.secret_key(), algorithm=JWT_ALGORITHM
        )
        await assert_refused(client, forged)


async def test_a_token_of_a_deleted_manager(
    client: httpx.AsyncClient, db: AsyncSession, session_tokens: dict[str, str]
) -> None:
    manager_id = int(claims_of(session_tokens["access"])["sub"])
    await db.execute(delete(Manager).where(Manager.id == manager_id))
    await db.commit()
    await assert_refused(client, session_tokens["access"])


async def test_claims_of_the_wrong_shape(
    client: httpx.AsyncClient, settings: Settings, session_tokens: dict[str, str]
) -> None:
    """Well signed but malformed (as a leaked key or a bug could produce): never a 500."""
    claims = claims_of(session_tokens["access"])
    shapes: list[dict[str, Any]] = [
        {"sub": "not a number"},
        {"sub": str(2**64)},
        {"sub": 7},
        {"fam": "not a uuid"},
        {"iss": "someone-else"},
        {"iss": JWT_ISSUER, "exp": "tomorrow"},
    ]
    for change in shapes:
        token = jwt.encode({**claims, **change}, settings.secret_key(), algorithm=JWT_ALGORITHM)
        await assert_refused(client, token)
    for missing in ("sub", "fam", "typ", "exp", "iss", "iat"):
        partial = {k: v for k, v in claims.items() if k != missing}
        await assert_refused(
            client, jwt.encode(partial, settings.secret_key(), algorithm=JWT_ALGORITHM)
        )
