"""Shared steps of the account tests."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.outbox.models import OutgoingEmail
from app.outbox.outgoing import build_message

PASSWORD = "correct horse battery"
_LINK = re.compile(r"https?://\S+?[?&]token=([A-Za-z0-9_\-]+)")


async def outbox_to(db: AsyncSession, address: str) -> list[OutgoingEmail]:
    rows = await db.scalars(
        select(OutgoingEmail).where(OutgoingEmail.to_address == address).order_by(OutgoingEmail.id)
    )
    return list(rows)


def token_in(message_text: str) -> str:
    match = _LINK.search(message_text)
    assert match, f"no link with a token in:\n{message_text}"
    return match.group(1)


async def latest_token(db: AsyncSession, settings: Settings, address: str, kind: str) -> str:
    mails = [m for m in await outbox_to(db, address) if m.kind == kind]
    assert mails, f"no {kind} mail to {address}"
    message = build_message(mails[-1], settings)
    return token_in(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


async def register(
    client: httpx.AsyncClient, email: str = "anna@example.com", **extra: object
) -> httpx.Response:
    body = {"email": email, "password": PASSWORD, "full_name": "Anna Nowak", **extra}
    return await client.post("/api/v1/auth/register", json=body)


async def verified_manager(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, email: str
) -> None:
    assert (await register(client, email)).status_code == 201
    token = await latest_token(db, settings, email, "verify_email")
    assert (
        await client.post("/api/v1/auth/verify-email", json={"token": token})
    ).status_code == 200


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


async def signed_in(
    client: httpx.AsyncClient, db: AsyncSession, email: str = "anna@example.com", **kw: str
) -> dict[str, str]:
    """A verified manager made as an operator would, signed in: its auth headers."""
    from app.auth.service import create_manager

    await create_manager(
        db,
        email=email,
        password=PASSWORD,
        full_name=kw.get("name", "Anna Nowak"),
        language=kw.get("language", "en"),
        verified=True,
    )
    response = await login(client, email)
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])
