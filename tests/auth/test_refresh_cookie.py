"""The web app's refresh cookie: set by login and refresh, spent by refresh, cleared by logout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import Morsel, SimpleCookie

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.auth.service import create_manager
from app.auth.tokens import REFRESH_TOKEN_TTL
from app.core.config import Settings
from app.core.database import request_transaction
from app.core.deps import get_session
from app.main import create_app
from tests.auth.helpers import PASSWORD, bearer, login

API = "/api/v1"
EMAIL = "anna@example.com"
COOKIE = "refresh_token"


def set_cookie(response: httpx.Response) -> Morsel[str]:
    """The one refresh-token cookie the response sets, parsed."""
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1, headers
    jar: SimpleCookie = SimpleCookie()
    jar.load(headers[0])
    return jar[COOKIE]


def assert_cleared(response: httpx.Response) -> None:
    cookie = set_cookie(response)
    assert cookie.value in ("", '""')
    assert cookie["max-age"] == "0"
    assert cookie["path"] == "/api/v1/auth"


def present(client: httpx.AsyncClient, token: str) -> None:
    """Make the client's cookie jar hold exactly this refresh token, as a browser would."""
    client.cookies.clear()
    client.cookies.set(COOKIE, token, domain="tracker.test", path="/api/v1/auth")


@pytest.fixture
async def manager(db: AsyncSession) -> None:
    await create_manager(db, email=EMAIL, password=PASSWORD, full_name="Anna", verified=True)


async def test_login_and_refresh_set_the_cookie(
    client: httpx.AsyncClient, manager: None, settings: Settings
) -> None:
    signed_in = await login(client, EMAIL)
    assert signed_in.status_code == 200
    # API clients still get both tokens in the body.
    assert set(signed_in.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
    for response in (signed_in, await client.post(f"{API}/auth/refresh")):
        cookie = set_cookie(response)
        assert cookie.value == response.json()["refresh_token"]
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Strict"
        assert cookie["path"] == "/api/v1/auth"
        assert cookie["max-age"] == str(int(REFRESH_TOKEN_TTL.total_seconds()))
        assert not cookie["secure"]  # development settings: plain http works


async def test_refresh_by_cookie_alone_rotates_it(client: httpx.AsyncClient, manager: None) -> None:
    first = (await login(client, EMAIL)).json()
    assert client.cookies.get(COOKIE) == first["refresh_token"]

    rotated = await client.post(f"{API}/auth/refresh")  # no body at all
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.cookies.get(COOKIE) == second["refresh_token"]
    me = await client.get(f"{API}/me", headers=bearer(second["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == EMAIL

    # A body without the field counts as no body.
    again = await client.post(f"{API}/auth/refresh", json={})
    assert again.status_code == 200
    assert client.cookies.get(COOKIE) == again.json()["refresh_token"] != second["refresh_token"]


async def test_the_body_token_wins_over_the_cookie(
    client: httpx.AsyncClient, manager: None
) -> None:
    api_session = (await login(client, EMAIL)).json()
    web_session = (await login(client, EMAIL)).json()
    assert client.cookies.get(COOKIE) == web_session["refresh_token"]
    response = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": api_session["refresh_token"]}
    )
    assert response.status_code == 200
    # The cookie's token was not spent: it still rotates.
    present(client, web_session["refresh_token"])
    assert (await client.post(f"{API}/auth/refresh")).status_code == 200


async def test_a_reused_cookie_revokes_the_family_and_is_cleared(
    client: httpx.AsyncClient, manager: None
) -> None:
    first = (await login(client, EMAIL)).json()
    second = (await client.post(f"{API}/auth/refresh")).json()

    present(client, first["refresh_token"])  # a copy of the cookie taken before rotation
    reuse = await client.post(f"{API}/auth/refresh")
    assert reuse.status_code == 401 and reuse.json()["code"] == "not_authenticated"
    assert_cleared(reuse)
    assert client.cookies.get(COOKIE) is None

    # The newer token belongs to the revoked family: it fails too, and so do its access tokens.
    present(client, second["refresh_token"])
    newest = await client.post(f"{API}/auth/refresh")
    assert newest.status_code == 401
    assert_cleared(newest)
    for pair in (first, second):
        me = await client.get(f"{API}/me", headers=bearer(pair["access_token"]))
        assert me.status_code == 401


async def test_an_unknown_cookie_is_refused_and_cleared(
    client: httpx.AsyncClient, manager: None
) -> None:
    present(client, "not-a-token-we-gave-out")
    response = await client.post(f"{API}/auth/refresh")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert_cleared(response)


async def test_without_body_or_cookie(client: httpx.AsyncClient) -> None:
    refused = await client.post(f"{API}/auth/refresh")
    assert refused.status_code == 401
    assert refused.json() == {
        "detail": "No refresh token was presented.",
        "code": "not_authenticated",
    }
    assert_cleared(refused)
    out = await client.post(f"{API}/auth/logout")
    assert out.status_code == 204 and out.content == b""
    assert_cleared(out)


async def test_logout_by_cookie_revokes_and_clears_it(
    client: httpx.AsyncClient, manager: None
) -> None:
    pair = (await login(client, EMAIL)).json()
    out = await client.post(f"{API}/auth/logout")  # the cookie alone
    assert out.status_code == 204
    assert_cleared(out)
    assert client.cookies.get(COOKIE) is None

    renewed = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert renewed.status_code == 401
    assert (await client.get(f"{API}/me", headers=bearer(pair["access_token"]))).status_code == 401


async def test_logout_with_a_body_also_ends_the_cookies_session(
    client: httpx.AsyncClient, manager: None
) -> None:
    api_session = (await login(client, EMAIL)).json()
    web_session = (await login(client, EMAIL)).json()  # the cookie holds this one
    out = await client.post(
        f"{API}/auth/logout", json={"refresh_token": api_session["refresh_token"]}
    )
    assert out.status_code == 204
    assert_cleared(out)
    for pair in (api_session, web_session):
        me = await client.get(f"{API}/me", headers=bearer(pair["access_token"]))
        assert me.status_code == 401


async def test_the_body_is_optional_in_the_openapi_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/api/openapi.json")).json()["paths"]
    for route in ("refresh", "logout"):
        operation = paths[f"{API}/auth/{route}"]["post"]
        assert not operation["requestBody"].get("required", False)
        assert {"name": COOKIE, "in": "cookie"}.items() <= operation["parameters"][0].items()


@pytest.fixture
async def production_client(
    settings: Settings, engine: AsyncEngine, db: AsyncSession
) -> AsyncIterator[httpx.AsyncClient]:
    """The app under APP_ENV=production settings, on the test's rolled-back session."""
    production = settings.model_copy(update={"APP_ENV": "production"})
    assert production.is_production
    app: FastAPI = create_app(production, engine=engine)

    async def _test_session() -> AsyncIterator[AsyncSession]:
        async with request_transaction(db):
            yield db

    app.dependency_overrides[get_session] = _test_session
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://tracker.test") as c:
            yield c


async def test_the_cookie_is_secure_in_production(
    production_client: httpx.AsyncClient, manager: None
) -> None:
    signed_in = await login(production_client, EMAIL)
    assert signed_in.status_code == 200
    assert set_cookie(signed_in)["secure"] is True
    rotated = await production_client.post(f"{API}/auth/refresh")  # sent back over https
    assert rotated.status_code == 200
    assert set_cookie(rotated)["secure"] is True
    out = await production_client.post(f"{API}/auth/logout")
    assert_cleared(out)
    assert set_cookie(out)["secure"] is True
