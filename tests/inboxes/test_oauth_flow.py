"""Google and Microsoft 365 mailboxes, end to end: `python -m app serve` signs an inbox
in at a local OAuth2 provider, reads it by IDLE from a Dovecot that checks the tokens
with that provider, and answers through an SMTP server that takes only XOAUTH2."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from tests.conftest import LiveStack
from tests.dovecot import PASSWORD, Dovecot
from tests.fakes.oauth import FakeOAuthProvider
from tests.processes import wait_until
from tests.smtp import SmtpServer

CALLBACK = "http://tracker.example.com/api/v1/inboxes/oauth2/callback"
MICROSOFT_SCOPES = {
    "https://outlook.office.com/IMAP.AccessAsUser.All",
    "https://outlook.office.com/SMTP.Send",
    "offline_access",
}


@pytest.fixture
def live_env_overrides(oauth_provider: FakeOAuthProvider) -> dict[str, str]:
    """Both providers registered, both pointing at the local stand-in."""
    return oauth_provider.app_settings()


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@example.com"


def message(subject: str, msgid: str) -> bytes:
    return (
        f"From: Jan <jan@example.org>\r\nTo: help@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{msgid}@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "\r\nIt does not print.\r\n"
    ).encode()


def servers(dovecot: Dovecot, smtp: SmtpServer) -> dict[str, Any]:
    return {
        "imap_host": dovecot.host,
        "imap_port": dovecot.port,
        "imap_security": "none",
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_security": "none",
        "poll_interval_seconds": 3600,
    }


def at_provider(authorization_url: str) -> str:
    """The provider's page, which signs in at once as the account chosen: the address
    it sends the browser back to (the app's callback, with code and state)."""
    answer = httpx.get(authorization_url, follow_redirects=False, timeout=30)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return f"{back.path.removeprefix('/api/v1')}?{back.query}"


def outcome_of(answer: httpx.Response) -> tuple[str, dict[str, list[str]]]:
    """Where the app's callback sends the browser: (path, query)."""
    assert answer.status_code == 303, answer.text
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == "http://tracker.example.com"
    return target.path, parse_qs(target.query)


def sign_in(browser: httpx.Client, authorization_url: str) -> tuple[str, dict[str, list[str]]]:
    """What the browser that started the sign-in does (it carries that sign-in's
    cookie): the provider's page, then back to the app's callback."""
    return outcome_of(browser.get(at_provider(authorization_url), follow_redirects=False))


def board_for(api: httpx.Client, auth: dict[str, str], inbox_id: int) -> int:
    created = api.post(
        "/boards",
        headers=auth,
        json={"name": "Printers", "keywords": ["printer"], "email_inbox_id": inbox_id},
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def titles(api: httpx.Client, auth: dict[str, str], board_id: int) -> list[str]:
    items = api.get(f"/boards/{board_id}/tickets", headers=auth).json()["items"]
    return sorted(t["title"] for t in items)


def stored_grant(stack: LiveStack, inbox_id: int) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        url = stack.database_url.replace("postgresql+asyncpg://", "postgresql://")
        connection = await asyncpg.connect(url)
        try:
            row = await connection.fetchrow(
                "SELECT * FROM inbox_oauth_grants WHERE email_inbox_id = $1", inbox_id
            )
            return dict(row) if row else {}
        finally:
            await connection.close()

    return asyncio.run(read())


def begin(
    api: httpx.Client,
    auth: dict[str, str],
    body: dict[str, Any],
    dovecot: Dovecot,
    smtp: SmtpServer,
) -> httpx.Response:
    """Start connecting a new inbox on the local servers (the answer sets the cookie
    the callback wants in `api`, the browser)."""
    return api.post(
        "/inboxes/oauth2/authorize", headers=auth, json={**body, **servers(dovecot, smtp)}
    )


def connect(
    api: httpx.Client, auth: dict[str, str], body: dict[str, Any]
) -> tuple[int, dict[str, list[str]], dict[str, list[str]]]:
    """Start connecting, sign in; (inbox id, what the provider was asked, the outcome)."""
    started = api.post("/inboxes/oauth2/authorize", headers=auth, json=body)
    assert started.status_code == 200, started.text
    asked = parse_qs(urlsplit(started.json()["authorization_url"]).query)
    path, outcome = sign_in(api, started.json()["authorization_url"])
    assert outcome["oauth2"] == ["connected"], outcome
    return int(path.rsplit("/", 1)[1]), asked, outcome


def test_a_shared_microsoft_365_mailbox_reads_by_idle_and_answers_as_itself(
    live_stack: LiveStack,
    oauth_provider: FakeOAuthProvider,
    oauth_dovecot: Dovecot,
    oauth_smtp_server: SmtpServer,
) -> None:
    delegate, shared = unique("alice"), unique("support")
    # Alice signs in; her token opens the shared mailbox (as Exchange's delegation does).
    oauth_provider.add_account(delegate, mailbox=shared)
    api, auth = live_stack.signed_in_manager()

    inbox_id, asked, _ = connect(
        api,
        auth,
        {
            "provider": "microsoft",
            "name": "Support",
            "email_address": shared,
            "login_hint": delegate,
            **servers(oauth_dovecot, oauth_smtp_server),
        },
    )
    assert asked["prompt"] == ["select_account"]
    assert asked["code_challenge_method"] == ["S256"] and asked["code_challenge"][0]
    assert set(asked["scope"][0].split()) == MICROSOFT_SCOPES
    assert asked["redirect_uri"] == [CALLBACK] and asked["login_hint"] == [delegate]
    assert asked["state"][0] and asked["response_type"] == ["code"]

    inbox = api.get(f"/inboxes/{inbox_id}", headers=auth)
    body = inbox.json()
    assert (body["auth_kind"], body["oauth2"]["status"], body["oauth2"]["provider"]) == (
        "oauth2",
        "connected",
        "microsoft",
    )
    assert (body["email_address"], body["imap_username"], body["smtp_username"]) == (shared,) * 3
    [grant] = oauth_provider.grants(delegate)
    assert grant.refresh_token and grant.refresh_token not in inbox.text
    stored = stored_grant(live_stack, inbox_id)
    assert grant.refresh_token not in str(stored)  # encrypted at rest

    board_id = board_for(api, auth, inbox_id)
    wait_until(lambda: api.get(f"/inboxes/{inbox_id}", headers=auth).json()["last_polled_at"])
    oauth_dovecot.append(shared, PASSWORD, message("Printer on floor 2", "one"))
    wait_until(lambda: titles(api, auth, board_id) == ["Printer on floor 2"], what="IDLE ticket")
    [ack] = oauth_smtp_server.mailbox.wait_for("jan@example.org")
    assert shared in str(ack["From"])
    assert oauth_smtp_server.mailbox.authenticated_users == [shared]

    # The server ends the IDLE session (BYE): the worker signs in again at once, not
    # after the minute an error would cost.
    assert oauth_dovecot.kick(shared)
    oauth_dovecot.append(shared, PASSWORD, message("Printer on floor 3", "two"))
    wait_until(lambda: len(titles(api, auth, board_id)) == 2, deadline=15, what="ticket after BYE")
    assert api.get(f"/inboxes/{inbox_id}", headers=auth).json()["last_error"] is None


def test_access_tokens_expiring_under_idle_are_renewed_and_rotations_kept(
    live_stack: LiveStack,
    oauth_provider: FakeOAuthProvider,
    oauth_dovecot: Dovecot,
    oauth_smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(oauth_provider, "expires_in", 6)
    account = unique("help")
    oauth_provider.add_account(account)
    api, auth = live_stack.signed_in_manager()
    inbox_id, asked, _ = connect(
        api,
        auth,
        {
            "provider": "google",
            "name": "Help",
            "email_address": account,
            **servers(oauth_dovecot, oauth_smtp_server),
        },
    )
    assert asked["scope"] == ["https://mail.google.com/"] and asked["access_type"] == ["offline"]
    assert "select_account" in asked["prompt"][0].split()
    board_id = board_for(api, auth, inbox_id)

    # Every few seconds the token nears its end and the running session signs in anew
    # with a fresh one; each refresh rotates the refresh token, and the app keeps up
    # (a stale one reused would revoke the whole grant).
    [grant] = oauth_provider.grants(account)
    wait_until(lambda: len(grant.old_refresh_tokens) >= 3, deadline=40, what="three rotations")
    assert not grant.revoked
    oauth_dovecot.append(account, PASSWORD, message("Printer after renewals", "renewed"))
    wait_until(lambda: titles(api, auth, board_id) == ["Printer after renewals"], deadline=15)
    inbox = api.get(f"/inboxes/{inbox_id}", headers=auth).json()
    assert inbox["oauth2"]["status"] == "connected" and inbox["last_error"] is None
    assert grant.refresh_token and grant.refresh_token not in str(
        stored_grant(live_stack, inbox_id)
    )


def test_a_revoked_grant_is_said_once_and_a_reconnect_brings_the_inbox_back(
    live_stack: LiveStack,
    oauth_provider: FakeOAuthProvider,
    oauth_dovecot: Dovecot,
    oauth_smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(oauth_provider, "expires_in", 4)
    account = unique("desk")
    oauth_provider.add_account(account)
    api, auth = live_stack.signed_in_manager()
    inbox_id, _, _ = connect(
        api,
        auth,
        {
            "provider": "google",
            "name": "Desk",
            "email_address": account,
            **servers(oauth_dovecot, oauth_smtp_server),
        },
    )
    board_id = board_for(api, auth, inbox_id)
    wait_until(lambda: api.get(f"/inboxes/{inbox_id}", headers=auth).json()["last_polled_at"])
    oauth_provider.revoke(account)  # the user removed the app's access, under IDLE

    def said() -> dict[str, Any] | None:
        inbox = api.get(f"/inboxes/{inbox_id}", headers=auth).json()
        return inbox if inbox["oauth2"]["status"] == "reconnect_needed" else None

    inbox = wait_until(said, deadline=30, what="reconnect_needed")
    assert "reconnect" in inbox["oauth2"]["last_error"]
    refreshes_when_dead = oauth_provider.refreshes
    [alert] = live_stack.smtp.mailbox.wait_for("boss@example.com")
    assert "Desk" in str(alert["Subject"])
    plain = alert.get_body(("plain",))
    assert plain is not None
    assert f"http://tracker.example.com/inboxes/{inbox_id}" in plain.get_content()
    grants_before = len(oauth_provider.grants(account))
    # Retrying stopped (the poller no longer claims it: tests/workers/test_oauth_tokens.py).
    assert oauth_provider.refreshes == refreshes_when_dead

    # Reconnecting works whatever the token's state, and brings the mail in again.
    started = api.post(f"/inboxes/{inbox_id}/oauth2/authorize", headers=auth, json={})
    assert started.status_code == 200, started.text
    path, outcome = sign_in(api, started.json()["authorization_url"])
    assert (path, outcome) == (f"/inboxes/{inbox_id}", {"oauth2": ["connected"]})
    assert len(oauth_provider.grants(account)) == grants_before + 1
    oauth_dovecot.append(account, PASSWORD, message("Printer is back", "back"))
    wait_until(lambda: titles(api, auth, board_id) == ["Printer is back"], deadline=20)
    assert api.get(f"/inboxes/{inbox_id}", headers=auth).json()["oauth2"]["status"] == "connected"
    # The manager was told once.
    assert len(live_stack.smtp.mailbox.to("boss@example.com")) == 1


def test_consent_missing_sends_the_browser_back_with_the_admin_consent_link(
    live_stack: LiveStack,
    oauth_provider: FakeOAuthProvider,
    oauth_dovecot: Dovecot,
    oauth_smtp_server: SmtpServer,
) -> None:
    account = unique("consent")
    oauth_provider.add_account(account)
    oauth_provider.require_consent(account)
    api, auth = live_stack.signed_in_manager()
    started = begin(
        api,
        auth,
        {"provider": "microsoft", "name": "Consent", "email_address": account},
        oauth_dovecot,
        oauth_smtp_server,
    )
    path, outcome = sign_in(api, started.json()["authorization_url"])
    assert path == "/inboxes" and outcome["oauth2"] == ["failed"]
    assert outcome["reason"] == ["consent_required"]
    consent_url = (
        f"{oauth_provider.url}/microsoft/organizations/v2.0/adminconsent?client_id="
        f"{oauth_provider.client_id}&scope=https%3A%2F%2Foutlook.office.com%2FIMAP.AccessAsUser.All"
        "+https%3A%2F%2Foutlook.office.com%2FSMTP.Send&redirect_uri="
        "http%3A%2F%2Ftracker.example.com%2Fapi%2Fv1%2Finboxes%2Foauth2%2Fcallback"
    )
    assert consent_url in outcome["detail"][0]
    # The administrator follows it and grants consent; Microsoft sends them back here.
    granted = api.get("/inboxes/oauth2/callback?admin_consent=True&tenant=abc")
    assert outcome_of(granted) == ("/inboxes", {"oauth2": ["consent_granted"]})
    assert api.get("/inboxes", headers=auth).json()["items"] == []


def test_a_mailbox_that_refuses_the_token_is_not_saved_and_a_state_serves_once(
    live_stack: LiveStack,
    oauth_provider: FakeOAuthProvider,
    oauth_dovecot: Dovecot,
    oauth_smtp_server: SmtpServer,
) -> None:
    account = unique("someone")
    oauth_provider.add_account(account)
    api, auth = live_stack.signed_in_manager()
    started = begin(
        api,
        auth,
        # Not the mailbox the signed-in account's token opens.
        {"provider": "google", "name": "Wrong", "email_address": unique("other")},
        oauth_dovecot,
        oauth_smtp_server,
    )
    callback = at_provider(started.json()["authorization_url"])
    _, outcome = outcome_of(api.get(callback, follow_redirects=False))
    assert (outcome["oauth2"], outcome["reason"]) == (["failed"], ["imap_failed"])
    assert "refused the sign-in token" in outcome["detail"][0]
    assert api.get("/inboxes", headers=auth).json()["items"] == []
    # The same state again (a reload, or someone replaying it): refused.
    _, again = outcome_of(api.get(callback, follow_redirects=False))
    assert again["reason"] == ["expired"]


def test_a_sign_in_finished_in_another_browser_is_refused(
    live_stack: LiveStack,
    oauth_provider: FakeOAuthProvider,
    oauth_dovecot: Dovecot,
    oauth_smtp_server: SmtpServer,
) -> None:
    """A manager who sends the sign-in link to a colleague does not get the colleague's
    mailbox: the callback wants the cookie of the browser that started it."""
    colleague = unique("colleague")
    oauth_provider.add_account(colleague)
    api, auth = live_stack.signed_in_manager()
    started = begin(
        api,
        auth,
        {"provider": "google", "name": "Phish", "email_address": colleague},
        oauth_dovecot,
        oauth_smtp_server,
    )
    assert "oauth2_" in started.headers["set-cookie"]
    assert "HttpOnly" in started.headers["set-cookie"]
    callback = at_provider(started.json()["authorization_url"])
    with live_stack.api() as elsewhere:  # the colleague's browser
        _, outcome = outcome_of(elsewhere.get(callback, follow_redirects=False))
    assert (outcome["oauth2"], outcome["reason"]) == (["failed"], ["wrong_browser"])
    assert api.get("/inboxes", headers=auth).json()["items"] == []


def test_smtp_auth_switched_off_in_the_tenant_is_said_and_reading_goes_on(
    live_stack: LiveStack,
    oauth_provider: FakeOAuthProvider,
    oauth_dovecot: Dovecot,
    oauth_smtp_server: SmtpServer,
) -> None:
    account = unique("tenant")
    oauth_provider.add_account(account)
    oauth_smtp_server.mailbox.refuse_auth_with.append(
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for"
        " the Tenant."
    )
    api, auth = live_stack.signed_in_manager()
    started = begin(
        api,
        auth,
        {"provider": "microsoft", "name": "Tenant", "email_address": account},
        oauth_dovecot,
        oauth_smtp_server,
    )
    path, outcome = sign_in(api, started.json()["authorization_url"])
    assert outcome["oauth2"] == ["connected"] and outcome["warning"] == ["smtp"]
    assert "5.7.139" in outcome["detail"][0]
    inbox_id = int(path.rsplit("/", 1)[1])
    inbox = api.get(f"/inboxes/{inbox_id}", headers=auth).json()
    assert inbox["oauth2"]["status"] == "smtp_disabled"
    assert "SMTP AUTH is switched off" in inbox["oauth2"]["last_error"]
    board_id = board_for(api, auth, inbox_id)
    oauth_dovecot.append(account, PASSWORD, message("Printer in the tenant", "tenant"))
    wait_until(lambda: titles(api, auth, board_id) == ["Printer in the tenant"], deadline=20)
