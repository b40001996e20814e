"""An app on a database of its own (every request commits, as in production), the
forwarder run by hand, and fake Jira and Trello servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app import migrations
from app.auth.service import create_manager
from app.core.config import Settings
from app.core.database import make_sessionmaker, request_transaction
from app.main import create_app
from app.workers.forwarder import Forwarder
from tests.auth.helpers import PASSWORD, bearer, login
from tests.database import DatabaseServer
from tests.fakes.jira import FakeJira
from tests.fakes.trello import LIST_ID, FakeTrello


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira() as fake:
        yield fake


@pytest.fixture
def trello() -> Iterator[FakeTrello]:
    with FakeTrello() as fake:
        yield fake


@pytest.fixture
def committed_url(db_server: DatabaseServer) -> Iterator[str]:
    with db_server.fresh("fwd") as url:
        migrations.upgrade(url)
        yield url


@dataclass
class Stack:
    client: httpx.AsyncClient
    auth: dict[str, str]
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    forwarder: Forwarder

    async def board(self, name: str, integration: dict[str, Any] | None) -> dict[str, Any]:
        board = (
            await self.client.post("/api/v1/boards", json={"name": name}, headers=self.auth)
        ).json()
        if integration:
            response = await self.client.put(
                f"/api/v1/boards/{board['id']}/integration", json=integration, headers=self.auth
            )
            assert response.status_code == 200, response.text
            board = response.json()
        return board  # type: ignore[no-any-return]

    async def report(self, board: dict[str, Any], title: str = "Printer jams") -> str:
        response = await self.client.post(
            f"/api/v1/public/boards/{board['public_id']}/tickets",
            json={
                "title": title,
                "description": "paper everywhere",
                "email": "jan@example.org",
                "name": "Jan",
            },
        )
        assert response.status_code == 201, response.text
        return str(response.json()["uuid"])

    async def status(self, report_uuid: str) -> dict[str, Any]:
        return (await self.client.get(f"/api/v1/public/tickets/{report_uuid}")).json()  # type: ignore[no-any-return]

    async def forward_all(self, rounds: int = 10) -> None:
        """Run the forwarder until nothing is due (a zero backoff makes retries due)."""
        for _ in range(rounds):
            if not await self.forwarder.step():
                return


def jira_settings(fake: FakeJira, **overrides: str) -> dict[str, Any]:
    return {
        "platform": "jira",
        "site_url": fake.url,
        "email": fake.email,
        "api_token": fake.token,
        "project_key": "HELP",
        "issue_type": "Task",
        **overrides,
    }


def trello_settings(fake: FakeTrello, **overrides: str) -> dict[str, Any]:
    return {
        "platform": "trello",
        "api_key": fake.key,
        "token": fake.token,
        "list_id": LIST_ID,
        **overrides,
    }


@pytest.fixture
async def stack(committed_url: str, settings: Settings, trello: FakeTrello) -> AsyncIterator[Stack]:
    configured = settings.model_copy(
        update={
            "DATABASE_URL": committed_url,
            "FORWARD_RETRY_BASE_SECONDS": 0.0,
            "FORWARD_MAX_ATTEMPTS": 3,
            "INTEGRATION_TIMEOUT_SECONDS": 1.0,
            "TRELLO_API_BASE_URL": trello.url,
            "WORKERS_ENABLED": False,
        }
    )
    engine = create_async_engine(committed_url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session, request_transaction(session):
        await create_manager(
            session,
            email="fwd@example.com",
            password=PASSWORD,
            full_name="Forwarding",
            verified=True,
        )
    app = create_app(configured)
    forwarder = Forwarder(configured, sessions)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tracker.test") as c:
            auth = bearer((await login(c, "fwd@example.com")).json()["access_token"])
            yield Stack(c, auth, configured, sessions, forwarder)
    await forwarder.close()
    await engine.dispose()
