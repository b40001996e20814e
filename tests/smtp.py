"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

# What Gmail and Microsoft 365 send (base64) before refusing an XOAUTH2 token.
XOAUTH2_ERROR = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}


@dataclass
class Mailbox:
    """What the server received, and over which client connections (`peers`, one
    entry per message); `refuse_with` makes it answer DATA with that reply.

    With `oauth` (user, access token) → valid?, AUTH XOAUTH2 is offered and required
    before MAIL; `authenticated_users` has the user each message was sent as, and
    `refuse_auth_with` makes the next AUTH answer with that reply (e.g. "535 5.7.139 …").
    """

    messages: list[EmailMessage] = field(default_factory=list)
    peers: list[object] = field(default_factory=list)
    refuse_with: list[str] = field(default_factory=list)
    oauth: Callable[[str, str], bool] | None = None
    authenticated_users: list[str] = field(default_factory=list)
    authentication_attempts: list[str] = field(default_factory=list)
    refuse_auth_with: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """AUTH XOAUTH2 [initial response]: base64 of `user=U^Aauth=Bearer T^A^A`."""
        if len(args) == 1:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(blob, bytes):  # "*" or bad base64: already answered
                return AuthResult(success=False, handled=True)
        else:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        fields = dict(
            part.split("=", 1)
            for part in blob.decode(errors="replace").split("\x01")
            if "=" in part
        )
        user, bearer = fields.get("user", ""), fields.get("auth", "")
        token = bearer[len("Bearer ") :] if bearer.startswith("Bearer ") else ""
        with self._lock:
            self.authentication_attempts.append(user)
            canned = self.refuse_auth_with.pop(0) if self.refuse_auth_with else None
        if canned is not None:
            return AuthResult(success=False, handled=False, message=canned)
        if user and token and self.oauth is not None and self.oauth(user, token):
            return AuthResult(success=True, auth_data=user)
        # Like Gmail/Outlook: an error challenge first, the final reply after the client's
        # (empty) answer.
        if not isinstance(await server.challenge_auth(json.dumps(XOAUTH2_ERROR)), bytes):
            return AuthResult(success=False, handled=True)  # "*": aiosmtpd said 501
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted."
        )

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            if self.refuse_with:
                return self.refuse_with.pop(0)
            raw = envelope.original_content or envelope.content
            assert isinstance(raw, bytes)
            message = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            self.messages.append(message)
            self.peers.append(session.peer)
            if self.oauth is not None:
                self.authenticated_users.append(str(session.auth_data))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, address: str, count: int = 1, deadline: float = 30.0) -> list[EmailMessage]:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} mail(s) to {address}, got {len(self.to(address))}")


class _AuthRequired(SMTP):
    """aiosmtpd's SMTP requiring AUTH over plain TCP (loopback), without the warning it
    gives on every connection when built with auth_required and not auth_require_tls."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs, auth_require_tls=False)
        self._auth_required = True


class _AuthRequiredController(Controller):
    def factory(self) -> SMTP:
        return _AuthRequired(self.handler, **self.SMTP_kwargs)


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox


@contextmanager
def running_smtp_server(
    port: int, *, oauth: Callable[[str, str], bool] | None = None
) -> Iterator[SmtpServer]:
    """The server on `port`; with `oauth`, only XOAUTH2 sign-in, required before MAIL."""
    mailbox = Mailbox(oauth=oauth)
    if oauth is None:
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    else:
        controller = _AuthRequiredController(
            mailbox, hostname="127.0.0.1", port=port, auth_exclude_mechanism=["PLAIN", "LOGIN"]
        )
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, mailbox)
    finally:
        controller.stop()
