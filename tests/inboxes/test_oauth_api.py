"""The oauth2 inbox routes on their own: which providers are offered, starting a
sign-in, and an inbox whose tokens are broken still being readable, changeable and
reconnectable (its tokens are never decrypted to show it)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.config import Settings
from app.core.crypto import cipher_for
from app.inboxes.models import (
    CODE_VERIFIER_CONTEXT,
    EmailInbox,
    InboxOAuthGrant,
    InboxOAuthRequest,
)
from tests.auth.helpers import signed_in
from tests.conftest import app_on
from tests.fakes.oauth import FakeOAuthProvider, pkce_challenge

API = "/api/v1"


@pytest.fixture
def configured(settings: Settings, oauth_provider: FakeOAuthProvider) -> Settings:
    return settings.model_copy(
        update={**oauth_provider.app_settings(), "MICROSOFT_OAUTH_TENANT": "0000-tenant"}
    )


@pytest.fixture
def app(configured: Settings, engine: AsyncEngine, db: AsyncSession) -> FastAPI:
    return app_on(configured, engine, db)


@pytest.fixture
async def bare_client(
    settings: Settings, engine: AsyncEngine, db: AsyncSession
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with no provider configured."""
    bare = app_on(settings, engine, db)
    async with bare.router.lifespan_context(bare):
        transport = httpx.ASGITransport(app=bare)
        async with httpx.AsyncClient(transport=transport, base_url="http://tracker.test") as c:
            yield c


async def oauth_inbox(db: AsyncSession, email: str, *, tokens: str = "garbage") -> int:
    """An oauth2 inbox of the manager `email`, its grant's tokens as stored."""
    from app.auth.models import Manager

    manager_id = await db.scalar(select(Manager.id).where(Manager.email == email))
    inbox = EmailInbox(
        manager_id=manager_id,
        name="Support",
        email_address="support@example.com",
        imap_host="imap.example.com",
        imap_username="support@example.com",
        smtp_host="smtp.example.com",
        auth_kind="oauth2",
    )
    db.add(inbox)
    await db.flush()
    db.add(
        InboxOAuthGrant(
            email_inbox_id=inbox.id,
            provider="microsoft",
            scopes="https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
            refresh_token_encrypted=tokens,
            access_token_encrypted=tokens,
            status="consent_required",
            last_error="Microsoft 365 wants consent",
        )
    )
    await db.flush()
    return inbox.id


