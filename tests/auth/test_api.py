"""The account routes over HTTP (in-process), each test in a rolled-back transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service
from app.auth.models import Manager, ManagerToken
from app.core.clock import clock, utcnow
from app.core.config import Settings
from app.core.security import create_access_token
from tests.auth.helpers import (
    PASSWORD,
    bearer,
    latest_token,
    login,
    outbox_to,
    register,
    verified_manager,
)

API = "/api/v1"


@pytest.fixture
def move_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], None]:
    def move(by: timedelta) -> None:
        now = clock.now() + by
        monkeypatch.setattr(clock, "now", lambda: now)

    return move


@pytest.fixture
async def other_ip_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://tracker.test") as c:
        yield c


async def test_register_answers_the_manager_and_queues_a_verification_mail(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    response = await register(client, "Anna@Example.com", timezone="Europe/Warsaw")
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "email": "Anna@example.com",
        "full_name": "Anna Nowak",
        "language": "en",
        "timezone": "Europe/Warsaw",
        "is_email_verified": False,
    }
    [mail] = await outbox_to(db, "Anna@example.com")
    assert mail.kind == "verify_email" and mail.is_sensitive
    # The stored body is encrypted: the link's token is not readable in the database.
    token = await latest_token(db, settings, "Anna@example.com", "verify_email")
    assert mail.text_body is not None and token not in mail.text_body
    stored = await db.scalar(select(Manager.password_hash).where(Manager.id == body["id"]))
    assert stored and stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_the_language_comes_from_the_body_else_the_browser(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    chosen = await register(client, "a@example.com", language="pl")
    browser = await client.post(
        f"{API}/auth/register",
        json={"email": "b@example.com", "password": PASSWORD, "full_name": "Bartek"},
        headers={"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"},
    )
    assert chosen.json()["language"] == browser.json()["language"] == "pl"
    [mail] = await outbox_to(db, "b@example.com")
    assert mail.language == "pl" and mail.subject == "Potwierdź swój adres e-mail"


async def test_an_email_is_registered_once_whatever_its_case(client: httpx.AsyncClient) -> None:
    assert (await register(client, "anna@example.com")).status_code == 201
    again = await register(client, "ANNA@example.com")
    assert again.status_code == 409
    assert again.json()["code"] == "email_already_registered"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password": "short"}, "password"),
        ({"password": "x" * 129}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"full_name": ""}, "full_name"),
        ({"language": "de"}, "language"),
    ],
)
async def test_register_validation_names_the_field(
    client: httpx.AsyncClient, overrides: dict[str, str], field: str
) -> None:
    response = await register(client, **overrides)  # type: ignore[arg-type]
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}


async def test_verification_unlocks_login_once(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    await register(client, "anna@example.com")
    refused = await login(client, "anna@example.com")
    assert refused.status_code == 403 and refused.json()["code"] == "email_not_verified"

    token = await latest_token(db, settings, "anna@example.com", "verify_email")
    verified = await client.post(f"{API}/auth/verify-email", json={"token": token})
    assert verified.status_code == 200 and verified.json()["is_email_verified"] is True
    reused = await client.post(f"{API}/auth/verify-email", json={"token": token})
    assert reused.status_code == 400 and reused.json()["code"] == "invalid_token"
    garbage = await client.post(f"{API}/auth/verify-email", json={"token": "nope"})
    assert garbage.status_code == 400

    signed_in = await login(client, "ANNA@EXAMPLE.COM")
    assert signed_in.status_code == 200
    pair = signed_in.json()
    assert pair["token_type"] == "bearer" and pair["expires_in"] == 900
    me = await client.get(f"{API}/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == "anna@example.com"
    stored = await db.scalar(select(ManagerToken.token_hash).where(ManagerToken.id > 0).limit(1))
    assert stored and pair["refresh_token"] not in stored


async def test_an_expired_verification_link_is_refused(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    move_clock: Callable[[timedelta], None],
) -> None:
    await register(client, "anna@example.com")
    token = await latest_token(db, settings, "anna@example.com", "verify_email")
    move_clock(timedelta(hours=49))
    response = await client.post(f"{API}/auth/verify-email", json={"token": token})
    assert response.status_code == 400 and response.json()["code"] == "invalid_token"


async def test_wrong_password_and_unknown_account_look_the_same(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    await verified_manager(client, db, settings, "anna@example.com")
    wrong = await login(client, "anna@example.com", "wrong password!")
    unknown = await login(client, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not.a.jwt", "Basic YWJjOmRlZg==", "Bearer " + "a" * 40],
)
async def test_manager_routes_need_a_valid_token(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.get(f"{API}/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


async def test_expired_and_foreign_access_tokens_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    await verified_manager(client, db, settings, "anna@example.com")
    pair = (await login(client, "anna@example.com")).json()
    family = await db.scalar(
        select(ManagerToken.family_id).where(ManagerToken.family_id.is_not(None))
    )
    manager_id = (await client.get(f"{API}/me", headers=bearer(pair["access_token"]))).json()["id"]
    assert family is not None
    expired = create_access_token(
        manager_id=manager_id,
        family_id=family,
        secret_key=settings.secret_key(),
        now=utcnow() - timedelta(minutes=16),
    )
    foreign = create_access_token(
        manager_id=manager_id, family_id=family, secret_key="x" * 48, now=utcnow()
    )
    for token in (expired, foreign):
        response = await client.get(f"{API}/me", headers=bearer(token))
        assert response.status_code == 401, token


async def test_refresh_rotates_and_reuse_kills_the_family(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    await verified_manager(client, db, settings, "anna@example.com")
    first = (await login(client, "anna@example.com")).json()
    rotated = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (
        await client.get(f"{API}/me", headers=bearer(second["access_token"]))
    ).status_code == 200

    reuse = await client.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401 and reuse.json()["code"] == "not_authenticated"
    # The whole family is dead: the newest refresh token and the access tokens too.
    newest = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert newest.status_code == 401
    for pair in (first, second):
        assert (
            await client.get(f"{API}/me", headers=bearer(pair["access_token"]))
        ).status_code == 401
    # Another session of the same manager lives on.
    other = (await login(client, "anna@example.com")).json()
    assert (await client.get(f"{API}/me", headers=bearer(other["access_token"]))).status_code == 200


async def test_logout_ends_the_session(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    await verified_manager(client, db, settings, "anna@example.com")
    pair = (await login(client, "anna@example.com")).json()
    out = await client.post(f"{API}/auth/logout", json={"refresh_token": pair["refresh_token"]})
    assert out.status_code == 204 and out.content == b""
    again = await client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 401
    assert (await client.get(f"{API}/me", headers=bearer(pair["access_token"]))).status_code == 401
    unknown = await client.post(f"{API}/auth/logout", json={"refresh_token": "unknown"})
    assert unknown.status_code == 204


async def test_password_reset_replaces_the_password_and_ends_sessions(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    await verified_manager(client, db, settings, "anna@example.com")
    session_before = (await login(client, "anna@example.com")).json()

    for email in ("nobody@example.com", "ANNA@example.com"):
        response = await client.post(f"{API}/auth/password-reset/request", json={"email": email})
        assert response.status_code == 202
    assert await outbox_to(db, "nobody@example.com") == []
    token = await latest_token(db, settings, "anna@example.com", "password_reset")

    short = await client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "new_password": "short"}
    )
    assert short.status_code == 422
    done = await client.post(
        f"{API}/auth/password-reset/confirm",
        json={"token": token, "new_password": "a brand new secret"},
    )
    assert done.status_code == 204
    reused = await client.post(
        f"{API}/auth/password-reset/confirm",
        json={"token": token, "new_password": "yet another secret"},
    )
    assert reused.status_code == 400 and reused.json()["code"] == "invalid_token"

    assert (await login(client, "anna@example.com")).status_code == 401
    assert (await login(client, "anna@example.com", "a brand new secret")).status_code == 200
    old_refresh = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": session_before["refresh_token"]}
    )
    assert old_refresh.status_code == 401
    old_access = await client.get(f"{API}/me", headers=bearer(session_before["access_token"]))
    assert old_access.status_code == 401


async def test_reset_links_expire_and_mails_are_capped(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    move_clock: Callable[[timedelta], None],
) -> None:
    await verified_manager(client, db, settings, "anna@example.com")
    for _ in range(5):
        await client.post(f"{API}/auth/password-reset/request", json={"email": "anna@example.com"})
    resets = [m for m in await outbox_to(db, "anna@example.com") if m.kind == "password_reset"]
    assert len(resets) == 3  # at most three link mails an hour
    token = await latest_token(db, settings, "anna@example.com", "password_reset")
    move_clock(timedelta(minutes=61))
    late = await client.post(
        f"{API}/auth/password-reset/confirm",
        json={"token": token, "new_password": "a brand new secret"},
    )
    assert late.status_code == 400


async def test_suspension_blocks_login_and_every_token_at_once(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    await verified_manager(client, db, settings, "anna@example.com")
    pair = (await login(client, "anna@example.com")).json()
    await service.set_suspended(db, email="ANNA@example.com", suspended=True)
    await db.commit()  # as the CLI does (a savepoint here)

    me = await client.get(f"{API}/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 403 and me.json()["code"] == "account_suspended"
    refused = await login(client, "anna@example.com")
    assert refused.status_code == 403 and refused.json()["code"] == "account_suspended"
    renewed = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert renewed.status_code in (401, 403)

    await service.set_suspended(db, email="anna@example.com", suspended=False)
    await db.commit()
    assert (await login(client, "anna@example.com")).status_code == 200


async def test_failed_logins_are_throttled_per_account_and_ip(
    client: httpx.AsyncClient,
    other_ip_client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    move_clock: Callable[[timedelta], None],
) -> None:
    await verified_manager(client, db, settings, "anna@example.com")
    limit = settings.login_rate.limit
    for _ in range(limit):
        assert (await login(client, "anna@example.com", "wrong password!")).status_code == 401
    throttled = await login(client, "anna@example.com")  # even the right password waits
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "rate_limited"
    assert int(throttled.headers["Retry-After"]) >= 1
    # The owner, elsewhere, still gets in.
    assert (await login(other_ip_client, "anna@example.com")).status_code == 200
    move_clock(timedelta(seconds=settings.login_rate.period_seconds + 1))
    assert (await login(client, "anna@example.com")).status_code == 200


async def test_profile_changes(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    await verified_manager(client, db, settings, "anna@example.com")
    auth = bearer((await login(client, "anna@example.com")).json()["access_token"])
    changed = await client.patch(
        f"{API}/me",
        json={"language": "pl", "timezone": "Europe/Warsaw", "full_name": " Anna K. "},
        headers=auth,
    )
    assert changed.status_code == 200
    assert changed.json() | {"id": 0} == {
        "id": 0,
        "email": "anna@example.com",
        "full_name": "Anna K.",
        "language": "pl",
        "timezone": "Europe/Warsaw",
        "is_email_verified": True,
    }
    for bad in ({"timezone": "Europe/Atlantis"}, {"full_name": None}, {"language": "fr"}):
        response = await client.patch(f"{API}/me", json=bad, headers=auth)
        assert response.status_code == 422, bad
    assert (await client.get(f"{API}/me", headers=auth)).json()["timezone"] == "Europe/Warsaw"


async def test_last_login_is_recorded(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    await verified_manager(client, db, settings, "anna@example.com")
    await login(client, "anna@example.com")
    last: datetime | None = await db.scalar(
        select(Manager.last_login_at).where(Manager.email == "anna@example.com")
    )
    assert last is not None


@pytest.fixture
def still_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Limits count in fixed windows: a test must not run across a window's end."""
    frozen = utcnow()
    monkeypatch.setattr(clock, "now", lambda: frozen)


