"""The built SPA in a real Chromium, served by a real `python -m app serve`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.conftest import free_port
from tests.database import DatabaseServer
from tests.processes import PROJECT_ROOT, Server, cli_env, serve

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "Chromium is missing: `make test` installs Debian's chromium package"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(db_server: DatabaseServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    assert (PROJECT_ROOT / "frontend" / "dist" / "index.html").exists(), (
        "the SPA is not built: `make test` builds it before running the tests"
    )
    with db_server.fresh("browser") as url:
        env = cli_env(DATABASE_URL=url, DATA_DIR=str(tmp_path_factory.mktemp("data")))
        with serve(free_port(), env) as running:
            running.wait_until_ready()
            yield running


def test_the_spa_loads_and_reaches_the_api(browser: Browser, server: Server) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.base_url}/some/client/route")
    expect(page.get_by_role("heading", name="Simple Issue Tracker")).to_be_visible()
    expect(page.get_by_role("status")).to_have_attribute("data-state", "ready")
    assert errors == []
    page.close()
