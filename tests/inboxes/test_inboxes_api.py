"""Inbox routes: CRUD with write-only secrets, the connection test, polling on demand."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.boards.models import Board
from app.core.config import Settings
from app.core.crypto import cipher_for
from app.inboxes.models import EmailInbox
from tests.auth.helpers import signed_in
from tests.boards.test_boards_api import make_board
from tests.conftest import free_port
from tests.dovecot import Dovecot
from tests.smtp import SmtpServer

API = "/api/v1"


def inbox_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Help",
        "email_address": "help@example.com",
        "imap_host": "imap.example.com",
        "imap_port": 993,
        "imap_security": "ssl",
        "imap_username": "help@example.com",
        "imap_password": "imap-pass-123",
        "smtp_host": "smtp.example.com",
        "smtp_password": "smtp-pass-456",
    }
    body.update(overrides)
    return body


async def test_secrets_are_write_only_and_encrypted(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    auth = await signed_in(client, db)
    created = await client.post(f"{API}/inboxes", json=inbox_body(), headers=auth)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["has_imap_password"] is True and body["has_smtp_password"] is True
    assert "imap-pass-123" not in created.text and "smtp-pass-456" not in created.text
    assert {"imap_password", "smtp_password"}.isdisjoint(body)
    row = await db.get_one(EmailInbox, body["id"])
    assert row.imap_password_encrypted and "imap-pass-123" not in row.imap_password_encrypted
    cipher = cipher_for(settings)
    assert (
        cipher.decrypt(row.imap_password_encrypted, context="email_inboxes.imap_password")
        == "imap-pass-123"
    )
    assert row.next_poll_at is not None  # polled at once

    listed = (await client.get(f"{API}/inboxes", headers=auth)).json()
    assert [i["id"] for i in listed["items"]] == [body["id"]]
    cleared = await client.patch(
        f"{API}/inboxes/{body['id']}",
        json={"imap_password": None, "imap_username": None},
        headers=auth,
    )
    assert cleared.json()["has_imap_password"] is False
    assert cleared.json()["imap_username"] is None


async def test_credentials_are_optional(client: httpx.AsyncClient, db: AsyncSession) -> None:
    auth = await signed_in(client, db)
    created = await client.post(
        f"{API}/inboxes",
        headers=auth,
        json={
            "name": "Open",
            "email_address": "open@example.com",
            "imap_host": "10.0.0.5",
            "imap_port": 143,
            "imap_security": "none",
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["has_imap_password"], body["smtp_host"], body["imap_folder"]) == (
        False,
        None,
        "INBOX",
    )


async def test_validation_and_names(client: httpx.AsyncClient, db: AsyncSession) -> None:
    auth = await signed_in(client, db)
    for bad, field in (
        (inbox_body(imap_port=70000), "imap_port"),
        (inbox_body(imap_security="tls"), "imap_security"),
        (inbox_body(email_address="nope"), "email_address"),
        (inbox_body(poll_interval_seconds=1), "poll_interval_seconds"),
        (inbox_body(imap_host="bad host name"), "imap_host"),
    ):
        response = await client.post(f"{API}/inboxes", json=bad, headers=auth)
        assert response.status_code == 422, field
        assert field in {e["field"] for e in response.json()["errors"]}
    assert (await client.post(f"{API}/inboxes", json=inbox_body(), headers=auth)).status_code == 201
    clash = await client.post(f"{API}/inboxes", json=inbox_body(), headers=auth)
    assert clash.status_code == 409 and clash.json()["code"] == "inbox_name_taken"


async def test_reactivation_and_new_settings_poll_at_once(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    auth = await signed_in(client, db)
    inbox_id = (await client.post(f"{API}/inboxes", json=inbox_body(), headers=auth)).json()["id"]
    row = await db.get_one(EmailInbox, inbox_id)
    row.uid_validity, row.last_seen_uid, row.next_poll_at = 7, 42, None
    await db.flush()
    await client.patch(f"{API}/inboxes/{inbox_id}", json={"is_active": False}, headers=auth)
    back = await client.patch(f"{API}/inboxes/{inbox_id}", json={"is_active": True}, headers=auth)
    assert back.json()["is_active"] is True
    await db.refresh(row)
    assert row.next_poll_at is not None and row.last_seen_uid == 42
    await client.patch(f"{API}/inboxes/{inbox_id}", json={"imap_folder": "Support"}, headers=auth)
    await db.refresh(row)
    assert (row.uid_validity, row.last_seen_uid) == (None, None)  # another mailbox


async def test_poll_now_and_delete(client: httpx.AsyncClient, db: AsyncSession) -> None:
    auth = await signed_in(client, db)
    inbox_id = (await client.post(f"{API}/inboxes", json=inbox_body(), headers=auth)).json()["id"]
    board = await make_board(client, auth, email_inbox_id=inbox_id)
    row = await db.get_one(EmailInbox, inbox_id)
    row.next_poll_at = None
    await db.flush()
    polled = await client.post(f"{API}/inboxes/{inbox_id}/poll", headers=auth)
    assert polled.status_code == 202
    await db.refresh(row)
    assert row.next_poll_at is not None
    deleted = await client.delete(f"{API}/inboxes/{inbox_id}", headers=auth)
    assert deleted.status_code == 204
    assert (await client.get(f"{API}/inboxes/{inbox_id}", headers=auth)).status_code == 404
    linked = await db.scalar(select(Board.email_inbox_id).where(Board.id == board["id"]))
    assert linked is None  # the board stays, unlinked


async def test_another_managers_inbox_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    anna = await signed_in(client, db)
    bob = await signed_in(client, db, "bob@example.com")
    inbox_id = (await client.post(f"{API}/inboxes", json=inbox_body(), headers=anna)).json()["id"]
    for method, path, body in (
        ("GET", f"/inboxes/{inbox_id}", None),
        ("PATCH", f"/inboxes/{inbox_id}", {"name": "mine"}),
        ("DELETE", f"/inboxes/{inbox_id}", None),
        ("POST", f"/inboxes/{inbox_id}/test", None),
        ("POST", f"/inboxes/{inbox_id}/poll", None),
    ):
        response = await client.request(method, f"{API}{path}", json=body, headers=bob)
        assert response.status_code == 404, (method, path)
    assert (await client.get(f"{API}/inboxes", headers=bob)).json()["items"] == []
    assert (await client.get(f"{API}/inboxes/{inbox_id}", headers=anna)).status_code == 200


async def test_the_connection_test_logs_in_for_real(
    client: httpx.AsyncClient, db: AsyncSession, dovecot: Dovecot, smtp_server: SmtpServer
) -> None:
    auth = await signed_in(client, db)
    login, password = dovecot.add_user()
    good = inbox_body(
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=login,
        imap_password=password,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        smtp_password=None,
    )
    inbox_id = (await client.post(f"{API}/inboxes", json=good, headers=auth)).json()["id"]
    result = (await client.post(f"{API}/inboxes/{inbox_id}/test", headers=auth)).json()
    assert result == {"imap": {"ok": True, "error": None}, "smtp": {"ok": True, "error": None}}

    async def check(**changes: Any) -> dict[str, Any]:
        await client.patch(f"{API}/inboxes/{inbox_id}", json=changes, headers=auth)
        response = await client.post(f"{API}/inboxes/{inbox_id}/test", headers=auth)
        assert response.status_code == 200
        return response.json()  # type: ignore[no-any-return]

    wrong = await check(imap_password="wrong password")
    assert wrong["imap"]["ok"] is False
    assert "refused the username or password" in wrong["imap"]["error"]
    closed_port = free_port()
    unreachable = await check(imap_password=password, imap_port=closed_port, smtp_port=free_port())
    assert "refused the connection" in unreachable["imap"]["error"]
    assert "refused the connection" in unreachable["smtp"]["error"]
    tls = await check(
        imap_port=dovecot.port, imap_security="ssl", smtp_port=smtp_server.port, smtp_security="ssl"
    )
    assert "TLS" in tls["imap"]["error"] and "TLS" in tls["smtp"]["error"]
    no_smtp = await check(imap_security="none", smtp_host=None)
    assert no_smtp["imap"]["ok"] is True and no_smtp["smtp"]["ok"] is False
    assert "system" in no_smtp["smtp"]["error"]
