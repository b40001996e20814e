"""Loopback servers that fail on purpose, and a clock that skips the waits they cause.

`CuttingProxy` sits between the inbox poller and Dovecot and cuts connections in the
middle of an answer; `FaultySmtp` speaks just enough SMTP to refuse, or to drop or
stall a DATA. Both run on the test's event loop, on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import re
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import pytest

from app.core.clock import clock, utcnow

# What the client sends (patterns): a whole message fetched (peeking or not), a flag set.
FETCH_BODY = rb" FETCH \S+ \(UID BODY(?:\.PEEK)?\[\]\)"
STORE = rb" STORE "
_LITERAL = re.compile(rb"\{(\d+)\}\r\n")
# A tagged status, or a continuation ("+ idling"): the server has done the command.
_ANSWER = re.compile(rb"(?:^|\r\n)(?:[A-Za-z0-9]+ (?:OK|NO|BAD)\b|\+)[^\r\n]*\r\n")


class SkippingClock:
    """Real time plus whatever the test skipped, for `clock.now`: a retry scheduled a
    minute ahead becomes due at once, without sleeping and without freezing time."""

    def __init__(self) -> None:
        self.skipped = timedelta()

    def now(self) -> datetime:
        return utcnow() + self.skipped

    def skip_to(self, moment: datetime) -> None:
        self.skipped += max(moment - self.now(), timedelta()) + timedelta(seconds=1)


def skipping_clock(monkeypatch: pytest.MonkeyPatch) -> SkippingClock:
    """The application's clock made a SkippingClock for the rest of the test."""
    skipping = SkippingClock()
    monkeypatch.setattr(clock, "now", skipping.now)
    return skipping


CutWhen = Literal["unsent", "mid_answer", "unanswered", "answered"]


@dataclass(frozen=True)
class Cut:
    """Cut a connection at the `nth` command the client sends matching `command`:
    "unsent" before the command reaches the server; "mid_answer" half-way through the
    message literal of its answer (a FETCH); "unanswered" once the server has answered
    (it did the work, the client never hears so); "answered" right after the client
    got that answer (IDLE's "+ idling", say)."""

    command: bytes
    nth: int = 1
    when: CutWhen = "mid_answer"


@dataclass
class CuttingProxy:
    """A TCP proxy to `upstream`; each new connection takes the next cut of `plan`
    (none left: it only forwards)."""

    upstream: tuple[str, int]
    plan: list[Cut]
    cuts: list[Cut] = field(default_factory=list)  # the ones that happened
    port: int = 0
    _server: asyncio.Server | None = None
    _open: set[asyncio.StreamWriter] = field(default_factory=set)

    async def __aenter__(self) -> CuttingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        self.drop_all()
        await self._server.wait_closed()

    def drop_all(self) -> None:
        """Close every open connection now, as a server going away does."""
        for writer in list(self._open):
            writer.close()

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            server_in, server_out = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_out.close()
            return
        self._open |= {client_out, server_out}
        cut = self.plan.pop(0) if self.plan else None
        armed = asyncio.Event()
        tasks = [
            asyncio.create_task(self._commands(client_in, server_out, cut, armed)),
            asyncio.create_task(self._answers(server_in, client_out, cut, armed)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for writer in (client_out, server_out):
                writer.close()
                self._open.discard(writer)

    async def _commands(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        cut: Cut | None,
        armed: asyncio.Event,
    ) -> None:
        seen = 0
        with suppress(OSError):
            while line := await reader.readline():
                if cut is not None and re.search(cut.command, line):
                    seen += 1
                    if seen == cut.nth:
                        if cut.when == "unsent":
                            self.cuts.append(cut)
                            return  # _serve closes both sides
                        armed.set()  # before the server can answer
                writer.write(line)
                await writer.drain()

    async def _answers(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        cut: Cut | None,
        armed: asyncio.Event,
    ) -> None:
        answer = bytearray()
        with suppress(OSError):
            while data := await reader.read(65536):
                if not armed.is_set():
                    writer.write(data)
                    await writer.drain()
                    continue
                assert cut is not None
                forwarded = len(answer)
                answer += data
                at = _cut_point(cut, bytes(answer))
                writer.write(bytes(answer[forwarded : len(answer) if at is None else at]))
                await writer.drain()
                if at is not None:
                    self.cuts.append(cut)
                    return  # _serve closes both sides


def _cut_point(cut: Cut, answer: bytes) -> int | None:
    """How much of the answer the client gets before the cut; None: not there yet."""
    if cut.when in ("unanswered", "answered"):
        answered = _ANSWER.search(answer)
        if answered is None:
            return None
        return 0 if cut.when == "unanswered" else answered.end()
    literal = _LITERAL.search(answer)
    if literal is None:
        return None
    at = literal.end() + int(literal.group(1)) // 2
    return at if len(answer) >= at else None


SmtpFault = Literal["refuse", "cut", "drop", "stall"]


@dataclass
class FaultySmtp:
    """An SMTP server that fails as `fault` says: "refuse" answers 421 at the greeting;
    "cut" drops the connection in the middle of the message; "drop" reads the whole
    message and drops it before replying; "stall" reads it and never replies.
    `received` holds the messages read whole (which a real server might have kept),
    `connections` counts the clients that connected."""

    fault: SmtpFault
    port: int = 0
    received: list[bytes] = field(default_factory=list)
    connections: int = 0
    reached_data: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> FaultySmtp:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self.fault == "refuse":
                writer.write(b"421 4.3.2 service not available, closing channel\r\n")
                await writer.drain()
                return
            writer.write(b"220 faulty ESMTP\r\n")
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    await self._read_message(reader)
                    return
                writer.write(b"250 faulty\r\n" if verb in (b"EHLO", b"HELO") else b"250 OK\r\n")
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def _read_message(self, reader: asyncio.StreamReader) -> None:
        lines: list[bytes] = []
        while (line := await reader.readline()) not in (b".\r\n", b""):
            lines.append(line)
            if self.fault == "cut" and len(lines) == 5:
                return  # in the middle of the headers
        self.received.append(b"".join(lines))
        self.reached_data.set()
        if self.fault == "stall":
            await reader.read()  # the reply never comes; wait for the client to give up
