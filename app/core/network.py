"""Saying what went wrong when a server (IMAP, SMTP) cannot be reached."""

from __future__ import annotations

import asyncio
import socket
import ssl


def describe_connection_error(exc: BaseException, host: str, port: int, security: str) -> str:
    """A sentence about a failed connection that says what to check."""
    if isinstance(exc, socket.gaierror):
        return f"The host name {host} cannot be resolved. Check the server name."
    if isinstance(exc, ConnectionRefusedError):
        return f"{host}:{port} refused the connection. Check the port and that the server runs."
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"The TLS certificate of {host} is not trusted: {exc.verify_message}."
    if isinstance(exc, ssl.SSLError):
        return (
            f"The TLS handshake with {host}:{port} failed ({exc.reason or exc}). Check the "
            f"security setting ({security}): port 993 usually means SSL, 143 STARTTLS."
        )
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return f"{host}:{port} did not answer in time. Check the host, the port and firewalls."
    if isinstance(exc, OSError):
        return f"Could not reach {host}:{port}: {exc.strerror or exc}."
    return f"Could not talk to {host}:{port}: {type(exc).__name__}: {exc}"