async def test_one_persons_typos_do_not_lock_out_the_office_behind_the_same_address(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, still_clock: None
) -> None:
    await verified_manager(client, db, settings, "anna@example.com")
    await verified_manager(client, db, settings, "ewa@example.com")
    for _ in range(settings.login_rate.limit):
        assert (await login(client, "anna@example.com", "wrong password!")).status_code == 401
    assert (await login(client, "anna@example.com")).status_code == 429
    # A colleague behind the same address signs in: the per-address limit is its own.
    assert (await login(client, "ewa@example.com")).status_code == 200
    assert settings.login_rate_per_ip.limit > settings.login_rate.limit


async def test_the_per_address_login_limit_holds_across_accounts(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, still_clock: None
) -> None:
    app.state.settings = settings.model_copy(
        update={"LOGIN_RATE_LIMIT": "100/minute", "LOGIN_RATE_LIMIT_PER_IP": "3/minute"}
    )
    for number in range(3):
        assert (await login(client, f"nobody{number}@example.com", "guess")).status_code == 401
    refused = await login(client, "nobody9@example.com", "guess")
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"


async def test_sign_ups_are_limited_per_address_and_per_email(
    client: httpx.AsyncClient,
    other_ip_client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    app: FastAPI,
    still_clock: None,
) -> None:
    app.state.settings = settings.model_copy(update={"REGISTER_RATE_LIMIT": "2/hour"})
    assert (await register(client, "one@example.com")).status_code == 201
    assert (await register(client, "two@example.com")).status_code == 201
    refused = await register(client, "three@example.com")
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert await outbox_to(db, "three@example.com") == []  # no mail went out
    # Per e-mail address too: a target is not mailed over and over from many addresses.
    assert (await register(other_ip_client, "target@example.com")).status_code == 201
    assert (await register(other_ip_client, "target@example.com")).status_code == 409
    third = await register(other_ip_client, "TARGET@example.com")
    assert third.status_code == 429


async def test_an_ipv6_client_is_counted_by_its_64(
    app: FastAPI, settings: Settings, still_clock: None
) -> None:
    app.state.settings = settings.model_copy(update={"LOGIN_RATE_LIMIT_PER_IP": "2/minute"})
    answers = []
    for host in ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:2:abcd::5"):
        transport = httpx.ASGITransport(app=app, client=(host, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://tracker.test") as c:
            answers.append((await login(c, "nobody@example.com", "guess")).status_code)
    assert answers == [401, 401, 429]
    transport = httpx.ASGITransport(app=app, client=("2001:db8:1:3::1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://tracker.test") as c:
        assert (await login(c, "nobody@example.com", "guess")).status_code == 401  # next /64
