"""The OAuth2 stand-ins behave like the real ones: the provider, Dovecot, the SMTP server."""

from __future__ import annotations

import asyncio
import imaplib
import json
import secrets
import threading
import time
import uuid
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
import pytest

from tests.dovecot import Dovecot
from tests.fakes.oauth import FakeOAuthProvider, pkce_challenge
from tests.smtp import SmtpServer

REDIRECT = "http://tracker.test/api/v1/oauth/callback"
GOOGLE_SCOPE = "https://mail.google.com/"
MICROSOFT_SCOPE = (
    "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send "
    "offline_access"
)
CLIENT = {"client_id": "sit-client", "client_secret": "sit-secret"}


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def authorize(
    provider: FakeOAuthProvider, verifier: str, *, microsoft: bool = False, **more: str
) -> httpx.Response:
    params = {
        "client_id": "sit-client",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "state": "st-1",
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
        "scope": MICROSOFT_SCOPE if microsoft else GOOGLE_SCOPE,
        **({} if microsoft else {"access_type": "offline", "prompt": "consent"}),
        **more,
    }
    url = provider.authorize_url("microsoft" if microsoft else "google", tenant="organizations")
    return httpx.get(url, params=params)


def redirected(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = httpx.URL(response.headers["location"])
    assert str(location.copy_with(query=None)) == REDIRECT
    return dict(location.params)


def tokens(provider: FakeOAuthProvider, email: str, *, microsoft: bool = False) -> dict[str, Any]:
    """Sign in as `email` (a new account) through the whole code + PKCE flow."""
    provider.add_account(email) if email not in provider.accounts else provider.sign_in_as(email)
    verifier = secrets.token_urlsafe(48)
    code = redirected(authorize(provider, verifier, microsoft=microsoft))["code"]
    answer = httpx.post(
        provider.token_url("microsoft" if microsoft else "google", tenant="organizations"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            **CLIENT,
        },
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def refresh(provider: FakeOAuthProvider, token: str, *, microsoft: bool = False) -> httpx.Response:
    return httpx.post(
        provider.token_url("microsoft" if microsoft else "google", tenant="organizations"),
        data={"grant_type": "refresh_token", "refresh_token": token, **CLIENT},
    )


# --- the provider ------------------------------------------------------------------------


def test_code_flow_with_pkce_then_rotating_refresh_with_reuse_detection(
    oauth_provider: FakeOAuthProvider,
) -> None:
    email = new_email()
    oauth_provider.add_account(email)
    verifier = secrets.token_urlsafe(48)
    back = redirected(authorize(oauth_provider, verifier))
    assert back["state"] == "st-1" and back["code"]
    assert oauth_provider.authorize_requests[-1]["code_challenge"] == pkce_challenge(verifier)

    exchange = {
        "grant_type": "authorization_code",
        "code": back["code"],
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    # HTTP Basic client authentication is accepted as well as the form fields.
    first = httpx.post(oauth_provider.token_url(), data=exchange, auth=("sit-client", "sit-secret"))
    assert first.status_code == 200, first.text
    issued = first.json()
    assert issued["token_type"] == "Bearer" and issued["expires_in"] == 3600
    assert issued["scope"] == GOOGLE_SCOPE
    assert oauth_provider.valid_mailbox(issued["access_token"]) == email
    again = httpx.post(oauth_provider.token_url(), data={**exchange, **CLIENT})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # single use

    refreshes = oauth_provider.refreshes
    rotated = refresh(oauth_provider, issued["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    renewed = rotated.json()
    assert renewed["refresh_token"] != issued["refresh_token"]
    assert renewed["access_token"] != issued["access_token"]
    assert oauth_provider.refreshes == refreshes + 1

    replayed = refresh(oauth_provider, issued["refresh_token"])  # rotated away: reuse
    assert replayed.status_code == 400
    assert replayed.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }
    # ... which revokes the whole grant: its newest refresh and access tokens too.
    assert refresh(oauth_provider, renewed["refresh_token"]).status_code == 400
    assert oauth_provider.valid_mailbox(renewed["access_token"]) is None
    assert [grant.revoked for grant in oauth_provider.grants(email)] == [True]


def test_pkce_redirect_and_client_are_checked(oauth_provider: FakeOAuthProvider) -> None:
    email = new_email()
    oauth_provider.add_account(email)
    verifier = secrets.token_urlsafe(48)

    code = redirected(authorize(oauth_provider, verifier))["code"]
    wrong_verifier = httpx.post(
        oauth_provider.token_url(),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": secrets.token_urlsafe(48),
            **CLIENT,
        },
    )
    assert wrong_verifier.status_code == 400
    assert wrong_verifier.json()["error"] == "invalid_grant"

    code = redirected(authorize(oauth_provider, verifier))["code"]
    wrong_redirect = httpx.post(
        oauth_provider.token_url(),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT + "/other",
            "code_verifier": verifier,
            **CLIENT,
        },
    )
    assert wrong_redirect.status_code == 400
    assert wrong_redirect.json()["error"] == "invalid_grant"

    wrong_secret = httpx.post(
        oauth_provider.token_url(),
        data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": "sit-client"},
    )
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    as_json = httpx.post(oauth_provider.token_url(), json={"grant_type": "refresh_token"})
    assert as_json.status_code == 400  # the token endpoint takes forms only

    assert authorize(oauth_provider, verifier, client_id="other").status_code == 400
    assert authorize(oauth_provider, verifier, redirect_uri="not a url").status_code == 400
    no_pkce = redirected(authorize(oauth_provider, verifier, code_challenge_method="plain"))
    assert no_pkce["error"] == "invalid_request" and "code" not in no_pkce
    no_state = authorize(oauth_provider, verifier, state="")
    assert redirected(no_state)["error"] == "invalid_request"

    oauth_provider.deny_next("access_denied", "The user denied access.")
    denied = redirected(authorize(oauth_provider, verifier))
    assert denied == {
        "error": "access_denied",
        "error_description": "The user denied access.",
        "state": "st-1",
    }
    assert "code" in redirected(authorize(oauth_provider, verifier))  # only the next one


def test_offline_access_is_needed_for_a_refresh_token(oauth_provider: FakeOAuthProvider) -> None:
    email = new_email()
    oauth_provider.add_account(email)
    verifier = secrets.token_urlsafe(48)
    code = redirected(authorize(oauth_provider, verifier, access_type="online"))["code"]
    answer = httpx.post(
        oauth_provider.token_url(),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            **CLIENT,
        },
    ).json()
    assert "access_token" in answer and "refresh_token" not in answer


def test_microsoft_consent_revocation_and_failures(
    oauth_provider: FakeOAuthProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = new_email()
    issued = tokens(oauth_provider, email, microsoft=True)
    assert issued["refresh_token"] and issued["ext_expires_in"] == 3600

    oauth_provider.require_consent(email)
    refused = refresh(oauth_provider, issued["refresh_token"], microsoft=True)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert refused.json()["error_description"].startswith("AADSTS65001:")
    verifier = secrets.token_urlsafe(48)
    back = redirected(authorize(oauth_provider, verifier, microsoft=True))
    assert back["error"] == "consent_required" and "AADSTS65001" in back["error_description"]
    admin = httpx.get(f"{oauth_provider.url}/microsoft/organizations/v2.0/adminconsent")
    assert admin.status_code == 200
    oauth_provider.require_consent(email, required=False)

    oauth_provider.fail_next("429", "500")
    busy = refresh(oauth_provider, issued["refresh_token"], microsoft=True)
    assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
    assert busy.json() == {"error": "temporarily_unavailable"}
    broken = refresh(oauth_provider, issued["refresh_token"], microsoft=True)
    assert broken.status_code == 500 and broken.json() == {"error": "server_error"}
    monkeypatch.setattr(oauth_provider, "delay_seconds", 1.0)
    oauth_provider.fail_next("timeout")
    with pytest.raises(httpx.ReadTimeout):  # the provider did rotate: the answer is lost
        httpx.post(
            oauth_provider.token_url("microsoft"),
            data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
            auth=("sit-client", "sit-secret"),
            timeout=0.3,
        )

    fresh = tokens(oauth_provider, email, microsoft=True)
    oauth_provider.revoke(email)
    revoked = refresh(oauth_provider, fresh["refresh_token"], microsoft=True)
    assert revoked.status_code == 400
    assert revoked.json()["error_description"].startswith("AADSTS50173:")
    assert oauth_provider.valid_mailbox(fresh["access_token"]) is None


def test_concurrent_refreshes_of_one_grant_are_counted(
    oauth_provider: FakeOAuthProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = new_email()
    issued = tokens(oauth_provider, email)
    monkeypatch.setattr(oauth_provider, "refresh_delay", 0.3)
    monkeypatch.setattr(oauth_provider, "max_concurrent_refreshes", 0)
    answers: list[httpx.Response] = []
    racers = [
        threading.Thread(
            target=lambda: answers.append(refresh(oauth_provider, issued["refresh_token"]))
        )
        for _ in range(2)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(10)
    assert oauth_provider.max_concurrent_refreshes == 2
    # The loser presented a token the winner had just rotated away: the grant is gone.
    assert sorted(answer.status_code for answer in answers) == [200, 400]
    assert oauth_provider.grants(email)[0].revoked


def test_expired_access_tokens_are_not_valid(oauth_provider: FakeOAuthProvider) -> None:
    issued = tokens(oauth_provider, new_email())
    assert oauth_provider.valid_mailbox(issued["access_token"]) is not None
    oauth_provider.expire_access_tokens()
    assert oauth_provider.valid_mailbox(issued["access_token"]) is None
    assert refresh(oauth_provider, issued["refresh_token"]).status_code == 200


# --- Dovecot -----------------------------------------------------------------------------


class XOAuth2:
    """imaplib's authobject for XOAUTH2: the token, then an empty answer to an error."""

    def __init__(self, user: str, token: str) -> None:
        self.user, self.token = user, token
        self.errors: list[dict[str, Any]] = []

    def __call__(self, challenge: bytes) -> bytes:
        if challenge:
            self.errors.append(json.loads(challenge))
            return b""
        return f"user={self.user}\x01auth=Bearer {self.token}\x01\x01".encode()


def imap_login(dovecot: Dovecot, user: str, token: str) -> tuple[imaplib.IMAP4, XOAuth2]:
    client = imaplib.IMAP4(dovecot.host, dovecot.port, timeout=10)
    mechanism = XOAuth2(user, token)
    try:
        client.authenticate("XOAUTH2", mechanism)
    except imaplib.IMAP4.error:
        client.shutdown()
        raise
    return client, mechanism


def refused_quickly(dovecot: Dovecot, user: str, token: str) -> tuple[str, XOAuth2]:
    start = time.monotonic()
    mechanism = XOAuth2(user, token)
    client = imaplib.IMAP4(dovecot.host, dovecot.port, timeout=10)
    try:
        with pytest.raises(imaplib.IMAP4.error) as refused:
            client.authenticate("XOAUTH2", mechanism)
    finally:
        client.shutdown()
    assert time.monotonic() - start < 2.0  # no auth penalty (4 s, 8 s, 15 s after failures)
    return str(refused.value), mechanism


def test_dovecot_takes_valid_tokens_and_refuses_others_quickly(
    oauth_provider: FakeOAuthProvider, oauth_dovecot: Dovecot
) -> None:
    email = new_email()
    issued = tokens(oauth_provider, email)
    for _ in range(3):  # failures do not slow down what follows
        message, mechanism = refused_quickly(oauth_dovecot, email, "not-a-token")
        assert "AUTHENTICATIONFAILED" in message
        assert mechanism.errors == [{"status": "401", "schemes": "bearer", "scope": "mail"}]

    start = time.monotonic()
    client, _ = imap_login(oauth_dovecot, email, issued["access_token"])
    try:
        assert client.select("INBOX")[0] == "OK"
    finally:
        client.logout()
    assert time.monotonic() - start < 2.0

    other = new_email()  # a valid token opens only its own mailbox
    assert (
        "AUTHENTICATIONFAILED" in refused_quickly(oauth_dovecot, other, issued["access_token"])[0]
    )
    # Passwords still work there, and only as passwords.
    login, password = oauth_dovecot.add_user()
    assert oauth_dovecot.append(login, password, b"Subject: hi\r\n\r\nhi\r\n") == 1
    assert "AUTHENTICATIONFAILED" in refused_quickly(oauth_dovecot, login, password)[0]

    oauth_provider.revoke(email)
    assert (
        "AUTHENTICATIONFAILED" in refused_quickly(oauth_dovecot, email, issued["access_token"])[0]
    )


def test_dovecot_shared_mailbox_and_provider_outage(
    oauth_provider: FakeOAuthProvider, oauth_dovecot: Dovecot
) -> None:
    delegate, shared = new_email(), new_email()
    oauth_provider.add_account(delegate, mailbox=shared)
    issued = tokens(oauth_provider, delegate, microsoft=True)
    client, _ = imap_login(oauth_dovecot, shared, issued["access_token"])
    client.logout()
    refused_quickly(oauth_dovecot, delegate, issued["access_token"])

    oauth_provider.fail_next("500")  # introspection fails: a temporary failure
    message, _ = refused_quickly(oauth_dovecot, shared, issued["access_token"])
    assert "UNAVAILABLE" in message


def test_dovecot_kick_ends_an_idle_session_with_bye(
    oauth_provider: FakeOAuthProvider, oauth_dovecot: Dovecot
) -> None:
    email = new_email()
    client, _ = imap_login(oauth_dovecot, email, tokens(oauth_provider, email)["access_token"])
    try:
        client.select("INBOX")
        client.send(client._new_tag() + b" IDLE\r\n")  # type: ignore[attr-defined]
        assert client.readline().startswith(b"+ ")
        assert oauth_dovecot.kick(email)
        assert client.readline() == b"* BYE Server shutting down.\r\n"  # 10 s socket timeout
        assert client.readline() == b""
    finally:
        client.shutdown()
    assert not oauth_dovecot.kick(email)


# --- SMTP --------------------------------------------------------------------------------


def mail(sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "jan@example.org", "Hi"
    message.set_content("Hello.")
    return message


async def send_as(server: SmtpServer, user: str, token: str) -> None:
    async def token_generator() -> str:
        return token

    async with asyncio.timeout(5):  # a refusal must not hang the client
        async with aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            username=user,
            oauth_token_generator=token_generator,
            start_tls=False,
        ) as smtp:
            await smtp.send_message(mail(user))


async def test_smtp_takes_valid_tokens_only(
    oauth_provider: FakeOAuthProvider, oauth_smtp_server: SmtpServer
) -> None:
    delegate, shared = new_email(), new_email()
    oauth_provider.add_account(delegate, mailbox=shared)
    issued = tokens(oauth_provider, delegate, microsoft=True)
    await send_as(oauth_smtp_server, shared, issued["access_token"])
    assert oauth_smtp_server.mailbox.authenticated_users == [shared]
    assert len(oauth_smtp_server.mailbox.to("jan@example.org")) == 1

    for user, token in ((shared, "not-a-token"), (delegate, issued["access_token"])):
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
            await send_as(oauth_smtp_server, user, token)
        assert refused.value.code == 535

    oauth_provider.expire_access_tokens()
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await send_as(oauth_smtp_server, shared, issued["access_token"])
    assert oauth_smtp_server.mailbox.authenticated_users == [shared]  # nothing else got through


async def test_smtp_canned_refusal_and_auth_required(
    oauth_provider: FakeOAuthProvider, oauth_smtp_server: SmtpServer
) -> None:
    email = new_email()
    issued = tokens(oauth_provider, email, microsoft=True)
    text = (
        "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."
    )
    oauth_smtp_server.mailbox.refuse_auth_with.append(f"535 {text}")
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
        await send_as(oauth_smtp_server, email, issued["access_token"])
    assert refused.value.code == 535 and refused.value.message == text

    async with asyncio.timeout(5):
        async with aiosmtplib.SMTP(
            hostname=oauth_smtp_server.host, port=oauth_smtp_server.port, start_tls=False
        ) as smtp:
            await smtp.ehlo()
            assert smtp.server_auth_methods == ["xoauth2"]
            with pytest.raises(aiosmtplib.SMTPSenderRefused) as unauthenticated:
                await smtp.sendmail(email, ["jan@example.org"], b"Subject: x\r\n\r\nx\r\n")
            assert unauthenticated.value.code == 530
    # and it still works with the right token
    await send_as(oauth_smtp_server, email, issued["access_token"])
    assert oauth_smtp_server.mailbox.authenticated_users == [email]
