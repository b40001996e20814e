"""A manager's mailbox sign-in in a real browser: connected at the provider's page and
back, its sign-in revoked and said so, and brought back with the Reconnect button (the
browser's own cookie is what lets the sign-in finish)."""

from __future__ import annotations

import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.catalog import text
from tests.browser.pages import Boards, SignIn
from tests.browser.stack import PASSWORD, Stack
from tests.dovecot import Dovecot
from tests.fakes.oauth import FakeOAuthProvider
from tests.smtp import SmtpServer


def test_a_mailbox_signs_in_and_is_reconnected_with_the_button(
    stack: Stack,
    open_browser,
    oauth_provider: FakeOAuthProvider,
    oauth_dovecot: Dovecot,
    oauth_smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(oauth_provider, "expires_in", 6)
    email = stack.manager()
    account = f"desk-{uuid.uuid4().hex[:8]}@example.com"
    oauth_provider.add_account(account)
    context, _ = open_browser()
    page = context.new_page()
    SignIn(page).open(stack.base_url).sign_in(email, PASSWORD)
    Boards(page).wait()

    # Started from this browser (its cookie jar) on the local mail servers, which the
    # form cannot name; then the provider's page, and back.
    login = context.request.post(
        f"{stack.base_url}/api/v1/auth/login", data={"email": email, "password": PASSWORD}
    )
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    started = context.request.post(
        f"{stack.base_url}/api/v1/inboxes/oauth2/authorize",
        headers=bearer,
        data={
            "provider": "google",
            "name": "Desk",
            "email_address": account,
            "imap_host": oauth_dovecot.host,
            "imap_port": oauth_dovecot.port,
            "imap_security": "none",
            "smtp_host": oauth_smtp_server.host,
            "smtp_port": oauth_smtp_server.port,
            "smtp_security": "none",
        },
    )
    assert started.ok, started.text()
    page.goto(started.json()["authorization_url"])
    expect(page.get_by_text(text("en", "inboxes:outcome.connected"))).to_be_visible()
    expect(page.get_by_role("heading", name="Desk")).to_be_visible()
    expect(page.get_by_text(text("en", "inboxes:health.connected"))).to_be_visible()

    # Once the worker reads the mailbox, the person removes the app's access; at the
    # token's next renewal (tokens live 6 s here) the worker learns it, and the page
    # says so.
    inbox_api = f"{stack.base_url}/api/v1{page.url.removeprefix(stack.base_url).split('?')[0]}"
    deadline = time.monotonic() + 30
    while not context.request.get(inbox_api, headers=bearer).json()["last_polled_at"]:
        assert time.monotonic() < deadline, "the mailbox was never read"
        page.wait_for_timeout(200)
    oauth_provider.revoke(account)
    dead = page.get_by_text(text("en", "inboxes:health.reconnect_needed"))
    deadline = time.monotonic() + 30
    heading = page.get_by_role("heading", name="Desk")
    while not dead.is_visible():
        assert time.monotonic() < deadline, "the revoked sign-in was never said"
        page.wait_for_timeout(500)
        page.reload()
        expect(heading).to_be_visible()  # the page has loaded again

    # The Reconnect button: the provider's page, and back signed in again.
    reconnect = text("en", "inboxes:detail.reconnect", provider="Google")
    page.get_by_role("button", name=reconnect).click()
    expect(page.get_by_text(text("en", "inboxes:outcome.connected"))).to_be_visible()
    expect(page.get_by_text(text("en", "inboxes:health.connected"))).to_be_visible()
    assert len(oauth_provider.grants(account)) == 2
