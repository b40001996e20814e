"""Security headers on every answer: CSP, nosniff, a Referrer-Policy that keeps the
status link in the browser, no caching of API answers, HSTS in production."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.config import Settings
from tests.auth.helpers import login, signed_in
from tests.core.test_spa_serving import build, client_for

SPA_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
REPORT = uuid.uuid4()


@pytest.fixture
async def web(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    build(tmp_path / "dist")
    async for client in client_for(settings, engine, tmp_path / "dist"):
        yield client


@pytest.mark.parametrize(
    ("path", "referrer"),
    [
        (f"/t/{REPORT}", "no-referrer"),  # the status page: its URL is the secret
        (f"/t/{REPORT.hex}", "no-referrer"),
        ("/", "same-origin"),
        ("/boards/3", "same-origin"),
        ("/b/AbCdEfGhIjKlMnOpQrStUv", "same-origin"),
        ("/assets/index-B7kq2xQ1.js", "same-origin"),
    ],
)
async def test_the_spa_gets_a_strict_csp_and_its_referrer_policy(
    web: httpx.AsyncClient, path: str, referrer: str
) -> None:
    response = await web.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == SPA_CSP
    assert "unsafe-inline" not in SPA_CSP and "frame-ancestors 'none'" in SPA_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == referrer
    assert "no-store" not in response.headers["Cache-Control"]  # the bundle caches
    assert "Strict-Transport-Security" not in response.headers  # development


@pytest.mark.parametrize(
    ("method", "path", "referrer"),
    [
        ("GET", f"/api/v1/public/tickets/{REPORT}", "no-referrer"),
        ("GET", "/api/v1/public/boards/AbCdEfGhIjKlMnOpQrStUv", "no-referrer"),
        ("POST", "/api/v1/auth/login", "same-origin"),
        ("GET", "/api/v1/boards", "same-origin"),
        ("GET", "/api/v1/no-such-route", "same-origin"),
    ],
)
async def test_api_answers_are_never_stored(
    web: httpx.AsyncClient, method: str, path: str, referrer: str
) -> None:
    response = await web.request(method, path, json={"email": "a@example.com", "password": "x"})
    assert response.status_code in (401, 404, 422), response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == API_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == referrer


async def test_answers_with_tokens_and_personal_data_are_not_stored(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    auth = await signed_in(client, db, "cache@example.com")
    signed = await login(client, "cache@example.com")
    assert signed.status_code == 200 and "access_token" in signed.json()
    assert signed.headers["Cache-Control"] == "no-store"
    me = await client.get("/api/v1/me", headers=auth)
    assert me.status_code == 200 and me.json()["email"] == "cache@example.com"
    assert me.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/health", "/api/openapi.json"])
async def test_the_schema_and_health_may_be_cached(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert response.headers["Content-Security-Policy"] == API_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_docs_page_runs_scripts_of_the_app_alone(web: httpx.AsyncClient) -> None:
    """Swagger UI from the app's own files: no CDN, no inline script."""
    response = await web.get("/api/docs")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert re.search(r"script-src 'self';", policy), policy
    assert "http" not in policy and "unsafe-eval" not in policy
    assert not re.findall(rb"<script>(.*?)</script>", response.content, re.DOTALL)
    scripts = re.findall(r'<script src="([^"]+)"', response.text)
    assert scripts == ["/api-docs/swagger-ui-bundle.js", "/api-docs/init.js"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy


async def test_hsts_in_production(settings: Settings, engine: AsyncEngine, tmp_path: Path) -> None:
    production = settings.model_copy(update={"APP_ENV": "production"})
    build(tmp_path / "dist")
    async for client in client_for(production, engine, tmp_path / "dist"):
        for path in ("/", f"/t/{REPORT}", "/api/v1/boards", "/health"):
            response = await client.get(path)
            assert response.headers["Strict-Transport-Security"] == (
                "max-age=63072000; includeSubDomains"
            ), path
