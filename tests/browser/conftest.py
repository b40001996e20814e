"""The built SPA in a real Chromium, served by a real `python -m app serve` on a real
PostgreSQL, sending its mail to a real SMTP server."""

from __future__ import annotations

import base64
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    sync_playwright,
)

from tests.conftest import free_port
from tests.database import DatabaseServer
from tests.processes import PROJECT_ROOT, Server, cli_env, run_cli, serve
from tests.smtp import SmtpServer, running_smtp_server

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
PASSWORD = "long enough secret"
LOCALE = {"en": "en-US", "pl": "pl-PL"}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "Chromium is missing: `make test` installs Debian's chromium package"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Stack:
    server: Server
    smtp: SmtpServer
    env: dict[str, str]
    _managers: int = 0

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.base_url}/api/v1", timeout=30)

    def manager(self, *, language: str = "en") -> str:
        """A new verified manager, made with the CLI; returns the email address."""
        self._managers += 1
        email = f"manager{self._managers}-{secrets.token_hex(3)}@example.com"
        created = run_cli(
            "create-manager", "--email", email, "--password", PASSWORD, "--name", "Anna Nowak",
            "--verified", env=self.env,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        if language != "en":
            with self.api() as api:
                token = api.post("/auth/login", json={"email": email, "password": PASSWORD})
                headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
                api.patch("/me", json={"language": language}, headers=headers).raise_for_status()
        return email

    def board(self, email: str, name: str, **fields: object) -> dict[str, object]:
        """A board of `email`'s, made through the API."""
        with self.api() as api:
            token = api.post("/auth/login", json={"email": email, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            created = api.post("/boards", json={"name": name, **fields}, headers=headers)
            created.raise_for_status()
            board: dict[str, object] = created.json()
            return board

    def report(self, public_id: object, title: str, **fields: object) -> str:
        """A report through the public form's API; returns its status-link UUID."""
        body = {"description": "It does not work.", "email": "reporter@example.com", **fields}
        with self.api() as api:
            answer = api.post(f"/public/boards/{public_id}/tickets", json={"title": title, **body})
            answer.raise_for_status()
            return str(answer.json()["uuid"])


@pytest.fixture(scope="session")
def stack(db_server: DatabaseServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    assert (PROJECT_ROOT / "frontend" / "dist" / "index.html").exists(), (
        "the SPA is not built: `make test` builds it before running the tests"
    )
    port = free_port()
    with running_smtp_server(free_port()) as smtp, db_server.fresh("browser") as url:
        env = cli_env(
            DATABASE_URL=url,
            DATA_DIR=str(tmp_path_factory.mktemp("browser")),
            SECRET_KEY=secrets.token_urlsafe(48),
            ENCRYPTION_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
            SMTP_HOST=smtp.host,
            SMTP_PORT=str(smtp.port),
            SMTP_SECURITY="none",
            SMTP_FROM="Tracker <tracker@example.com>",
            # Links in mail lead back to this very server, as they would in production.
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            PUBLIC_SUBMIT_RATE_LIMIT="100/minute",
        )
        with serve(port, env) as server:
            server.wait_until_ready()
            yield Stack(server, smtp, env)


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
