"""Sending one message over SMTP with aiosmtplib, with errors that say whether to retry."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
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
    # False for an inbox's server (a manager typed it, unless
    # ALLOW_PRIVATE_NETWORK_TARGETS); the operator's SMTP_HOST may be a local relay.
    allow_private: bool = True

    def __repr__(self) -> str:  # never print the password
        return f"SmtpServer({self.host}:{self.port}, {self.security}, user={self.username!r})"


class SmtpError(Exception):
    """A send failed. `retryable` tells whether trying again later can help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


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


async def send_message(server: SmtpServer, message: EmailMessage) -> None:
    sock = await _connect(server)
    client = aiosmtplib.SMTP(
        hostname=server.host,
        sock=sock,
        username=server.username,
        password=server.password,
        use_tls=server.security == "ssl",
        start_tls=True if server.security == "starttls" else False,
        timeout=SMTP_TIMEOUT_SECONDS,
    )
    try:
        try:
            await client.connect()
            await client.send_message(message)
        except BaseException:
            # Drop the connection at once, on a shutdown too: a polite QUIT could wait
            # the whole timeout on a server that stopped answering, and hold it up.
            client.close()
            raise
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        raise SmtpError(
            f"the server refused the recipient ({', '.join(map(str, codes))})",
            retryable=all(400 <= c < 500 for c in codes),
        ) from None
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise SmtpError(f"authentication failed ({exc.code})", retryable=False) from None
    except aiosmtplib.SMTPResponseException as exc:
        raise SmtpError(
            f"the server answered {exc.code}: {exc.message[:200]}", retryable=exc.code < 500
        ) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise SmtpError(f"{type(exc).__name__}: {exc}"[:300], retryable=True) from None
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()  # the message was accepted: a failed goodbye changes nothing


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
                await client.login(server.username, server.password or "")
            except aiosmtplib.SMTPAuthenticationError as exc:
                raise SmtpError(
                    f"The server refused the username or password ({exc.code}).",
                    retryable=False,
                ) from None
            except aiosmtplib.SMTPException as exc:
                raise SmtpError(f"Login failed: {exc}", retryable=False) from None
    finally:
        try:
            await client.quit()
        except aiosmtplib.SMTPException:
            client.close()
