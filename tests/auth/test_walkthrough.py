"""A new user's whole account story against a real server process, real SMTP and the CLI.

Sign up, read the verification mail, verify, sign in with the email in another case,
refresh, reuse the old refresh token and watch its family die, reset the password,
suspend and unsuspend from the CLI, hammer a wrong password until 429 while another
client still signs in. Then search everything the server logged for every secret.
"""

from __future__ import annotations

import re
import signal
from email.message import EmailMessage

from sqlalchemy import text

from tests.conftest import LIVE_ENCRYPTION_KEY, LIVE_SECRET_KEY, LiveStack
from tests.processes import run_cli

PASSWORD = "first secret phrase"
NEW_PASSWORD = "second secret phrase"


def link_token(message: EmailMessage, path: str) -> str:
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(rf"http://tracker\.example\.com{path}\?token=([A-Za-z0-9_\-]+)", body)
    assert match, body
    return match.group(1)


def test_the_whole_account_story(live_stack: LiveStack) -> None:
    server, smtp, env, url = (
        live_stack.server,
        live_stack.smtp,
        live_stack.env,
        live_stack.database_url,
    )
    api = live_stack.api()
    secrets_seen = [PASSWORD, NEW_PASSWORD, LIVE_SECRET_KEY, LIVE_ENCRYPTION_KEY]

    created = api.post(
        "/auth/register",
        json={
            "email": "Ewa.Kowalska@Example.com",
            "password": PASSWORD,
            "full_name": "Ewa Kowalska",
            "language": "pl",
            "timezone": "Europe/Warsaw",
        },
    )
    assert created.status_code == 201, created.text

    [verification] = smtp.mailbox.wait_for("ewa.kowalska@example.com")
    assert verification["Subject"] == "Potwierdź swój adres e-mail"
    assert verification["Content-Language"] == "pl"
    verify_token = link_token(verification, "/verify-email")
    secrets_seen.append(verify_token)
    assert api.post("/auth/verify-email", json={"token": verify_token}).status_code == 200

    login = api.post(
        "/auth/login", json={"email": "EWA.KOWALSKA@example.COM", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    first = login.json()
    secrets_seen += [first["access_token"], first["refresh_token"]]
    me = api.get("/me", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert me.json()["full_name"] == "Ewa Kowalska"

    rotated = api.post("/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()
    secrets_seen += [rotated["access_token"], rotated["refresh_token"]]
    reuse = api.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    dead = api.post("/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert dead.status_code == 401  # the family died with the reuse

    assert (
        api.post(
            "/auth/password-reset/request", json={"email": "ewa.kowalska@example.com"}
        ).status_code
        == 202
    )
    reset_mail = smtp.mailbox.wait_for("ewa.kowalska@example.com", count=2)[-1]
    assert reset_mail["Subject"] == "Zresetuj hasło"
    reset_token = link_token(reset_mail, "/reset-password")
    secrets_seen.append(reset_token)
    confirmed = api.post(
        "/auth/password-reset/confirm", json={"token": reset_token, "new_password": NEW_PASSWORD}
    )
    assert confirmed.status_code == 204
    session = api.post(
        "/auth/login", json={"email": "ewa.kowalska@example.com", "password": NEW_PASSWORD}
    ).json()
    secrets_seen += [session["access_token"], session["refresh_token"]]
    auth = {"Authorization": f"Bearer {session['access_token']}"}

    suspended = run_cli("suspend", "Ewa.Kowalska@example.com", env=env)
    assert suspended.returncode == 0, suspended.stderr
    blocked = api.get("/me", headers=auth)
    assert blocked.status_code == 403 and blocked.json()["code"] == "account_suspended"
    refused = api.post(
        "/auth/login", json={"email": "ewa.kowalska@example.com", "password": NEW_PASSWORD}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "account_suspended"
    assert run_cli("unsuspend", "ewa.kowalska@example.com", env=env).returncode == 0
    again = api.post(
        "/auth/login", json={"email": "ewa.kowalska@example.com", "password": NEW_PASSWORD}
    )
    assert again.status_code == 200
    secrets_seen += [again.json()["access_token"], again.json()["refresh_token"]]

    attacker = {"X-Forwarded-For": "198.51.100.7"}
    owner = {"X-Forwarded-For": "192.0.2.44"}
    codes = [
        api.post(
            "/auth/login",
            headers=attacker,
            json={"email": "ewa.kowalska@example.com", "password": "wrong guess 1"},
        ).status_code
        for _ in range(8)
    ]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    from_owner = api.post(
        "/auth/login",
        headers=owner,
        json={"email": "ewa.kowalska@example.com", "password": NEW_PASSWORD},
    )
    assert from_owner.status_code == 200
    secrets_seen += [from_owner.json()["access_token"], from_owner.json()["refresh_token"]]

    # Nobody else got mail.
    assert {str(m["To"]) for m in smtp.mailbox.messages} == {"Ewa.Kowalska@example.com"}

    output = server.stop(signal.SIGTERM)
    assert server.process.returncode == 0
    assert '"message": "login"' in output  # the log was captured
    hashes = _stored_hashes(url)
    for secret in secrets_seen + hashes:
        assert secret not in output, "a secret reached the log"


def _stored_hashes(url: str) -> list[str]:
    """Password hashes and token hashes as the database holds them."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def read() -> list[str]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text(
                        "SELECT password_hash FROM managers"
                        " UNION ALL SELECT token_hash FROM manager_tokens"
                    )
                )
                return [r[0] for r in rows]
        finally:
            await engine.dispose()

    hashes = asyncio.run(read())
    assert len(hashes) > 5
    return hashes
