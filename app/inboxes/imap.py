"""A mailbox over IMAP with aioimaplib: connect, select, find UIDs, fetch, flag, IDLE.

Errors come out as ImapError with a sentence a person can act on ("the server
refused the username or password") and whether a later retry can help.
"""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aioimaplib import aioimaplib

from app.core.network import describe_connection_error
from app.core.outbound import BlockedTarget, connect_socket

CONNECT_TIMEOUT_SECONDS = 20.0
COMMAND_TIMEOUT_SECONDS = 60.0
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_UIDNEXT = re.compile(rb"UIDNEXT (\d+)")
_RFC822_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_FETCH_UID = re.compile(rb"UID (\d+)")
T = TypeVar("T")


def _uid_set(uids: Sequence[int]) -> str:
    return ",".join(str(u) for u in uids)


def _literals_by_uid(lines: Sequence[bytes | bytearray]) -> dict[int, bytes | bytearray]:
    """The message literals of a multi-message FETCH answer, by UID. The UID item is
    in the line that opens the literal, or (some servers) in the one that closes it."""
    found: dict[int, bytes | bytearray] = {}
    for index, line in enumerate(lines):
        if not isinstance(line, bytearray) or index == 0:
            continue
        uid = _FETCH_UID.search(bytes(lines[index - 1]))
        if uid is None and index + 1 < len(lines) and not isinstance(lines[index + 1], bytearray):
            uid = _FETCH_UID.search(bytes(lines[index + 1]))
        if uid is not None:
            found[int(uid.group(1))] = line
    return found


# Messages fetched in one command. aioimaplib's reading of a FETCH answer costs the
# square of its messages (for each line it receives it scans every line before it):
# 0.08 ms of CPU a message at 100 a command, 0.027 ms at 25 (docs/performance.md).
FETCH_PER_COMMAND = 25


class ImapError(Exception):
    """`retryable`: trying again later can help. `token_refused`: the server turned
    down an OAuth2 access token (a fresh one may pass). `bye`: the server ended the
    conversation itself, saying so (BYE), rather than the connection breaking."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        token_refused: bool = False,
        bye: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.token_refused = token_refused
        self.bye = bye


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: str  # ssl | starttls | none
    username: str | None
    password: str | None
    folder: str = "INBOX"
    # Set for an oauth2 inbox: SASL XOAUTH2 with `username` (the mailbox, which for a
    # Microsoft shared mailbox is not the account that signed in) instead of LOGIN.
    access_token: str | None = field(default=None, repr=False)
    # False for hosts a manager typed (unless ALLOW_PRIVATE_NETWORK_TARGETS): loopback,
    # private and metadata addresses are refused after DNS (core/outbound.py).
    allow_private: bool = True

    def __repr__(self) -> str:  # never print the password
        return f"ImapSettings({self.host}:{self.port}, {self.security}, user={self.username!r})"


def _text(response: aioimaplib.Response) -> str:
    parts = [bytes(line).decode("utf-8", "replace") for line in response.lines if len(line) < 500]
    return " ".join(" ".join(parts).split())[:300]


def _capabilities(response: aioimaplib.Response) -> set[str]:
    found: set[str] = set()
    for line in response.lines:
        text = bytes(line).decode("ascii", "replace")
        if "CAPABILITY" in text:
            found |= set(text.split("CAPABILITY", 1)[1].strip(" []").split())
    return found


class _Protocol(aioimaplib.IMAP4ClientProtocol):
    """aioimaplib's protocol, answering the error challenge of a failed SASL exchange:
    a server that refuses an XOAUTH2 token sends `+ <base64 JSON>` and waits for an
    empty line before its NO. aioimaplib never sends one, so a bad token would hang
    until the command's timeout."""

    said_bye = False

    def _handle_line(self, line: bytes, current_cmd: aioimaplib.Command) -> Any:
        if line.startswith(b"* BYE"):
            self.said_bye = True  # the server ends the session (and says why)
        return super()._handle_line(line, current_cmd)

    def _continuation(self, line: bytes) -> None:
        command = self.pending_sync_command
        if command is not None and command.name == "AUTHENTICATE" and self.transport:
            self.transport.write(b"\r\n")
            return
        super()._continuation(line)


