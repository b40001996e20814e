"""Parallel guesses cannot slip past the login throttle (every request commits)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app import migrations
from app.auth.service import create_manager
from app.core.clock import clock, utcnow
from app.core.config import Settings
from app.core.database import make_engine, make_sessionmaker, request_transaction
from app.main import create_app
from tests.auth.helpers import PASSWORD, login
from tests.database import DatabaseServer


@pytest.fixture(autouse=True)
def one_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop the clock: the throttle counts in fixed windows, and a test that ran across
    a window's end would see its count start again halfway."""
    frozen = utcnow()
    monkeypatch.setattr(clock, "now", lambda: frozen)


@pytest.fixture
def committed_url(db_server: DatabaseServer) -> Iterator[str]:
    with db_server.fresh("throttle") as url:
        migrations.upgrade(url)
        yield url


@pytest.fixture
async def client(committed_url: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(update={"DATABASE_URL": committed_url})
    engine = make_engine(committed_url, configured)
    async with make_sessionmaker(engine)() as session, request_transaction(session):
        await create_manager(
            session, email="race@example.com", password=PASSWORD, full_name="Race", verified=True
        )
    await engine.dispose()
    app = create_app(configured)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tracker.test") as c:
            yield c


async def test_parallel_wrong_passwords_get_no_more_than_the_limit(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    answers = await asyncio.gather(
        *(login(client, "race@example.com", f"guess number {i}") for i in range(20))
    )
    codes = [a.status_code for a in answers]
    assert codes.count(401) == settings.login_rate.limit, codes
    assert codes.count(429) == 20 - settings.login_rate.limit
    # The right password waits too, from this address …
    assert (await login(client, "race@example.com")).status_code == 429


async def test_successful_logins_do_not_count(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    for _ in range(settings.login_rate.limit * 2):
        assert (await login(client, "race@example.com")).status_code == 200
    assert (await login(client, "race@example.com", "one wrong guess")).status_code == 401


async def test_argon2_runs_with_no_pooled_connection_held(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parallel bad logins must not hold the pool through tens of milliseconds of
    hashing each: every hash runs after the request gave its connection back."""
    from app.core import security

    app = client._transport.app  # type: ignore[attr-defined]
    pool = app.state.engine.pool
    held: list[int] = []
    hasher = security._password_hash

    class Watching:
        def __getattr__(self, name: str) -> Any:
            method = getattr(hasher, name)

            def watched(*args: Any, **kwargs: Any) -> Any:
                held.append(pool.checkedout())
                return method(*args, **kwargs)

            return watched

    monkeypatch.setattr(security, "_password_hash", Watching())
    assert (await login(client, "race@example.com", "a wrong guess")).status_code == 401
    assert (await login(client, "nobody@example.com", "a wrong guess")).status_code == 401
    assert (await login(client, "race@example.com")).status_code == 200
    registered = await client.post(
        "/api/v1/auth/register",
        json={"email": "new@example.com", "password": PASSWORD, "full_name": "New"},
    )
    assert registered.status_code == 201
    assert len(held) == 4 and held == [0, 0, 0, 0], held
