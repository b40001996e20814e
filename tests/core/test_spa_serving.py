"""The built SPA: caching by kind of file, client routes, missing assets, security headers."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.main import create_app

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
INDEX = '<!doctype html><html><body><div id="root"></div>tracker</body></html>'
SCRIPT = "console.log('bundle')"


def build(dist: Path) -> None:
    """A bundle as `vite build` lays it out."""
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-B7kq2xQ1.js").write_text(SCRIPT)
    (dist / "assets" / "index-Cx81vTzA.css").write_text("body{margin:0}")
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")


async def client_for(
    settings: Settings, engine: AsyncEngine, dist: Path
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, engine=engine, frontend_dist=dist)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


@pytest.fixture
async def spa(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    build(tmp_path / "dist")
    async for client in client_for(settings, engine, tmp_path / "dist"):
        yield client


def assert_spa_headers(response: httpx.Response) -> None:
    assert response.headers["Content-Security-Policy"] == CSP
    # The status page's URL is a secret; elsewhere the URL may go to our own origin only
    # (tests/security/test_headers.py).
    secret = response.url.path.startswith("/t/")
    assert response.headers["Referrer-Policy"] == ("no-referrer" if secret else "same-origin")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


async def test_hashed_assets_are_cached_for_good(spa: httpx.AsyncClient) -> None:
    script = await spa.get("/assets/index-B7kq2xQ1.js")
    assert script.status_code == 200 and script.text == SCRIPT
    assert "javascript" in script.headers["Content-Type"]
    assert script.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    style = await spa.get("/assets/index-Cx81vTzA.css")
    assert style.headers["Content-Type"].startswith("text/css")
    assert style.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert_spa_headers(script)


@pytest.mark.parametrize("path", ["/", "/index.html"])
async def test_index_is_revalidated_on_every_load(spa: httpx.AsyncClient, path: str) -> None:
    page = await spa.get(path)
    assert page.status_code == 200 and page.text == INDEX
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-cache"
    assert_spa_headers(page)


@pytest.mark.parametrize(
    "path", ["/boards/3", f"/t/{uuid.uuid4()}", "/b/AbCdEfGhIjKlMnOpQrStUv", "/login"]
)
async def test_client_routes_get_index(spa: httpx.AsyncClient, path: str) -> None:
    page = await spa.get(path)
    assert page.status_code == 200 and page.text == INDEX
    assert page.headers["Cache-Control"] == "no-cache"
    assert_spa_headers(page)  # Referrer-Policy keeps /t/<uuid> out of Referer headers


async def test_other_files_get_a_short_cache(spa: httpx.AsyncClient) -> None:
    icon = await spa.get("/favicon.svg")
    assert icon.status_code == 200 and icon.text.startswith("<svg")
    assert icon.headers["Cache-Control"] == "public, max-age=3600"
    assert_spa_headers(icon)


@pytest.mark.parametrize(
    "path",
    [
        "/assets/index-OldBuild1.js",  # a tab still open from the previous deploy
        "/assets/",
        "/assets",
        "/assets/..%2F..%2Fpyproject.toml",
        "/api-docs/swagger-ui-bundle.js",  # the API docs' files: a script, never the page
    ],
)
async def test_a_missing_asset_is_a_404_not_the_page(spa: httpx.AsyncClient, path: str) -> None:
    response = await spa.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"
    assert "tracker" not in response.text
    assert_spa_headers(response)


async def test_nothing_outside_the_bundle(spa: httpx.AsyncClient) -> None:
    escape = await spa.get("/..%2F..%2Fpyproject.toml")
    assert escape.status_code == 200 and escape.text == INDEX


async def test_an_unchanged_file_answers_304(spa: httpx.AsyncClient) -> None:
    first = await spa.get("/")
    etag = first.headers["ETag"]
    again = await spa.get("/boards/3", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "no-cache"
    other = await spa.get("/", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.text == INDEX


async def test_head_answers_the_headers_only(spa: httpx.AsyncClient) -> None:
    response = await spa.head("/assets/index-B7kq2xQ1.js")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["Content-Length"] == str(len(SCRIPT))
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


async def test_api_paths_stay_json(spa: httpx.AsyncClient) -> None:
    for path in ("/api/v1/nothing-here", "/api/v1/boards/3/nope", "/api"):
        missing = await spa.get(path)
        assert missing.status_code == 404, path
        assert missing.json() == {"detail": "Not found.", "code": "not_found"}
        assert missing.headers["Content-Security-Policy"] == API_CSP
        assert missing.headers["X-Content-Type-Options"] == "nosniff"
        assert missing.headers["Referrer-Policy"] == "same-origin"
    posted = await spa.post("/boards/3")
    assert posted.status_code == 404 and posted.json()["code"] == "not_found"
    health = await spa.get("/health")
    assert health.json() == {"status": "ok"}
    assert health.headers["Content-Security-Policy"] == API_CSP
    assert health.headers["X-Content-Type-Options"] == "nosniff"
    assert health.headers["Referrer-Policy"] == "same-origin"


async def test_an_unbuilt_bundle_says_so(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    async for client in client_for(settings, engine, tmp_path / "not-built"):
        page = await client.get("/boards/3")
    assert page.status_code == 404
    assert "not been built" in page.json()["detail"]


@pytest.fixture
async def compressed_spa(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A bundle whose script also comes as .gz, compressed at build as vite.config.js does."""
    dist = tmp_path / "dist"
    build(dist)
    script = dist / "assets" / "index-B7kq2xQ1.js"
    script.with_name(script.name + ".gz").write_bytes(gzip.compress(SCRIPT.encode()))
    async for client in client_for(settings, engine, dist):
        yield client


@pytest.mark.parametrize("accept", ["gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "*"])
async def test_the_precompressed_file_goes_to_browsers_taking_gzip(
    compressed_spa: httpx.AsyncClient, accept: str
) -> None:
    response = await compressed_spa.get(
        "/assets/index-B7kq2xQ1.js", headers={"Accept-Encoding": accept}
    )
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.text == SCRIPT  # httpx undoes the gzip, as a browser does
    assert "javascript" in response.headers["Content-Type"]
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0, identity", ""])
async def test_others_get_the_plain_file(compressed_spa: httpx.AsyncClient, accept: str) -> None:
    response = await compressed_spa.get(
        "/assets/index-B7kq2xQ1.js", headers={"Accept-Encoding": accept}
    )
    assert response.status_code == 200 and response.text == SCRIPT
    assert "Content-Encoding" not in response.headers
    assert response.headers["Vary"] == "Accept-Encoding"  # caches keep the two apart


async def test_each_encoding_has_its_own_etag(compressed_spa: httpx.AsyncClient) -> None:
    path = "/assets/index-B7kq2xQ1.js"
    plain = await compressed_spa.get(path, headers={"Accept-Encoding": "identity"})
    packed = await compressed_spa.get(path, headers={"Accept-Encoding": "gzip"})
    assert plain.headers["ETag"] != packed.headers["ETag"]
    again = await compressed_spa.get(
        path, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}
    )
    assert again.status_code == 304 and again.headers["Content-Encoding"] == "gzip"
