"""The built SPA in a real Chromium, served by a real `python -m app serve` on a real
PostgreSQL, sending its mail to a real SMTP server."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    sync_playwright,
)

from tests.browser.stack import Stack, running_stack
from tests.database import DatabaseServer
from tests.fakes.oauth import FakeOAuthProvider

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCALE = {"en": "en-US", "pl": "pl-PL"}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


# Package scope, not session: Playwright's sync API keeps an event loop running in this
# thread while it is open, and the asyncio tests that run after this folder need none.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "Chromium is missing: `make test` installs Debian's chromium package"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def stack(
    db_server: DatabaseServer,
    tmp_path_factory: pytest.TempPathFactory,
    oauth_provider: FakeOAuthProvider,
) -> Iterator[Stack]:
    """The server, registered with the stand-in of Google and Microsoft 365."""
    settings = oauth_provider.app_settings()
    with running_stack(db_server, tmp_path_factory.mktemp("browser"), **settings) as running:
        yield running


@dataclass
class Console:
    """What the pages of a browser context said on their console, and their crashes."""

    errors: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def expect(self, fragment: str) -> None:
        """An error the test provokes on purpose (e.g. a 422 it wants to see handled)."""
        self.expected.append(fragment)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(x in e for x in self.expected)]


@pytest.fixture
def open_browser(browser: Browser) -> Iterator[Callable[..., tuple[BrowserContext, Console]]]:
    """Opens a browser context (language, size, theme); fails the test on console errors."""
    opened: list[tuple[BrowserContext, Console]] = []

    def open_context(
        *,
        language: str = "en",
        viewport: ViewportSize = DESKTOP,
        color_scheme: str = "light",
        bypass_csp: bool = False,
    ) -> tuple[BrowserContext, Console]:
        context = browser.new_context(
            locale=LOCALE[language],
            viewport=viewport,
            color_scheme=color_scheme,  # type: ignore[arg-type]
            bypass_csp=bypass_csp,
        )
        console = Console()

        def watch(page: Page) -> None:
            def on_console(message: ConsoleMessage) -> None:
                if message.type in ("error", "warning"):
                    console.errors.append(f"{page.url}: {message.type}: {message.text}")

            page.on("console", on_console)
            page.on("pageerror", lambda error: console.errors.append(f"{page.url}: {error}"))

        context.on("page", watch)
        opened.append((context, console))
        return context, console

    yield open_context
    problems = [error for _, console in opened for error in console.unexpected()]
    for context, _ in opened:
        context.close()
    assert problems == [], "the browser console reported errors"
