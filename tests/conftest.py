"""Fixtures: a real PostgreSQL, a migrated database, a rolled-back session per test."""

from __future__ import annotations

import base64
import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app import migrations
from app.core.config import Settings
from app.core.database import request_transaction
from app.core.deps import get_direct, get_session
from app.core.direct import Direct, DirectSession
from app.main import create_app
from tests.database import DatabaseServer, database_server
from tests.dovecot import Dovecot, running_dovecot
from tests.fakes.oauth import FakeOAuthProvider
from tests.processes import Server, run_cli, serve, served_env
from tests.smtp import SmtpServer, running_smtp_server

# Nothing in a test run may read the developer's own configuration by accident.
for _name in ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEY", "GELF_HOST", "SMTP_HOST"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def db_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseServer]:
    with database_server(tmp_path_factory.mktemp("pg")) as server:
        yield server


@pytest.fixture(scope="session")
def database_url(db_server: DatabaseServer) -> Iterator[str]:
    """One migrated database shared by the tests that roll back what they do."""
    with db_server.fresh("app") as url:
        migrations.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        DATABASE_URL=database_url,
        DATA_DIR=tmp_path_factory.mktemp("data"),
        SECRET_KEY=secrets.token_urlsafe(48),
        ENCRYPTION_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        WORKERS_ENABLED=False,
        PUBLIC_BASE_URL="http://tracker.test",
    )


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test.

    Commits made by the code under test become savepoints, so nothing leaks
    between tests.
    """
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


def app_on(settings: Settings, engine: AsyncEngine, db: AsyncSession) -> FastAPI:
    """The app whose requests all run in the test's session (rolled back after it)."""
    application = create_app(settings, engine=engine)

    async def _test_session() -> AsyncIterator[AsyncSession]:
        async with request_transaction(db):
            yield db

    async def _test_direct() -> Direct:
        return DirectSession(db)

    application.dependency_overrides[get_session] = _test_session
    application.dependency_overrides[get_direct] = _test_direct
    return application


@pytest.fixture
def app(settings: Settings, engine: AsyncEngine, db: AsyncSession) -> FastAPI:
    return app_on(settings, engine, db)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tracker.test") as c:
            yield c


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on loopback keeping what it receives."""
    with running_smtp_server(free_port()) as server:
        yield server


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One real Dovecot for the run; each test takes mailboxes of its own (add_user)."""
    with running_dovecot(free_port()) as server:
        yield server


@pytest.fixture(scope="session")
def oauth_provider() -> Iterator[FakeOAuthProvider]:
    """One Google/Microsoft-style OAuth2 provider for the run: each test adds accounts of
    its own (unique emails); change its knobs with monkeypatch so they are put back."""
    with FakeOAuthProvider() as provider:
        yield provider


@pytest.fixture(scope="session")
def oauth_dovecot(oauth_provider: FakeOAuthProvider) -> Iterator[Dovecot]:
    """A Dovecot that also takes XOAUTH2/OAUTHBEARER, checking tokens with
    `oauth_provider` (the login must be the account's mailbox)."""
    with running_dovecot(free_port(), oauth_provider.introspection_url) as server:
        yield server


@pytest.fixture
def oauth_smtp_server(oauth_provider: FakeOAuthProvider) -> Iterator[SmtpServer]:
    """An SMTP server taking only XOAUTH2 with `oauth_provider`'s access tokens."""

    def valid(user: str, token: str) -> bool:
        return oauth_provider.valid_mailbox(token) == user

    with running_smtp_server(free_port(), oauth=valid) as server:
        yield server


@dataclass
class LiveStack:
    """`python -m app serve` on a fresh database, sending mail to `smtp`."""

    server: Server
    smtp: SmtpServer
    env: dict[str, str]
    database_url: str

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.server.base_url}/api/v1", timeout=30)

    def signed_in_manager(
        self, email: str = "boss@example.com"
    ) -> tuple[httpx.Client, dict[str, str]]:
        """A verified manager made with the CLI, signed in: (API client, auth headers)."""
        created = run_cli(
            "create-manager",
            "--email",
            email,
            "--password",
            "long enough secret",
            "--name",
            "Boss",
            "--verified",
            env=self.env,
        )
        assert created.returncode == 0, created.stderr
        api = self.api()
        token = api.post(
            "/auth/login", json={"email": email, "password": "long enough secret"}
        ).json()
        return api, {"Authorization": f"Bearer {token['access_token']}"}


LIVE_SECRET_KEY = secrets.token_urlsafe(48)
LIVE_ENCRYPTION_KEY = base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def live_env_overrides() -> dict[str, str]:
    """More settings for `live_stack`; a test module overrides this fixture."""
    return {}


@pytest.fixture
def live_stack(
    db_server: DatabaseServer,
    smtp_server: SmtpServer,
    tmp_path_factory: pytest.TempPathFactory,
    live_env_overrides: dict[str, str],
) -> Iterator[LiveStack]:
    with db_server.fresh("live") as url:
        env = served_env(
            database_url=url,
            data_dir=str(tmp_path_factory.mktemp("live")),
            secret_key=LIVE_SECRET_KEY,
            encryption_key=LIVE_ENCRYPTION_KEY,
            smtp=(smtp_server.host, smtp_server.port),
            LOGIN_RATE_LIMIT="5/minute",
            LOG_LEVEL="DEBUG",
            **live_env_overrides,
        )
        with serve(free_port(), env) as server:
            server.wait_until_ready()
            yield LiveStack(server, smtp_server, env, url)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