class _ConnectedIMAP4(aioimaplib.IMAP4):
    """aioimaplib's client over a socket already connected to a checked address, so
    the name is never resolved again after the check; TLS still verifies the name."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        host: str,
        timeout: float,
        ssl_context: ssl.SSLContext | None,
        conn_lost_cb: Callable[[Exception | None], None],
    ) -> None:
        self._sock = sock
        super().__init__(
            host=host, port=0, timeout=timeout, ssl_context=ssl_context, conn_lost_cb=conn_lost_cb
        )

    def create_client(
        self,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: Callable[[Exception | None], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        local_loop = loop if loop is not None else asyncio.get_running_loop()
        self.protocol = _Protocol(local_loop, conn_lost_cb)
        self._client_task = local_loop.create_task(
            local_loop.create_connection(
                lambda: self.protocol,
                sock=self._sock,
                ssl=ssl_context,
                server_hostname=host if ssl_context is not None else None,
            )
        )


class ImapMailbox:
    """One authenticated connection with a folder selected."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.client: aioimaplib.IMAP4 | None = None
        self.uid_validity: int | None = None
        self.uid_next: int | None = None
        # Resolved when the connection is lost: aioimaplib itself leaves a command whose
        # answer was cut off waiting for its timeout (a minute; IDLE for ever).
        self._lost: asyncio.Future[None] | None = None

    async def __aenter__(self) -> ImapMailbox:
        await self.open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def has_idle(self) -> bool:
        return self.client is not None and "IDLE" in self.client.protocol.capabilities

    async def open(self) -> None:
        s = self.settings
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                sock = await connect_socket(s.host, s.port, allow_private=s.allow_private)
            self._lost = asyncio.get_running_loop().create_future()
            self.client = _ConnectedIMAP4(
                sock,
                host=s.host,
                timeout=COMMAND_TIMEOUT_SECONDS,
                ssl_context=ssl.create_default_context() if s.security == "ssl" else None,
                conn_lost_cb=self._connection_lost,
            )
            await asyncio.wait_for(self.client.wait_hello_from_server(), CONNECT_TIMEOUT_SECONDS)
            if s.security == "starttls":
                await self._starttls()
        except ImapError:
            raise
        except BlockedTarget as exc:
            await self.close()
            raise ImapError(str(exc), retryable=False) from None
        except Exception as exc:
            await self.close()
            raise ImapError(describe_connection_error(exc, s.host, s.port, s.security)) from None
        if s.access_token is not None:
            await self._xoauth2(s.username or "", s.access_token)
        elif s.username:
            response = await self._run(self.client.login(s.username, s.password or ""))
            if response.result != "OK":
                await self.close()
                raise ImapError(
                    "The server refused the username or password"
                    f" ({_text(response) or response.result}).",
                    retryable=False,
                )
        response = await self._run(self.client.select(s.folder))
        if response.result != "OK":
            await self.close()
            raise ImapError(
                f"The folder {s.folder!r} cannot be opened ({_text(response)}).", retryable=False
            )
        for line in response.lines:
            if match := _UIDVALIDITY.search(bytes(line)):
                self.uid_validity = int(match.group(1))
            if match := _UIDNEXT.search(bytes(line)):
                self.uid_next = int(match.group(1))

    async def _xoauth2(self, user: str, token: str) -> None:
        """SASL XOAUTH2 with the initial response; the token never reaches a log."""
        assert self.client is not None
        protocol = self.client.protocol
        sasl = base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()
        command = aioimaplib.Command(
            "AUTHENTICATE", protocol.new_tag(), "XOAUTH2", sasl, loop=protocol.loop
        )
        response = await self._run(protocol.execute(command, scrub=sasl))
        if response.result != "OK":
            await self.close()
            reason = _text(response) or response.result
            raise ImapError(
                f"The server refused the sign-in token for {user} ({reason}).",
                # [UNAVAILABLE]: the server could not check it just now.
                retryable="UNAVAILABLE" in reason.upper(),
                token_refused="UNAVAILABLE" not in reason.upper(),
            )
        protocol.state = aioimaplib.AUTH
        protocol.capabilities |= _capabilities(response)

    async def _starttls(self) -> None:
        assert self.client is not None
        protocol = self.client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise ImapError(
                f"{self.settings.host} does not offer STARTTLS. Choose SSL (usually port 993) "
                "or, on a trusted network only, no encryption.",
                retryable=False,
            )
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        response = await asyncio.wait_for(protocol.execute(command), COMMAND_TIMEOUT_SECONDS)
        if response.result != "OK":
            raise ImapError(f"STARTTLS was refused ({_text(response)}).", retryable=False)
        loop = asyncio.get_running_loop()
        protocol.transport = await loop.start_tls(
            protocol.transport,
            protocol,
            ssl.create_default_context(),
            server_hostname=self.settings.host,
        )
        await asyncio.wait_for(protocol.capability(), COMMAND_TIMEOUT_SECONDS)

    def _connection_lost(self, _exc: Exception | None) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    @property
    def _said_bye(self) -> bool:
        return self.client is not None and getattr(self.client.protocol, "said_bye", False)

    @property
    def lost(self) -> bool:
        """The server closed the connection (or it broke)."""
        return self._lost is not None and self._lost.done()

    async def _unless_lost(self, awaitable: Awaitable[T]) -> T:
        """`awaitable`'s outcome, or ImapError as soon as the connection is lost."""
        assert self._lost is not None
        task = asyncio.ensure_future(awaitable)
        try:
            # An answer that arrived whole before the connection closed still counts.
            await asyncio.wait((task, self._lost), return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                return task.result()
        finally:
            task.cancel()
        if self._said_bye:
            raise ImapError("The server ended the IMAP session (BYE).", bye=True)
        raise ImapError("The IMAP conversation broke off: the server closed the connection.")

    async def _run(self, awaitable: Awaitable[aioimaplib.Response]) -> aioimaplib.Response:
        try:
            return await self._unless_lost(asyncio.wait_for(awaitable, COMMAND_TIMEOUT_SECONDS))
        except (aioimaplib.Abort, aioimaplib.CommandTimeout, TimeoutError, OSError) as exc:
            raise ImapError(
                f"The IMAP conversation broke off: {type(exc).__name__} {exc}"
            ) from None

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            # After a loss LOGOUT would only wait for the commands that never finish.
            if client.protocol.state in ("AUTH", "SELECTED") and not self.lost:
                await asyncio.wait_for(client.logout(), 5)
        except Exception:  # noqa: S110 - the connection is going away anyway
            pass
        # aioimaplib's own helper tasks (IDLE's) would wait for ever on a lost connection.
        for task in (*client.tasks, *client.protocol.tasks):
            task.cancel()
        transport = client.protocol.transport
        if transport is not None:
            transport.close()

    async def _search(self, *criteria: str) -> list[int]:
        assert self.client is not None
        # A NOOP first: servers bring a session's view up to date between commands, so
        # without it a message delivered a moment ago may not be searched yet.
        await self._run(self.client.noop())
        response = await self._run(self.client.uid_search(*criteria, charset=None))
        if response.result != "OK":
            raise ImapError(f"UID SEARCH failed ({_text(response)}).")
        uids: list[int] = []
        for line in response.lines:
            # aioimaplib strips the "SEARCH" keyword: the data line is the numbers alone.
            words = bytes(line).decode("ascii", "replace").split()
            if words and words[0].upper() == "SEARCH":
                words = words[1:]
            if all(w.isdigit() for w in words):
                uids += [int(w) for w in words]
        return sorted(uids)

    async def unseen_uids(self) -> list[int]:
        return await self._search("UNSEEN")

    async def uids_after(self, last_uid: int) -> list[int]:
        # "n:*" always names the newest message, even when its UID is below n.
        return [u for u in await self._search("UID", f"{last_uid + 1}:*") if u > last_uid]

    async def fetch(self, uid: int) -> bytes | bytearray | None:
        """The whole message, without setting \\Seen (BODY.PEEK); None if it is gone.

        The literal is returned as aioimaplib read it (a bytearray, which every reader
        of the message takes like bytes): a copy would double a 25 MB message."""
        return (await self.fetch_many([uid])).get(uid)

    async def sizes(self, uids: Sequence[int]) -> dict[int, int]:
        """Each message's size (RFC822.SIZE) in one command; a message gone is missing."""
        assert self.client is not None
        if not uids:
            return {}
        response = await self._run(self.client.uid("fetch", _uid_set(uids), "(UID RFC822.SIZE)"))
        if response.result != "OK":
            raise ImapError(f"UID FETCH of {len(uids)} sizes failed ({_text(response)}).")
        found: dict[int, int] = {}
        for line in response.lines:
            if isinstance(line, bytearray):
                continue
            uid, size = _FETCH_UID.search(bytes(line)), _RFC822_SIZE.search(bytes(line))
            if uid and size:
                found[int(uid.group(1))] = int(size.group(1))
        return found

    async def fetch_many(self, uids: Sequence[int]) -> dict[int, bytes | bytearray]:
        """Whole messages, without setting \\Seen (BODY.PEEK), by UID, FETCH_PER_COMMAND
        to a command; a message gone is missing. The caller keeps the batch small
        enough to hold."""
        assert self.client is not None
        found: dict[int, bytes | bytearray] = {}
        for start in range(0, len(uids), FETCH_PER_COMMAND):
            chunk = uids[start : start + FETCH_PER_COMMAND]
            response = await self._run(
                self.client.uid("fetch", _uid_set(chunk), "(UID BODY.PEEK[])")
            )
            if response.result != "OK":
                raise ImapError(f"UID FETCH of {len(chunk)} messages failed ({_text(response)}).")
            found.update(_literals_by_uid(response.lines))
        return found

    async def fetch_header(self, uid: int) -> bytes | None:
        """Only the header block, without setting \\Seen: for a message too large to read."""
        assert self.client is not None
        response = await self._run(self.client.uid("fetch", str(uid), "(UID BODY.PEEK[HEADER])"))
        if response.result != "OK":
            raise ImapError(f"UID FETCH {uid} failed ({_text(response)}).")
        for line in response.lines[:-1]:
            if isinstance(line, bytearray):
                return bytes(line)
        return None

    async def mark_seen(self, uid: int) -> None:
        await self.mark_seen_many([uid])

    async def mark_seen_many(self, uids: Sequence[int]) -> None:
        assert self.client is not None
        if not uids:
            return
        response = await self._run(
            self.client.uid("store", _uid_set(uids), "+FLAGS.SILENT (\\Seen)")
        )
        if response.result != "OK":
            raise ImapError(f"Could not flag {len(uids)} messages as seen ({_text(response)}).")

    async def idle(self, seconds: float) -> bool:
        """Wait up to `seconds` for the server to announce new mail; True if it did."""
        assert self.client is not None
        client = self.client
        try:
            idle = await self._unless_lost(client.idle_start(timeout=seconds + 30))
            pushed = await self._unless_lost(client.wait_server_push(timeout=seconds))
            new_mail = any(
                b"EXISTS" in bytes(line) or b"RECENT" in bytes(line)
                for line in (pushed if isinstance(pushed, list) else [pushed])
            )
        except TimeoutError:
            new_mail = False
        except (aioimaplib.Abort, OSError) as exc:
            raise ImapError(
                f"IDLE broke off: {type(exc).__name__} {exc}", bye=self._said_bye
            ) from None
        finally:
            if client.has_pending_idle() and not self.lost:
                client.idle_done()
        try:
            await self._unless_lost(asyncio.wait_for(idle, COMMAND_TIMEOUT_SECONDS))
        except ImapError:
            raise
        except Exception as exc:
            raise ImapError(f"Leaving IDLE failed: {type(exc).__name__}") from None
        return new_mail
