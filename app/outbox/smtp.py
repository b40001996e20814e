"""Sending mail over SMTP with aiosmtplib, with errors that say whether to retry."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib

from app.core.network import describe_connection_error
from app.core.outbound import BlockedTarget, connect_socket

SMTP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str  # ssl | starttls | none
    username: str | None = None
    password: str | None = None
    # An oauth2 inbox's access token: SASL XOAUTH2 with `username` instead of a password.
    access_token: str | None = field(default=None, repr=False)
    # False for an inbox's server (a manager typed it, unless
    # ALLOW_PRIVATE_NETWORK_TARGETS); the operator's SMTP_HOST may be a local relay.
    allow_private: bool = True

    def __repr__(self) -> str:  # never print the password
        return f"SmtpServer({self.host}:{self.port}, {self.security}, user={self.username!r})"


class SmtpError(Exception):
    """A send failed. `retryable` tells whether trying again later can help;
    `reaching` that the server could not be reached or would not let us in;
    `auth_disabled` that the server refuses SMTP AUTH for the whole mailbox (Microsoft
    365's 5.7.139); `token_refused` that it refused an OAuth2 access token;
    `inbox_state` that the inbox has no usable sign-in."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        auth_disabled: bool = False,
        token_refused: bool = False,
        inbox_state: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.reaching = False
        self.auth_disabled = auth_disabled
        self.token_refused = token_refused
        # The inbox cannot sign in to send (its grant needs the manager).
        self.inbox_state = inbox_state

    @property
    def waits_for_the_inbox(self) -> bool:
        """Nothing the mail did: it waits for the inbox (or its tenant) to be fixed."""
        return self.auth_disabled or self.token_refused or self.inbox_state


AUTH_DISABLED = "5.7.139"


def _auth_error(exc: aiosmtplib.SMTPAuthenticationError, *, oauth: bool) -> SmtpError:
    """A refused login in words a manager can act on."""
    if AUTH_DISABLED in exc.message:
        return SmtpError(
            "The mail server does not allow signing in to send mail for this mailbox "
            f"(SMTP AUTH is switched off, {AUTH_DISABLED}): a Microsoft 365 administrator "
            "must allow authenticated SMTP for it (Exchange admin center, the mailbox's "
            "Email apps settings), then test the inbox again.",
            # The mail waits (with backoff) for the administrator, not lost.
            retryable=True,
            auth_disabled=True,
        )
    if oauth:
        # A revoked grant, or a token the server refuses early: a new one may pass.
        return SmtpError(
            f"The server refused the sign-in token ({exc.code} {exc.message[:200]}).",
            retryable=True,
            token_refused=True,
        )
    return SmtpError(f"The server refused the username or password ({exc.code}).", retryable=False)


def _smtp_error(exc: BaseException, *, oauth: bool = False) -> SmtpError:
    """What aiosmtplib or the socket raised, as an SmtpError."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        return SmtpError(
            f"the server refused the recipient ({', '.join(map(str, codes))})",
            retryable=all(400 <= c < 500 for c in codes),
        )
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return _auth_error(exc, oauth=oauth)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return SmtpError(
            f"the server answered {exc.code}: {exc.message[:200]}", retryable=exc.code < 500
        )
    return SmtpError(f"{type(exc).__name__}: {exc}"[:300], retryable=True)


async def _connect(server: SmtpServer) -> socket.socket:
    """A socket to a checked address of the server (core/outbound.py): aiosmtplib is
    handed the socket and the name, so it never resolves the name itself and TLS
    verifies the certificate against the name."""
    try:
        async with asyncio.timeout(SMTP_TIMEOUT_SECONDS):
            return await connect_socket(
                server.host, server.port, allow_private=server.allow_private
            )
    except BlockedTarget as exc:
        raise SmtpError(str(exc), retryable=False) from None
    except (OSError, TimeoutError) as exc:
        raise SmtpError(
            describe_connection_error(exc, server.host, server.port, server.security),
            retryable=True,
        ) from None


def _token_of(server: SmtpServer) -> Callable[[], Awaitable[str]] | None:
    """aiosmtplib's XOAUTH2 takes the token from an async callable."""
    token = server.access_token
    if token is None:
        return None

    async def current() -> str:
        return token

    return current


class SmtpConnection:
    """One conversation with a server for several messages in a row: the connection,
    EHLO, TLS and login are paid once, not per message. Opened at the first `send`;
    after any failure it is dropped and the next `send` opens a new one.

        async with SmtpConnection(server) as connection:
            await connection.send(first)
            await connection.send(second)
    """

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self._client: aiosmtplib.SMTP | None = None

    async def __aenter__(self) -> SmtpConnection:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def _open(self) -> aiosmtplib.SMTP:
        server = self.server
        sock = await _connect(server)
        client = aiosmtplib.SMTP(
            hostname=server.host,
            sock=sock,
            username=server.username,
            password=server.password if server.access_token is None else None,
            oauth_token_generator=_token_of(server),
            use_tls=server.security == "ssl",
            start_tls=True if server.security == "starttls" else False,
            timeout=SMTP_TIMEOUT_SECONDS,
        )
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        return client

    async def send(self, message: EmailMessage) -> None:
        """Send one message. SmtpError says whether a retry later can help, and
        `reaching` whether it failed before the server would take any message (the
        connection, TLS or the login): then the next message would fail the same way."""
        reaching = self._client is None or not self._client.is_connected
        try:
            if self._client is None or reaching:
                self._client = await self._open()
            reaching = False
            await self._client.send_message(message)
        except BaseException as exc:
            # Drop the connection at once, on a shutdown too: a polite QUIT could wait
            # the whole timeout on a server that stopped answering, and hold it up;
            # and a half-finished transaction is not reused.
            self.abort()
            if isinstance(exc, SmtpError):
                exc.reaching = reaching
                raise
            if isinstance(exc, (aiosmtplib.SMTPException, OSError, TimeoutError)):
                error = _smtp_error(exc, oauth=self.server.access_token is not None)
                error.reaching = reaching
                raise error from None
            raise

    def abort(self) -> None:
        """Drop the connection without a goodbye (a shutdown, a broken conversation)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def close(self) -> None:
        """QUIT, or just drop the connection if the goodbye fails: every message sent
        was accepted already, so a failed goodbye changes nothing."""
        client, self._client = self._client, None
        if client is None or not client.is_connected:
            return
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            client.close()


async def send_message(server: SmtpServer, message: EmailMessage) -> None:
    """One message on a connection of its own."""
    async with SmtpConnection(server) as connection:
        await connection.send(message)


async def check_server(server: SmtpServer) -> None:
    """Connect, EHLO (and STARTTLS or SSL) and log in when a username is set."""
    sock = await _connect(server)
    client = aiosmtplib.SMTP(
        hostname=server.host,
        sock=sock,
        use_tls=server.security == "ssl",
        start_tls=True if server.security == "starttls" else False,
        timeout=SMTP_TIMEOUT_SECONDS,
    )
    try:
        await client.connect()
    except aiosmtplib.SMTPConnectError as exc:
        cause = exc.__cause__ or exc
        raise SmtpError(
            describe_connection_error(cause, server.host, server.port, server.security),
            retryable=True,
        ) from None
    except (OSError, TimeoutError, aiosmtplib.SMTPException) as exc:
        raise SmtpError(
            describe_connection_error(exc, server.host, server.port, server.security),
            retryable=True,
        ) from None
    try:
        if server.username:
            try:
                if server.access_token is not None:
                    await client.auth_xoauth2(server.username, server.access_token)
                else:
                    await client.login(server.username, server.password or "")
            except aiosmtplib.SMTPAuthenticationError as exc:
                raise _auth_error(exc, oauth=server.access_token is not None) from None
            except aiosmtplib.SMTPException as exc:
                raise SmtpError(f"Login failed: {exc}", retryable=False) from None
    finally:
        try:
            await client.quit()
        except aiosmtplib.SMTPException:
            client.close()