async def test_the_providers_offered_are_those_configured(
    client: httpx.AsyncClient, bare_client: httpx.AsyncClient, db: AsyncSession
) -> None:
    auth = await signed_in(client, db)
    offered = await client.get(f"{API}/inboxes/oauth2/providers", headers=auth)
    assert offered.json() == [
        {"name": "google", "label": "Google"},
        {"name": "microsoft", "label": "Microsoft 365"},
    ]
    assert (await bare_client.get(f"{API}/inboxes/oauth2/providers", headers=auth)).json() == []
    refused = await bare_client.post(
        f"{API}/inboxes/oauth2/authorize",
        headers=auth,
        json={"provider": "google", "name": "Help", "email_address": "help@example.com"},
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "oauth_provider_not_configured"


async def test_starting_a_sign_in_stores_a_hashed_state_and_an_encrypted_verifier(
    client: httpx.AsyncClient,
    db: AsyncSession,
    oauth_provider: FakeOAuthProvider,
    configured: Settings,
) -> None:
    auth = await signed_in(client, db)
    started = await client.post(
        f"{API}/inboxes/oauth2/authorize",
        headers=auth,
        json={"provider": "microsoft", "name": "Help", "email_address": "help@example.com"},
    )
    assert started.status_code == 200, started.text
    url = urlsplit(started.json()["authorization_url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == (
        f"{oauth_provider.url}/microsoft/0000-tenant/oauth2/v2.0/authorize"
    )
    asked = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert asked["prompt"] == "select_account" and asked["code_challenge_method"] == "S256"
    assert asked["redirect_uri"] == "http://tracker.test/api/v1/inboxes/oauth2/callback"
    [stored] = (await db.scalars(select(InboxOAuthRequest))).all()
    assert stored.state_hash == hashlib.sha256(asked["state"].encode()).hexdigest()
    verifier = cipher_for(configured).decrypt(
        stored.code_verifier_encrypted, context=CODE_VERIFIER_CONTEXT
    )
    assert verifier not in stored.code_verifier_encrypted  # stored encrypted
    assert asked["code_challenge"] == pkce_challenge(verifier)
    assert stored.inbox["email_address"] == "help@example.com"
    # A second inbox of the same name is refused before anyone signs in.
    db.add(
        EmailInbox(
            manager_id=stored.manager_id,
            name="Taken",
            email_address="t@example.com",
            imap_host="imap.example.com",
        )
    )
    await db.flush()
    taken = await client.post(
        f"{API}/inboxes/oauth2/authorize",
        headers=auth,
        json={"provider": "google", "name": "Taken", "email_address": "t@example.com"},
    )
    assert taken.status_code == 409 and taken.json()["code"] == "inbox_name_taken"


async def test_an_inbox_with_broken_tokens_can_be_read_changed_and_reconnected(
    client: httpx.AsyncClient, db: AsyncSession, configured: Settings
) -> None:
    auth = await signed_in(client, db)
    inbox_id = await oauth_inbox(db, "anna@example.com", tokens="not-even-encrypted")

    read = await client.get(f"{API}/inboxes/{inbox_id}", headers=auth)
    assert read.status_code == 200, read.text
    grant = read.json()["oauth2"]
    assert (grant["provider"], grant["status"]) == ("microsoft", "consent_required")
    assert grant["admin_consent_url"].startswith(
        f"{configured.MICROSOFT_OAUTH_AUTHORITY}/0000-tenant/v2.0/adminconsent?client_id="
    )
    assert "token" not in str(grant).replace("_token", "")
    listed = await client.get(f"{API}/inboxes", headers=auth)
    assert listed.json()["items"][0]["oauth2"]["status"] == "consent_required"

    renamed = await client.patch(f"{API}/inboxes/{inbox_id}", headers=auth, json={"name": "Desk"})
    assert renamed.status_code == 200 and renamed.json()["auth_kind"] == "oauth2"
    # A password on an inbox that signs in with its provider is a mistake, said plainly.
    password = await client.patch(
        f"{API}/inboxes/{inbox_id}", headers=auth, json={"imap_password": "x"}
    )
    assert password.status_code == 409
    assert password.json()["code"] == "inbox_signs_in_with_oauth2"

    again = await client.post(f"{API}/inboxes/{inbox_id}/oauth2/authorize", headers=auth)
    assert again.status_code == 200, again.text
    assert "/microsoft/0000-tenant/" in again.json()["authorization_url"]

    # Another manager can neither see nor reconnect it.
    other = await signed_in(client, db, "olga@example.com")
    for response in (
        await client.get(f"{API}/inboxes/{inbox_id}", headers=other),
        await client.post(f"{API}/inboxes/{inbox_id}/oauth2/authorize", headers=other),
    ):
        assert response.status_code == 404

    # Back to passwords: the tokens go.
    back = await client.patch(
        f"{API}/inboxes/{inbox_id}",
        headers=auth,
        json={"auth_kind": "password", "imap_password": "imap-pass-123"},
    )
    assert back.status_code == 200, back.text
    assert (back.json()["auth_kind"], back.json()["oauth2"], back.json()["has_imap_password"]) == (
        "password",
        None,
        True,
    )
    assert await db.get(InboxOAuthGrant, inbox_id) is None


async def test_a_callback_without_a_known_state_goes_back_to_the_app_with_the_reason(
    client: httpx.AsyncClient,
) -> None:
    for query, reason in (
        ("code=abc&state=never-issued", "expired"),
        ("code=abc", "invalid_request"),
        ("error=access_denied&state=never-issued", "expired"),
    ):
        answer = await client.get(f"{API}/inboxes/oauth2/callback?{query}")
        assert answer.status_code == 303
        target = urlsplit(answer.headers["location"])
        assert (target.netloc, target.path) == ("tracker.test", "/inboxes")
        outcome = parse_qs(target.query)
        assert (outcome["oauth2"], outcome["reason"]) == (["failed"], [reason])


async def test_an_administrator_back_from_the_consent_page_is_told_the_outcome(
    client: httpx.AsyncClient,
) -> None:
    granted = await client.get(f"{API}/inboxes/oauth2/callback?admin_consent=True&tenant=t1")
    assert parse_qs(urlsplit(granted.headers["location"]).query) == {"oauth2": ["consent_granted"]}
    refused = await client.get(
        f"{API}/inboxes/oauth2/callback?admin_consent=True&tenant=t1&error=access_denied"
        "&error_description=AADSTS65004%3A+User+declined+to+consent"
    )
    outcome = parse_qs(urlsplit(refused.headers["location"]).query)
    assert (outcome["oauth2"], outcome["reason"]) == (["failed"], ["consent_required"])
    assert "declined to consent" in outcome["detail"][0]
